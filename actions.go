package spindle

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/spindle-engine/spindle/internal/engine"
)

// Collect runs d and returns all its elements, in partition order, to the driver.
// Keep the result small: it is held in the driver's memory.
func Collect[T any](ctx context.Context, d Dataset[T]) ([]T, error) {
	return collectFirst(ctx, d, -1, "Collect"+callSite())
}

// collectFirst runs d and returns up to limit elements of each partition (all when
// limit < 0), in partition order.
func collectFirst[T any](ctx context.Context, d Dataset[T], limit int, name string) ([]T, error) {
	parts := make([][]T, d.n.NumParts)
	onResult := func(part int, data []byte) error {
		var vals []T
		if err := decodeSeq(d.codec, data)(func(t T) bool { vals = append(vals, t); return true }); err != nil {
			return err
		}
		parts[part] = vals
		return nil
	}
	a := &engine.Action{Kind: engine.ActionCollect, Limit: limit}
	if err := runJob(ctx, d, nil, name, a, d.collectResult(limit), onResult); err != nil {
		return nil, err
	}
	var out []T
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}

// runJob runs an action's job over d on its session's driver.
func runJob[T any](ctx context.Context, d Dataset[T], parts []int, name string, a *engine.Action, result engine.ResultFunc, onResult func(part int, data []byte) error) error {
	drv, err := d.s.driver()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return drv.RunJob(ctx, d.n, parts, name, a, result, onResult)
}

// resultFor turns an action's spec into its task side over d: an executor holding
// only d's node computes a typed action with it.
func (d Dataset[T]) resultFor(a *engine.Action) (engine.ResultFunc, error) {
	switch a.Kind {
	case engine.ActionCollect:
		return d.collectResult(a.Limit), nil
	case engine.ActionCount:
		return d.countResult(), nil
	case engine.ActionSave:
		return d.saveResult(a)
	case engine.ActionCountByKey:
		return d.countByKeyResult(), nil
	case engine.ActionSample:
		sd := d.n.ShuffleOf(a.Shuffle)
		if sd == nil || sd.Sample == nil {
			return nil, fmt.Errorf("sample: no SortBy shuffle %d in the plan", a.Shuffle)
		}
		return func(tc *engine.TaskContext, part int) ([]byte, error) { return sd.Sample(tc, part, a.Limit) }, nil
	}
	return nil, fmt.Errorf("unknown action %q", a.Kind)
}

// collectResult encodes up to limit elements of a partition (all when limit < 0).
func (d Dataset[T]) collectResult(limit int) engine.ResultFunc {
	return func(tc *engine.TaskContext, part int) ([]byte, error) {
		in, err := d.iter(tc, part)
		if err != nil {
			return nil, err
		}
		var buf []byte
		k := 0
		err = in(func(t T) bool {
			if k == limit {
				return false
			}
			buf = d.codec.Append(buf, t)
			k++
			return k != limit
		})
		return buf, err
	}
}

func (d Dataset[T]) countResult() engine.ResultFunc {
	return func(tc *engine.TaskContext, part int) ([]byte, error) {
		in, err := d.iter(tc, part)
		if err != nil {
			return nil, err
		}
		var n uint64
		err = in(func(T) bool { n++; return true })
		return binary.AppendUvarint(nil, n), err
	}
}

// Count runs d and returns how many elements it has.
func Count[T any](ctx context.Context, d Dataset[T]) (int64, error) {
	var total int64
	onResult := func(_ int, data []byte) error {
		n, k := binary.Uvarint(data)
		if k <= 0 {
			return fmt.Errorf("corrupt count result")
		}
		total += int64(n)
		return nil
	}
	err := runJob(ctx, d, nil, "Count"+callSite(), &engine.Action{Kind: engine.ActionCount}, d.countResult(), onResult)
	return total, err
}

// Take returns the first n elements of d, in partition order. Like Spark's take, it
// computes the first partition alone, then up to four times as many partitions at a
// time, guided by how many elements the partitions so far held, until it has n.
func Take[T any](ctx context.Context, d Dataset[T], n int) ([]T, error) {
	if n <= 0 {
		return nil, nil
	}
	name := "Take" + callSite()
	total := d.n.NumParts
	var out []T
	scanned := 0
	for len(out) < n && scanned < total {
		try := 1
		if scanned > 0 {
			try = scanned * 4
			if len(out) > 0 {
				try = min(max(int(1.5*float64(n)*float64(scanned)/float64(len(out)))-scanned, 1), scanned*4)
			}
		}
		parts := make([]int, 0, try)
		for p := scanned; p < min(scanned+try, total); p++ {
			parts = append(parts, p)
		}
		got := make([][]T, total)
		onResult := func(part int, data []byte) error {
			return decodeSeq(d.codec, data)(func(t T) bool { got[part] = append(got[part], t); return true })
		}
		limit := n - len(out)
		a := &engine.Action{Kind: engine.ActionCollect, Limit: limit}
		if err := runJob(ctx, d, parts, name, a, d.collectResult(limit), onResult); err != nil {
			return nil, err
		}
		for _, p := range parts {
			out = append(out, got[p]...)
		}
		scanned += len(parts)
	}
	return out[:min(len(out), n)], nil
}

// ErrEmpty is returned by Reduce on a dataset without elements.
var ErrEmpty = errors.New("spindle: empty dataset")

// Reduce folds all elements of d with f, which must be associative and commutative.
// In-process, each task folds its partition and the driver folds the partial results.
// Remote executors cannot run f, a function given on the driver after the plan was
// built: there each partition's elements are sent to the driver and folded there as
// they arrive, which moves the data but never holds more than one partition.
func Reduce[T any](ctx context.Context, d Dataset[T], f func(T, T) T) (T, error) {
	var acc T
	have := false
	fold := func(t T) {
		if have {
			acc = f(acc, t)
		} else {
			acc, have = t, true
		}
	}
	// The local task side folds, and sends its one partial result in collect's
	// encoding, so that the driver reads both the same way.
	result := func(tc *engine.TaskContext, part int) ([]byte, error) {
		in, err := d.iter(tc, part)
		if err != nil {
			return nil, err
		}
		var p T
		some := false
		err = in(func(t T) bool {
			if some {
				p = f(p, t)
			} else {
				p, some = t, true
			}
			return true
		})
		if err != nil || !some {
			return nil, err
		}
		return d.codec.Append(nil, p), nil
	}
	onResult := func(_ int, data []byte) error {
		return decodeSeq(d.codec, data)(func(t T) bool { fold(t); return true })
	}
	if err := runJob(ctx, d, nil, "Reduce"+callSite(), &engine.Action{Kind: engine.ActionCollect, Limit: -1}, result, onResult); err != nil {
		return acc, err
	}
	if !have {
		return acc, ErrEmpty
	}
	return acc, nil
}

// CountByKey counts the elements of each key and returns the counts to the driver.
// Each task counts its partition's keys; the driver adds the counts up. Keep the number
// of keys small: the map is held in the driver's memory.
func CountByKey[K comparable, V any](ctx context.Context, d Dataset[KV[K, V]]) (map[K]int64, error) {
	kc := mustKeyCodec[K]()
	out := map[K]int64{}
	onResult := func(_ int, data []byte) error {
		for len(data) > 0 {
			l, m := binary.Uvarint(data)
			if m <= 0 || uint64(len(data)-m) < l {
				return fmt.Errorf("corrupt key count")
			}
			k, err := decodeWhole(kc, data[m:m+int(l)])
			if err != nil {
				return fmt.Errorf("decode key count: %w", err)
			}
			data = data[m+int(l):]
			c, m := binary.Uvarint(data)
			if m <= 0 {
				return fmt.Errorf("corrupt key count")
			}
			out[k] += int64(c)
			data = data[m:]
		}
		return nil
	}
	if err := runJob(ctx, d, nil, "CountByKey"+callSite(), &engine.Action{Kind: engine.ActionCountByKey}, d.countByKeyResult(), onResult); err != nil {
		return nil, err
	}
	return out, nil
}

// keyedElement is implemented by KV: it appends the encoded key, which lets the
// untyped task side of CountByKey count keys of any KV type.
type keyedElement interface {
	appendKey(dst []byte) []byte
}

// appendKey resolves K's codec per element: the codec package caches it, so this
// is one lookup.
func (kv KV[K, V]) appendKey(dst []byte) []byte { return mustKeyCodec[K]().Append(dst, kv.Key) }

// countByKeyResult counts a partition's elements by encoded key and encodes the
// counts as (uvarint key length, key, uvarint count): key encodings need not be
// self-delimiting.
func (d Dataset[T]) countByKeyResult() engine.ResultFunc {
	return func(tc *engine.TaskContext, part int) ([]byte, error) {
		in, err := d.iter(tc, part)
		if err != nil {
			return nil, err
		}
		counts := map[string]uint64{}
		var kb []byte
		var bad error
		err = in(func(t T) bool {
			ke, ok := any(t).(keyedElement)
			if !ok {
				bad = fmt.Errorf("CountByKey on %T, which is not a KV", t)
				return false
			}
			kb = ke.appendKey(kb[:0])
			counts[string(kb)]++
			return true
		})
		if err == nil {
			err = bad
		}
		if err != nil {
			return nil, err
		}
		var out []byte
		for k, c := range counts {
			out = binary.AppendUvarint(out, uint64(len(k)))
			out = append(out, k...)
			out = binary.AppendUvarint(out, c)
		}
		return out, nil
	}
}
