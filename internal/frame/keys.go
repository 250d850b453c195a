package frame

import (
	"encoding/binary"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cespare/xxhash/v2"
)

// keyCol appends the encoding of row i of one column to dst. Encodings are
// order-preserving (bytes compare as the values do, nulls first) and
// self-delimiting, so that the concatenated encodings of several columns group,
// hash and sort rows by those columns. A dictionary column encodes as its values,
// so that it hashes like the same column read without one.
type keyCol func(dst []byte, i int) []byte

// keyEncoder returns the key encoding of a's rows; desc inverts it, which orders
// descending with nulls last.
func keyEncoder(a arrow.Array, desc bool) keyCol {
	enc := valueEncoder(a)
	if !desc {
		return enc
	}
	return func(dst []byte, i int) []byte {
		n := len(dst)
		dst = enc(dst, i)
		for j := n; j < len(dst); j++ {
			dst[j] = ^dst[j]
		}
		return dst
	}
}

func valueEncoder(a arrow.Array) keyCol {
	nulls := a.NullN() > 0
	wrap := func(f func(dst []byte, i int) []byte) keyCol {
		if !nulls {
			return func(dst []byte, i int) []byte { return f(append(dst, 1), i) }
		}
		return func(dst []byte, i int) []byte {
			if a.IsNull(i) {
				return append(dst, 0)
			}
			return f(append(dst, 1), i)
		}
	}
	switch a := a.(type) {
	case *array.Dictionary:
		dict := a.Dictionary()
		denc := valueEncoder(dict)
		encs := make([][]byte, dict.Len())
		for j := range encs {
			encs[j] = denc(nil, j)
		}
		idx := a.Indices()
		get := indexGetter(idx)
		return func(dst []byte, i int) []byte {
			if idx.IsNull(i) {
				return append(dst, 0)
			}
			return append(dst, encs[get(i)]...)
		}
	case *array.Int32:
		v := a.Int32Values()
		return wrap(func(dst []byte, i int) []byte { return appendInt(dst, int64(v[i])) })
	case *array.Int64:
		v := a.Int64Values()
		return wrap(func(dst []byte, i int) []byte { return appendInt(dst, v[i]) })
	case *array.Date32:
		v := a.Date32Values()
		return wrap(func(dst []byte, i int) []byte { return appendInt(dst, int64(v[i])) })
	case *array.Timestamp:
		v := a.TimestampValues()
		return wrap(func(dst []byte, i int) []byte { return appendInt(dst, int64(v[i])) })
	case *array.Float64:
		v := a.Float64Values()
		return wrap(func(dst []byte, i int) []byte { return appendFloat(dst, v[i]) })
	case *array.Boolean:
		return wrap(func(dst []byte, i int) []byte {
			if a.Value(i) {
				return append(dst, 1)
			}
			return append(dst, 0)
		})
	case *array.String:
		return wrap(func(dst []byte, i int) []byte { return appendString(dst, a.Value(i)) })
	case *array.Decimal128:
		v := a.Values()
		return wrap(func(dst []byte, i int) []byte {
			dst = binary.BigEndian.AppendUint64(dst, uint64(v[i].HighBits())^1<<63)
			return binary.BigEndian.AppendUint64(dst, v[i].LowBits())
		})
	}
	panic("frame: key of unsupported type " + a.DataType().String())
}

func appendInt(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^1<<63)
}

// appendFloat orders floats as their values, -0 equal to 0 and every NaN equal and
// greatest, as Spark groups and sorts them.
func appendFloat(dst []byte, f float64) []byte {
	if f == 0 {
		f = 0
	}
	if math.IsNaN(f) {
		f = math.NaN()
	}
	b := math.Float64bits(f)
	if b>>63 == 1 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, b)
}

// appendString escapes 0x00 as 0x00 0xFF and ends with 0x00 0x00, so that a prefix
// sorts first.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			dst = append(dst, 0, 0xFF)
		} else {
			dst = append(dst, s[i])
		}
	}
	return append(dst, 0, 0)
}

// indexGetter reads a dictionary's indices as ints.
func indexGetter(idx arrow.Array) func(i int) int {
	switch x := idx.(type) {
	case *array.Int32:
		v := x.Int32Values()
		return func(i int) int { return int(v[i]) }
	case *array.Int64:
		v := x.Int64Values()
		return func(i int) int { return int(v[i]) }
	case *array.Int16:
		v := x.Int16Values()
		return func(i int) int { return int(v[i]) }
	case *array.Int8:
		v := x.Int8Values()
		return func(i int) int { return int(v[i]) }
	case *array.Uint8:
		v := x.Uint8Values()
		return func(i int) int { return int(v[i]) }
	case *array.Uint16:
		v := x.Uint16Values()
		return func(i int) int { return int(v[i]) }
	case *array.Uint32:
		v := x.Uint32Values()
		return func(i int) int { return int(v[i]) }
	}
	panic("frame: dictionary index type " + idx.DataType().String())
}

// rowKeys encodes the key columns of every row of b: keys[i] is row i's key, all in
// one arena.
type rowKeys struct {
	arena []byte
	ends  []int
}

func (rk *rowKeys) encode(cols []arrow.Array, desc []bool, n int) {
	encs := make([]keyCol, len(cols))
	for i, c := range cols {
		encs[i] = keyEncoder(c, desc != nil && desc[i])
	}
	rk.arena, rk.ends = rk.arena[:0], rk.ends[:0]
	for r := 0; r < n; r++ {
		for _, e := range encs {
			rk.arena = e(rk.arena, r)
		}
		rk.ends = append(rk.ends, len(rk.arena))
	}
}

func (rk *rowKeys) key(i int) []byte {
	start := 0
	if i > 0 {
		start = rk.ends[i-1]
	}
	return rk.arena[start:rk.ends[i]]
}

// hashPartition is the reduce partition of an encoded key: every process agrees.
func hashPartition(key []byte, n int) int {
	return int(xxhash.Sum64(key) % uint64(n))
}

// hasNullKey reports whether any of the key columns is null in row i (an equi-join's
// null keys match nothing).
func hasNullKey(cols []arrow.Array, i int) bool {
	for _, c := range cols {
		if c.IsNull(i) {
			return true
		}
	}
	return false
}
