package spindle

import (
	"iter"

	"github.com/spindle-engine/spindle/internal/engine"
)

// narrow builds a one-parent, partition-preserving operator: partition i of the result
// is computed from partition i of d in the same task.
func narrow[T, U any](d Dataset[T], op string, f func(in seq[T]) seq[U]) Dataset[U] {
	n := d.s.newNode(op, d.n.NumParts, []*engine.Node{d.n}, func(tc *engine.TaskContext, part int) (any, error) {
		in, err := d.iter(tc, part)
		if err != nil {
			return nil, err
		}
		return f(in), nil
	})
	n.Hosts = d.n.Hosts
	// A narrow operator is taken to keep its input's size, as Spark's estimates
	// keep a filter's.
	n.Bytes = d.n.Bytes
	return newDataset[U](d.s, n)
}

// Map applies f to every element.
func Map[T, U any](d Dataset[T], f func(T) U) Dataset[U] {
	return narrow(d, "Map", func(in seq[T]) seq[U] {
		return func(yield func(U) bool) error {
			return in(func(t T) bool { return yield(f(t)) })
		}
	})
}

// FlatMap applies f to every element and flattens the slices it returns.
func FlatMap[T, U any](d Dataset[T], f func(T) []U) Dataset[U] {
	return narrow(d, "FlatMap", func(in seq[T]) seq[U] {
		return func(yield func(U) bool) error {
			return in(func(t T) bool {
				for _, u := range f(t) {
					if !yield(u) {
						return false
					}
				}
				return true
			})
		}
	})
}

// FlatMapFunc applies f to every element; f passes each of its results to yield,
// and stops when yield returns false. Unlike [FlatMap] it makes no slice per element:
//
//	words := spindle.FlatMapFunc(lines, func(line string, yield func(string) bool) {
//		for w := range strings.FieldsSeq(line) {
//			if !yield(w) {
//				return
//			}
//		}
//	})
func FlatMapFunc[T, U any](d Dataset[T], f func(t T, yield func(U) bool)) Dataset[U] {
	return narrow(d, "FlatMapFunc", func(in seq[T]) seq[U] {
		return func(yield func(U) bool) error {
			more := true
			// One emit for the partition, not one closure per element.
			emit := func(u U) bool {
				more = more && yield(u)
				return more
			}
			return in(func(t T) bool {
				f(t, emit)
				return more
			})
		}
	})
}

// Filter keeps the elements for which keep returns true.
func Filter[T any](d Dataset[T], keep func(T) bool) Dataset[T] {
	return narrow(d, "Filter", func(in seq[T]) seq[T] {
		return func(yield func(T) bool) error {
			return in(func(t T) bool { return !keep(t) || yield(t) })
		}
	})
}

// MapPartitions transforms a whole partition at once, for work with a per-partition
// set-up cost (a connection, a parser). f must consume its input at most once.
func MapPartitions[T, U any](d Dataset[T], f func(iter.Seq[T]) iter.Seq[U]) Dataset[U] {
	return narrow(d, "MapPartitions", func(in seq[T]) seq[U] {
		return func(yield func(U) bool) error {
			var inErr error
			src := func(y func(T) bool) { inErr = in(y) }
			for u := range f(src) {
				if !yield(u) {
					break
				}
			}
			return inErr
		}
	})
}

// KeyBy pairs every element with the key that key computes from it.
func KeyBy[T any, K any](d Dataset[T], key func(T) K) Dataset[KV[K, T]] {
	return Map(d, func(t T) KV[K, T] { return KV[K, T]{Key: key(t), Value: t} })
}

// Values drops the keys of a keyed dataset.
func Values[K, V any](d Dataset[KV[K, V]]) Dataset[V] {
	return Map(d, func(kv KV[K, V]) V { return kv.Value })
}

// Keys drops the values of a keyed dataset.
func Keys[K, V any](d Dataset[KV[K, V]]) Dataset[K] {
	return Map(d, func(kv KV[K, V]) K { return kv.Key })
}

// Union concatenates the partitions of the datasets, without a shuffle.
func Union[T any](first Dataset[T], rest ...Dataset[T]) Dataset[T] {
	all := append([]Dataset[T]{first}, rest...)
	offsets := make([]int, len(all)+1)
	parents := make([]*engine.Node, len(all))
	var bytes int64
	for i, d := range all {
		if d.s != first.s {
			panic("spindle: Union of datasets from different sessions")
		}
		offsets[i+1] = offsets[i] + d.n.NumParts
		parents[i] = d.n
		if bytes >= 0 && d.n.Bytes > 0 {
			bytes += d.n.Bytes
		} else {
			bytes = -1 // one part unknown: the whole is
		}
	}
	locate := func(part int) (int, int) {
		i := 0
		for part >= offsets[i+1] {
			i++
		}
		return i, part - offsets[i]
	}
	n := first.s.newNode("Union", offsets[len(all)], parents, func(tc *engine.TaskContext, part int) (any, error) {
		i, p := locate(part)
		in, err := all[i].iter(tc, p)
		if err != nil {
			return nil, err
		}
		return in, nil
	})
	n.Bytes = max(bytes, 0)
	n.Hosts = func(part int) []string {
		i, p := locate(part)
		if all[i].n.Hosts == nil {
			return nil
		}
		return all[i].n.Hosts(p)
	}
	return newDataset[T](first.s, n)
}

// MapValues applies f to the values of a keyed dataset, keeping the keys.
func MapValues[K, V, W any](d Dataset[KV[K, V]], f func(V) W) Dataset[KV[K, W]] {
	return Map(d, func(kv KV[K, V]) KV[K, W] { return KV[K, W]{Key: kv.Key, Value: f(kv.Value)} })
}
