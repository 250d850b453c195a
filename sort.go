package spindle

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"unsafe"

	"github.com/spindle-engine/spindle/codec"
	"github.com/spindle-engine/spindle/internal/engine"
)

// SortBy sorts d by the key that key computes from each element. The output is range
// partitioned: partition i holds smaller keys than partition i+1, and each partition is
// sorted, so reading the partitions in order reads d in order. The ranges come from a
// sample of the keys taken by a small job before the sort runs, as Spark's
// RangePartitioner does, so skewed keys still spread over the partitions.
func SortBy[T any, K cmp.Ordered](d Dataset[T], key func(T) K, ascending bool, opts ...ShuffleOption) Dataset[T] {
	s := d.s
	nparts := s.reducePartitions(opts, d.n)
	kc := codec.Ordered[K]()
	encodeKey := func(dst, scratch []byte, k K) ([]byte, []byte) {
		if ascending {
			return kc.Append(dst[:0], k), scratch
		}
		scratch = kc.Append(scratch[:0], k)
		return descendingKey(dst[:0], scratch), scratch
	}
	sortKey := func(dst, scratch []byte, t T) ([]byte, []byte) { return encodeKey(dst, scratch, key(t)) }
	// The reduce side tells a self-keyed record by its empty value, so the element
	// codec must never make an empty encoding (the string codec writes a length).
	var zero T
	selfKeyed := isSelfKeyed[T, K]() && len(d.codec.Append(nil, zero)) > 0
	sd := s.g.NewShuffle(d.n, nparts, true, func(tc *engine.TaskContext, part int, w engine.RecordWriter) error {
		bounds, err := decodeBounds(tc.ShuffleState())
		if err != nil {
			return fmt.Errorf("SortBy range bounds: %w", err)
		}
		in, err := d.iter(tc, part)
		if err != nil {
			return err
		}
		var kb, scratch, vb []byte
		var werr error
		if err := in(func(t T) bool {
			k := key(t)
			kb, scratch = encodeKey(kb, scratch, k)
			// An element that is its own key is stored once, as the key, with an
			// empty value: no element's encoding is empty, so the reduce side knows.
			if selfKeyed && sameString(t, k) {
				vb = vb[:0]
			} else {
				vb = d.codec.Append(vb[:0], t)
			}
			werr = w.Write(rangePartition(bounds, kb), kb, vb)
			return werr == nil
		}); err != nil {
			return err
		}
		return werr
	})
	sd.Prepare = func(ctx context.Context) ([]byte, error) {
		if nparts == 1 {
			return nil, nil
		}
		b, err := sampleBounds(ctx, d, sd, nparts)
		if err != nil {
			return nil, fmt.Errorf("sample keys for SortBy: %w", err)
		}
		return encodeBounds(b), nil
	}
	sd.Sample = func(tc *engine.TaskContext, part, limit int) ([]byte, error) {
		return sampleKeys(tc, d, part, limit, sortKey)
	}
	n := s.newNode("SortBy", sd.NumParts, nil, func(tc *engine.TaskContext, part int) (any, error) {
		return seq[T](func(yield func(T) bool) error {
			r, err := tc.ReadShuffle(sd, part)
			if err != nil {
				return err
			}
			defer r.Close()
			var scratch []byte
			for r.Next() {
				var t T
				if v := r.Value(); len(v) > 0 || !selfKeyed {
					if t, err = decodeWhole(d.codec, v); err != nil {
						return fmt.Errorf("decode shuffle %d value: %w", sd.ID, err)
					}
				} else {
					kb := r.Key()
					if !ascending {
						if scratch, err = ascendingKey(scratch[:0], kb); err != nil {
							return fmt.Errorf("decode shuffle %d key: %w", sd.ID, err)
						}
						kb = scratch
					}
					*(*string)(unsafe.Pointer(&t)) = string(kb)
				}
				if !yield(t) {
					return nil
				}
			}
			return r.Err()
		}), nil
	})
	n.Shuffles = []*engine.ShuffleDep{sd}
	return newDataset[T](s, n)
}

// isSelfKeyed reports whether a sort's elements may be their own keys: T and K are
// one type whose kind is string, whose key encoding is its bytes.
func isSelfKeyed[T any, K cmp.Ordered]() bool {
	t := reflect.TypeFor[T]()
	return t == reflect.TypeFor[K]() && t.Kind() == reflect.String
}

// sameString reports whether t and k, of one string type, are equal strings.
func sameString[T any, K any](t T, k K) bool {
	return *(*string)(unsafe.Pointer(&t)) == *(*string)(unsafe.Pointer(&k))
}

// ascendingKey undoes descendingKey.
func ascendingKey(dst, key []byte) ([]byte, error) {
	for i := 0; i < len(key); i++ {
		b := ^key[i]
		if b != 0x00 && b != 0xFF {
			dst = append(dst, b)
			continue
		}
		if i+1 >= len(key) {
			return nil, fmt.Errorf("corrupt descending key")
		}
		next := ^key[i+1]
		i++
		switch {
		case b == 0x00 && next == 0xFF:
			dst = append(dst, 0x00)
		case b == 0xFF && next == 0x00:
			dst = append(dst, 0xFF)
		case b == 0x00 && next == 0x01:
			if i+1 != len(key) {
				return nil, fmt.Errorf("corrupt descending key")
			}
			return dst, nil
		default:
			return nil, fmt.Errorf("corrupt descending key")
		}
	}
	return nil, fmt.Errorf("corrupt descending key: no end")
}

// SortByKey sorts a keyed dataset by its keys.
func SortByKey[K cmp.Ordered, V any](d Dataset[KV[K, V]], ascending bool, opts ...ShuffleOption) Dataset[KV[K, V]] {
	return SortBy(d, func(kv KV[K, V]) K { return kv.Key }, ascending, opts...)
}

// rangePartition finds the partition of key: the first whose upper bound is >= key.
func rangePartition(bounds [][]byte, key []byte) int {
	return sort.Search(len(bounds), func(i int) bool { return bytes.Compare(key, bounds[i]) <= 0 })
}

// descendingKey appends an encoding of key whose byte order is the reverse of key's:
// key is first made prefix-free (0x00 → 00 FF, 0xFF → FF 00, end → 00 01, which keeps
// the order) and then every byte is inverted, which reverses the order of prefix-free
// strings.
func descendingKey(dst, key []byte) []byte {
	for _, b := range key {
		switch b {
		case 0x00:
			dst = append(dst, ^byte(0x00), ^byte(0xFF))
		case 0xFF:
			dst = append(dst, ^byte(0xFF), ^byte(0x00))
		default:
			dst = append(dst, ^b)
		}
	}
	return append(dst, ^byte(0x00), ^byte(0x01))
}

// sampleBounds runs a job that reservoir-samples the sort keys of every partition of d
// and picks nparts-1 bounds that split the weighted sample evenly.
func sampleBounds[T any](ctx context.Context, d Dataset[T], sd *engine.ShuffleDep, nparts int) ([][]byte, error) {
	total := min(float64(d.s.Conf().Int("spindle.sort.samplesPerPartition"))*float64(nparts), 1e6)
	perPart := int(math.Ceil(3 * total / float64(max(1, d.n.NumParts))))
	var samples []engine.WeightedKey
	onResult := func(_ int, data []byte) error {
		count, n := binary.Uvarint(data)
		if n <= 0 {
			return fmt.Errorf("corrupt sample")
		}
		data = data[n:]
		var keys [][]byte
		for len(data) > 0 {
			l, n := binary.Uvarint(data)
			if n <= 0 || uint64(len(data)-n) < l {
				return fmt.Errorf("corrupt sample")
			}
			keys = append(keys, data[n:n+int(l)])
			data = data[n+int(l):]
		}
		for _, k := range keys {
			samples = append(samples, engine.WeightedKey{Key: k, Weight: float64(count) / float64(len(keys))})
		}
		return nil
	}
	a := &engine.Action{Kind: engine.ActionSample, Shuffle: sd.ID, Limit: perPart}
	result := func(tc *engine.TaskContext, part int) ([]byte, error) { return sd.Sample(tc, part, perPart) }
	if err := runJob(ctx, d, nil, "sample "+d.n.Op, a, result, onResult); err != nil {
		return nil, err
	}
	return engine.RangeBounds(samples, nparts), nil
}

// sampleKeys reservoir-samples up to limit sort keys of partition part of d and
// encodes the partition's element count and the keys.
func sampleKeys[T any](tc *engine.TaskContext, d Dataset[T], part, limit int, sortKey func(dst, scratch []byte, t T) ([]byte, []byte)) ([]byte, error) {
	in, err := d.iter(tc, part)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(part), 0x5eed))
	var keys [][]byte
	var count int64
	var kb, scratch []byte
	if err := in(func(t T) bool {
		count++
		kb, scratch = sortKey(kb, scratch, t)
		if len(keys) < limit {
			keys = append(keys, append([]byte(nil), kb...))
		} else if j := rng.Int64N(count); j < int64(limit) {
			keys[j] = append(keys[j][:0], kb...)
		}
		return true
	}); err != nil {
		return nil, err
	}
	out := binary.AppendUvarint(nil, uint64(count))
	for _, k := range keys {
		out = binary.AppendUvarint(out, uint64(len(k)))
		out = append(out, k...)
	}
	return out, nil
}

// encodeBounds encodes range bounds as length-prefixed keys.
func encodeBounds(bounds [][]byte) []byte {
	out := binary.AppendUvarint(nil, uint64(len(bounds)))
	for _, b := range bounds {
		out = binary.AppendUvarint(out, uint64(len(b)))
		out = append(out, b...)
	}
	return out
}

func decodeBounds(data []byte) ([][]byte, error) {
	if len(data) == 0 {
		return nil, nil
	}
	n, k := binary.Uvarint(data)
	if k <= 0 {
		return nil, fmt.Errorf("corrupt bounds")
	}
	data = data[k:]
	bounds := make([][]byte, 0, n)
	for range n {
		l, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < l {
			return nil, fmt.Errorf("corrupt bounds")
		}
		bounds = append(bounds, data[k:k+int(l)])
		data = data[k+int(l):]
	}
	return bounds, nil
}
