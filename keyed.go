package spindle

import (
	"bytes"
	"fmt"

	"github.com/spindle-engine/spindle/codec"
	"github.com/spindle-engine/spindle/internal/engine"
)

// combineByKey is the engine of the keyed aggregations: a map-side combiner folds
// values per key within the task's execution memory (flushing to the shuffle writer,
// which sorts and spills, when memory runs out), and the reduce side merges the
// sorted map outputs and folds each run of equal keys.
func combineByKey[K comparable, V, C any](d Dataset[KV[K, V]], op string, opts []ShuffleOption,
	create func(V) C, merge func(C, V) C, mergeC func(C, C) C) Dataset[KV[K, C]] {
	s := d.s
	nparts := s.reducePartitions(opts, d.n)
	sd := s.g.NewShuffle(d.n, nparts, true, func(tc *engine.TaskContext, part int, w engine.RecordWriter) error {
		in, err := d.iter(tc, part)
		if err != nil {
			return err
		}
		c := newCombiner[K](create, merge)
		var granted int64
		// flush hands the table to the writer. Its memory is released first: the
		// writer needs it to buffer what the table held, and were it still the
		// combiner's, the writer would be refused and spill after every record.
		flush := func() error {
			tc.Mem.Release(granted)
			granted = 0
			return c.flush(w, nparts)
		}
		var writeErr error
		err = in(func(kv KV[K, V]) bool {
			if !c.add(kv.Key, kv.Value) || (c.used <= granted && !c.failed) {
				return true
			}
			if c.failed {
				writeErr = flush()
				return writeErr == nil
			}
			for c.used > granted {
				g := tc.Mem.Acquire(combinerChunk)
				granted += g
				if g == 0 {
					writeErr = flush()
					return writeErr == nil
				}
			}
			return true
		})
		if err != nil {
			return err
		}
		if writeErr != nil {
			return writeErr
		}
		return flush()
	})
	kc, cc := mustKeyCodec[K](), mustCodec[C]()
	n := s.newNode(op, nparts, nil, func(tc *engine.TaskContext, part int) (any, error) {
		return seq[KV[K, C]](func(yield func(KV[K, C]) bool) error {
			r, err := tc.ReadShuffle(sd, part)
			if err != nil {
				return err
			}
			defer r.Close()
			return foldRuns(r, kc, cc, func(c C) C { return c }, mergeC, func(k K, c C) bool {
				return yield(KV[K, C]{Key: k, Value: c})
			})
		}), nil
	})
	n.Shuffles = []*engine.ShuffleDep{sd}
	return newDataset[KV[K, C]](s, n)
}

// ReduceByKey merges the values of each key with f, which must be associative and
// commutative. Values are combined on the map side before the shuffle.
func ReduceByKey[K comparable, V any](d Dataset[KV[K, V]], f func(V, V) V, opts ...ShuffleOption) Dataset[KV[K, V]] {
	return combineByKey(d, "ReduceByKey", opts, func(v V) V { return v }, f, f)
}

// AggregateByKey folds the values of each key into an accumulator that starts at
// zero: seqOp adds a value, combOp merges two accumulators. Each key gets its own copy
// of zero, so a zero holding a slice or map is safe to mutate.
func AggregateByKey[K comparable, V, A any](d Dataset[KV[K, V]], zero A, seqOp func(A, V) A, combOp func(A, A) A, opts ...ShuffleOption) Dataset[KV[K, A]] {
	ac := mustCodec[A]()
	zb := ac.Append(nil, zero)
	fresh := func() A {
		z, _, err := ac.Decode(zb)
		if err != nil {
			panic(fmt.Sprintf("spindle: AggregateByKey: decode zero value: %v", err))
		}
		return z
	}
	return combineByKey(d, "AggregateByKey", opts, func(v V) A { return seqOp(fresh(), v) }, seqOp, combOp)
}

// Distinct keeps one copy of each element.
func Distinct[T comparable](d Dataset[T], opts ...ShuffleOption) Dataset[T] {
	keyed := Map(d, func(t T) KV[T, struct{}] { return KV[T, struct{}]{Key: t} })
	none := func(struct{}, struct{}) struct{} { return struct{}{} }
	return Keys(combineByKey(keyed, "Distinct", opts, func(struct{}) struct{} { return struct{}{} }, none, none))
}

// GroupByKey collects all values of each key into a slice. Prefer ReduceByKey or
// AggregateByKey where possible: they combine before the shuffle and hold no group in
// memory.
func GroupByKey[K comparable, V any](d Dataset[KV[K, V]], opts ...ShuffleOption) Dataset[KV[K, []V]] {
	s := d.s
	nparts := s.reducePartitions(opts, d.n)
	// No map-side combine: grouping would not shrink the data, as in Spark.
	sd := keyedShuffle(d, nparts)
	kc, vc := mustKeyCodec[K](), mustCodec[V]()
	n := s.newNode("GroupByKey", nparts, nil, func(tc *engine.TaskContext, part int) (any, error) {
		return seq[KV[K, []V]](func(yield func(KV[K, []V]) bool) error {
			r, err := tc.ReadShuffle(sd, part)
			if err != nil {
				return err
			}
			defer r.Close()
			// Each group gets a fresh slice, so the user may keep it.
			return foldRuns(r, kc, vc, func(v V) []V { return []V{v} }, func(vs []V, v V) []V { return append(vs, v) }, func(k K, vs []V) bool {
				return yield(KV[K, []V]{Key: k, Value: vs})
			})
		}), nil
	})
	n.Shuffles = []*engine.ShuffleDep{sd}
	return newDataset[KV[K, []V]](s, n)
}

// keyedReader is the part of a shuffle reader that grouping needs.
type keyedReader interface {
	Next() bool
	Key() []byte
	Value() []byte
	Err() error
}

// foldRuns folds each run of equal keys in a key-sorted stream: first starts an
// accumulator from the run's first value, next adds each further value, and f receives
// the key and the result; f returning false stops the scan.
func foldRuns[K, V, A any](r keyedReader, kc codec.Codec[K], vc codec.Codec[V], first func(V) A, next func(A, V) A, f func(K, A) bool) error {
	var cur []byte
	var acc A
	have := false
	emit := func() (bool, error) {
		k, err := decodeWhole(kc, cur)
		if err != nil {
			return false, fmt.Errorf("decode shuffle key: %w", err)
		}
		return f(k, acc), nil
	}
	for r.Next() {
		v, err := decodeWhole(vc, r.Value())
		if err != nil {
			return fmt.Errorf("decode shuffle value: %w", err)
		}
		if have && bytes.Equal(r.Key(), cur) {
			acc = next(acc, v)
			continue
		}
		if have {
			if ok, err := emit(); !ok || err != nil {
				return err
			}
		}
		cur = append(cur[:0], r.Key()...)
		acc, have = first(v), true
	}
	if err := r.Err(); err != nil {
		return err
	}
	if have {
		_, err := emit()
		return err
	}
	return nil
}
