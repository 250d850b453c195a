package spindle

import (
	"bytes"
	"fmt"

	"github.com/spindle-engine/spindle/codec"
	"github.com/spindle-engine/spindle/internal/engine"
)

// Join pairs the values of equal keys of two keyed datasets (an inner join). When one
// side's input is estimated at most spindle.sql.autoBroadcastJoinThreshold (10m by
// default, as Spark's), that side is broadcast: every task of the other side builds
// it into a hash table and joins its own partition, and the other side is never
// shuffled. Otherwise both sides are shuffled by key into the same partitions,
// sorted, and merge-joined, so only one key's values of each side are held in memory
// at a time.
func Join[K comparable, V, W any](left Dataset[KV[K, V]], right Dataset[KV[K, W]], opts ...ShuffleOption) Dataset[KV[K, Pair[V, W]]] {
	both := func(v V, w W) Pair[V, W] { return Pair[V, W]{v, w} }
	none := func(V) (Pair[V, W], bool) { return Pair[V, W]{}, false }
	bs, err := broadcastSide(left.s, left.n, right.n, false)
	switch {
	case bs == sideRight:
		return hashJoin(left, right, "Join", both, none)
	case bs == sideLeft:
		return hashJoin(right, left, "Join", func(w W, v V) Pair[V, W] { return Pair[V, W]{v, w} },
			func(W) (Pair[V, W], bool) { return Pair[V, W]{}, false })
	}
	d := mergeJoin(left, right, "Join", false, opts, both, none)
	d.n.Err = err
	return d
}

// LeftJoin is Join that also keeps the left values whose key has no match on the
// right; their Second is an invalid Option. Only the right side may be broadcast.
func LeftJoin[K comparable, V, W any](left Dataset[KV[K, V]], right Dataset[KV[K, W]], opts ...ShuffleOption) Dataset[KV[K, Pair[V, Option[W]]]] {
	both := func(v V, w W) Pair[V, Option[W]] { return Pair[V, Option[W]]{v, Option[W]{Value: w, Valid: true}} }
	only := func(v V) (Pair[V, Option[W]], bool) { return Pair[V, Option[W]]{First: v}, true }
	if bs, err := broadcastSide(left.s, left.n, right.n, true); bs == sideRight {
		return hashJoin(left, right, "LeftJoin", both, only)
	} else if err != nil {
		d := mergeJoin(left, right, "LeftJoin", true, opts, both, only)
		d.n.Err = err
		return d
	}
	return mergeJoin(left, right, "LeftJoin", true, opts, both, only)
}

func mergeJoin[K comparable, V, W, O any](left Dataset[KV[K, V]], right Dataset[KV[K, W]], op string, outer bool, opts []ShuffleOption,
	both func(V, W) O, only func(V) (O, bool)) Dataset[KV[K, O]] {
	s := left.s
	if right.s != s {
		panic("spindle: " + op + " of datasets from different sessions")
	}
	nparts := s.reducePartitions(opts, left.n, right.n)
	lsd := keyedShuffle(left, nparts)
	rsd := keyedShuffle(right, nparts)
	kc, vc, wc := mustKeyCodec[K](), mustCodec[V](), mustCodec[W]()
	n := s.newNode(op, nparts, nil, func(tc *engine.TaskContext, part int) (any, error) {
		return seq[KV[K, O]](func(yield func(KV[K, O]) bool) error {
			lr, err := tc.ReadShuffle(lsd, part)
			if err != nil {
				return err
			}
			defer lr.Close()
			rr, err := tc.ReadShuffle(rsd, part)
			if err != nil {
				return err
			}
			defer rr.Close()
			l, r := &runReader[V]{r: lr, c: vc}, &runReader[W]{r: rr, c: wc}
			l.more, r.more = lr.Next(), rr.Next()
			for l.more {
				key := append([]byte(nil), lr.Key()...)
				lvals, err := l.run(key)
				if err != nil {
					return err
				}
				for r.more && bytes.Compare(rr.Key(), key) < 0 {
					r.more = rr.Next()
				}
				var rvals []W
				if r.more && bytes.Equal(rr.Key(), key) {
					if rvals, err = r.run(key); err != nil {
						return err
					}
				}
				if len(rvals) == 0 && !outer {
					continue
				}
				k, err := decodeWhole(kc, key)
				if err != nil {
					return fmt.Errorf("decode join key: %w", err)
				}
				for _, v := range lvals {
					if len(rvals) == 0 {
						if o, ok := only(v); ok && !yield(KV[K, O]{Key: k, Value: o}) {
							return nil
						}
						continue
					}
					for _, w := range rvals {
						if !yield(KV[K, O]{Key: k, Value: both(v, w)}) {
							return nil
						}
					}
				}
			}
			if err := lr.Err(); err != nil {
				return err
			}
			return rr.Err()
		}), nil
	})
	n.Shuffles = []*engine.ShuffleDep{lsd, rsd}
	return newDataset[KV[K, O]](s, n)
}

// keyedShuffle hash-partitions a keyed dataset by its encoded key, sorted, without a
// combiner.
func keyedShuffle[K comparable, V any](d Dataset[KV[K, V]], nparts int) *engine.ShuffleDep {
	return d.s.g.NewShuffle(d.n, nparts, true, func(tc *engine.TaskContext, part int, w engine.RecordWriter) error {
		in, err := d.iter(tc, part)
		if err != nil {
			return err
		}
		enc := newKVEncoder[K, V]()
		var werr error
		if err := in(func(kv KV[K, V]) bool {
			werr = enc.write(w, nparts, kv.Key, kv.Value)
			return werr == nil
		}); err != nil {
			return err
		}
		return werr
	})
}

// runReader collects the values of one key from a key-sorted stream.
type runReader[V any] struct {
	r interface {
		Next() bool
		Key() []byte
		Value() []byte
	}
	c    codec.Codec[V]
	more bool
}

// run decodes values while the stream's key equals key, leaving the stream at the
// next key.
func (rr *runReader[V]) run(key []byte) ([]V, error) {
	var vals []V
	for rr.more && bytes.Equal(rr.r.Key(), key) {
		v, err := decodeWhole(rr.c, rr.r.Value())
		if err != nil {
			return nil, fmt.Errorf("decode join value: %w", err)
		}
		vals = append(vals, v)
		rr.more = rr.r.Next()
	}
	return vals, nil
}
