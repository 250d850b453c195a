// Package codec encodes the elements of data sets to bytes and back, for shuffles,
// caches and arguments shipped to executors.
//
// Each type's codec is resolved once, by reflection, and cached. Scalars, strings and
// []byte have dedicated codecs; structs, arrays, slices, pointers and maps are compiled
// to a list of field operations run on the value's memory; time.Time, proto.Message
// and encoding.BinaryMarshaler types use their own wire forms.
//
// Encodings are deterministic: equal values have equal bytes (struct fields in order,
// maps sorted by encoded entry, -0 as +0, every NaN as one NaN), because shuffle keys
// are grouped by comparing encoded bytes.
package codec

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// Codec encodes values of T. Encodings are deterministic: equal values have equal
// bytes (struct fields in order, maps with sorted keys, etc.), because shuffle keys
// are grouped by comparing encoded bytes. Codecs are safe for concurrent use.
type Codec[T any] interface {
	// Append appends a self-delimiting encoding of v to dst.
	Append(dst []byte, v T) []byte
	// Decode decodes a value from the front of src and returns the bytes after it.
	Decode(src []byte) (v T, rest []byte, err error)
}

var codecs sync.Map // reflect.Type → Codec[T]

// For returns the codec of T, or an *UnsupportedTypeError naming the part of T that
// cannot be encoded: chan, func, interface, unsafe.Pointer and complex types, and
// unexported struct fields not tagged `spindle:"-"`.
func For[T any]() (Codec[T], error) {
	t := reflect.TypeFor[T]()
	if c, ok := codecs.Load(t); ok {
		return c.(Codec[T]), nil
	}
	if err := Check(t); err != nil {
		return nil, err
	}
	c, _ := codecs.LoadOrStore(t, newCodec[T](t))
	return c.(Codec[T]), nil
}

// MustFor is For for tests and examples: it panics if T cannot be encoded.
func MustFor[T any]() Codec[T] {
	c, err := For[T]()
	if err != nil {
		panic(err)
	}
	return c
}

// Key returns the codec for shuffle keys of type K: Ordered's encoding for types whose
// underlying kind is an integer, float or string (so the bytes sort as the values do),
// For[K] otherwise.
func Key[K any]() (Codec[K], error) {
	t := reflect.TypeFor[K]()
	if specialOf(t) == notSpecial {
		if c := orderedFor[K](t.Kind()); c != nil {
			return c, nil
		}
	}
	return For[K]()
}

// Hash hashes encoded key bytes with xxhash64 and its fixed seed, so every process
// sends a key to the same partition.
func Hash(b []byte) uint64 { return xxhash.Sum64(b) }

func newCodec[T any](t reflect.Type) Codec[T] {
	if specialOf(t) == notSpecial {
		if c := scalarFor[T](t); c != nil {
			return c
		}
	} else if specialOf(t) == specialTime {
		return timeCodec[T]{}
	}
	n := nodeFor(t)
	if n.flat {
		return &opsCodec[T]{ops: n.ops, typ: t}
	}
	return nodeCodec[T]{n: n}
}

// opsCodec runs a flat type's ops on the value's own memory: v does not escape, so
// Append allocates nothing of its own.
type opsCodec[T any] struct {
	ops []op
	typ reflect.Type
}

func (c *opsCodec[T]) Append(dst []byte, v T) []byte {
	return encOps(c.ops, dst, unsafe.Pointer(&v))
}

func (c *opsCodec[T]) Decode(src []byte) (v T, rest []byte, err error) {
	rest, err = decOps(c.ops, src, unsafe.Pointer(&v))
	if err != nil {
		var zero T
		return zero, nil, decodeError(c.typ, err)
	}
	return v, rest, nil
}

// nodeCodec encodes types whose parts need their address (BinaryMarshalers stored by
// value); v escapes to the heap.
type nodeCodec[T any] struct{ n *node }

func (c nodeCodec[T]) Append(dst []byte, v T) []byte {
	return c.n.enc(dst, unsafe.Pointer(&v))
}

func (c nodeCodec[T]) Decode(src []byte) (v T, rest []byte, err error) {
	rest, err = c.n.dec(src, unsafe.Pointer(&v))
	if err != nil {
		var zero T
		return zero, nil, decodeError(c.n.typ, err)
	}
	return v, rest, nil
}

func decodeError(t reflect.Type, err error) error {
	return fmt.Errorf("codec: decode %v: %w", t, err)
}
