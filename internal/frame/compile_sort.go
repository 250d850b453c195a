package frame

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/spindle-engine/spindle/internal/engine"
)

// limit compiles Limit: each map task keeps its first n rows, and one reduce task
// takes the first n of them in partition order.
func (c *compiler) limit(p *Plan, need []string) (node, error) {
	child, err := c.compile(p.In[0], need, nil)
	if err != nil {
		return node{}, err
	}
	n := p.N
	sd := c.g.NewShuffle(child.n, 1, false, func(tc *engine.TaskContext, part int, w engine.RecordWriter) error {
		in, err := seqOf(child.n, tc, part)
		if err != nil {
			return err
		}
		return writeFirst(in, n, func(b arrow.RecordBatch) error { return writePartitioned(w, b, 1, nil) })
	})
	nd := c.newNode("Limit", p, 1, nil, child.out, func(tc *engine.TaskContext, part int) (Seq, error) {
		return func(yield func(arrow.RecordBatch) bool) error {
			var werr error
			err := writeFirst(func(f func(arrow.RecordBatch) bool) error { return readBatches(tc, sd, part, f) }, n,
				func(b arrow.RecordBatch) error {
					if !yield(b) {
						werr = errStop
					}
					return werr
				})
			if err == errStop {
				err = nil
			}
			return err
		}, nil
	})
	nd.n.Shuffles = []*engine.ShuffleDep{sd}
	return nd, nil
}

var errStop = fmt.Errorf("stop")

// writeFirst passes the first n rows of in to f.
func writeFirst(in Seq, n int64, f func(arrow.RecordBatch) error) error {
	var ferr error
	left := n
	err := in(func(b arrow.RecordBatch) bool {
		if left <= 0 {
			return false
		}
		if b.NumRows() > left {
			b = b.NewSlice(0, left)
		}
		left -= b.NumRows()
		ferr = f(b)
		return ferr == nil && left > 0
	})
	if err == nil {
		err = ferr
	}
	return err
}

// sortKeys are the key columns of a sort and their directions.
func sortKeys(s *Schema, keys []SortKey) ([]int, []bool, error) {
	idx := make([]int, len(keys))
	desc := make([]bool, len(keys))
	for i, k := range keys {
		if idx[i] = s.Index(k.Col); idx[i] < 0 {
			return nil, nil, &MissingColumnError{Column: k.Col, Have: s.Names()}
		}
		desc[i] = k.Desc
	}
	return idx, desc, nil
}

func encodeSortKeys(b arrow.RecordBatch, idx []int, desc []bool) *rowKeys {
	cols := make([]arrow.Array, len(idx))
	for i, k := range idx {
		cols[i] = b.Column(k)
	}
	rk := &rowKeys{}
	rk.encode(cols, desc, int(b.NumRows()))
	return rk
}

// sort compiles OrderBy: the driver samples the sort keys to cut ranges, map tasks
// send each row to its range's partition, and each reduce task sorts its rows
// (spilling sorted runs when memory is refused).
func (c *compiler) sort(p *Plan) (node, error) {
	child, err := c.compile(p.In[0], nil, nil)
	if err != nil {
		return node{}, err
	}
	idx, desc, err := sortKeys(child.out, p.Sort)
	if err != nil {
		return node{}, err
	}
	nparts := c.reduceParts(child.n)
	sd := c.g.NewShuffle(child.n, nparts, false, func(tc *engine.TaskContext, part int, w engine.RecordWriter) error {
		bounds, err := decodeBounds(tc.ShuffleState())
		if err != nil {
			return fmt.Errorf("OrderBy range bounds: %w", err)
		}
		in, err := seqOf(child.n, tc, part)
		if err != nil {
			return err
		}
		var werr error
		err = in(func(b arrow.RecordBatch) bool {
			rk := encodeSortKeys(b, idx, desc)
			werr = writePartitioned(w, b, nparts, func(r int) int {
				key := rk.key(r)
				return sort.Search(len(bounds), func(i int) bool { return bytes.Compare(key, bounds[i]) <= 0 })
			})
			return werr == nil
		})
		if err == nil {
			err = werr
		}
		return err
	})
	sample := func(tc *engine.TaskContext, part, limit int) ([]byte, error) {
		in, err := seqOf(child.n, tc, part)
		if err != nil {
			return nil, err
		}
		return sampleKeys(in, idx, desc, limit)
	}
	c.samples[sd.ID] = sample
	if drv := c.drv; drv != nil && nparts > 1 {
		sd.Prepare = func(ctx context.Context) ([]byte, error) {
			return prepareBounds(ctx, drv, child.n, sd, nparts, c.g.Conf().Int("spindle.sort.samplesPerPartition"), sample)
		}
	}
	nd := c.newNode("OrderBy", p, nparts, nil, child.out, func(tc *engine.TaskContext, part int) (Seq, error) {
		return func(yield func(arrow.RecordBatch) bool) error {
			return externalSort(tc, child.out, idx, desc, func(f func(arrow.RecordBatch) bool) error { return readBatches(tc, sd, part, f) }, yield)
		}, nil
	})
	nd.n.Shuffles = []*engine.ShuffleDep{sd}
	return nd, nil
}

// sampleKeys encodes up to limit sort keys of a partition, evenly spaced, after the
// partition's row count.
func sampleKeys(in Seq, idx []int, desc []bool, limit int) ([]byte, error) {
	var keys [][]byte
	var seen uint64
	err := in(func(b arrow.RecordBatch) bool {
		rk := encodeSortKeys(b, idx, desc)
		for r := 0; r < int(b.NumRows()); r++ {
			seen++
			// Reservoir sampling with a fixed stride keeps the sample deterministic.
			if len(keys) < limit {
				keys = append(keys, slices.Clone(rk.key(r)))
			} else if j := (seen * 2654435761) % seen; j < uint64(limit) {
				keys[j] = slices.Clone(rk.key(r))
			}
		}
		return true
	})
	out := binary.AppendUvarint(nil, seen)
	for _, k := range keys {
		out = binary.AppendUvarint(out, uint64(len(k)))
		out = append(out, k...)
	}
	return out, err
}

// prepareBounds runs the sample job and cuts nparts ranges of about equal weight.
func prepareBounds(ctx context.Context, drv Driver, n *engine.Node, sd *engine.ShuffleDep, nparts, perPart int,
	sample func(tc *engine.TaskContext, part, limit int) ([]byte, error)) ([]byte, error) {
	total := math.Min(float64(perPart)*float64(nparts), 1e6)
	limit := int(math.Ceil(3 * total / float64(max(1, n.NumParts))))
	var samples []engine.WeightedKey
	onResult := func(_ int, data []byte) error {
		count, k := binary.Uvarint(data)
		if k <= 0 {
			return fmt.Errorf("corrupt sample")
		}
		data = data[k:]
		var keys [][]byte
		for len(data) > 0 {
			l, k := binary.Uvarint(data)
			if k <= 0 || uint64(len(data)-k) < l {
				return fmt.Errorf("corrupt sample")
			}
			keys = append(keys, slices.Clone(data[k:k+int(l)]))
			data = data[k+int(l):]
		}
		for _, key := range keys {
			samples = append(samples, engine.WeightedKey{Key: key, Weight: float64(count) / float64(len(keys))})
		}
		return nil
	}
	a := &engine.Action{Kind: engine.ActionSample, Shuffle: sd.ID, Limit: limit}
	if err := drv.RunJob(ctx, n, nil, "sample "+n.Op, a, func(tc *engine.TaskContext, part int) ([]byte, error) { return sample(tc, part, limit) }, onResult); err != nil {
		return nil, fmt.Errorf("sample keys for OrderBy: %w", err)
	}
	bounds := engine.RangeBounds(samples, nparts)
	var out []byte
	for _, b := range bounds {
		out = binary.AppendUvarint(out, uint64(len(b)))
		out = append(out, b...)
	}
	return out, nil
}

func decodeBounds(data []byte) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		l, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < l {
			return nil, fmt.Errorf("corrupt bounds")
		}
		out = append(out, data[k:k+int(l)])
		data = data[k+int(l):]
	}
	return out, nil
}

// sortBatch sorts one batch by its encoded keys, stably.
func sortBatch(b arrow.RecordBatch, idx []int, desc []bool) arrow.RecordBatch {
	rk := encodeSortKeys(b, idx, desc)
	order := make([]int32, b.NumRows())
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(x, y int32) int { return bytes.Compare(rk.key(int(x)), rk.key(int(y))) })
	return takeRows(b, int32Array(order))
}

// externalSort sorts its input: in memory while the memory is granted, else as
// sorted runs on disk merged at the end.
func externalSort(tc *engine.TaskContext, s *Schema, idx []int, desc []bool, in Seq, yield func(arrow.RecordBatch) bool) error {
	res := &reservation{m: tc.Mem}
	defer res.reset()
	var held []arrow.RecordBatch
	var runs []*spillFile
	defer func() {
		for _, r := range runs {
			r.remove()
		}
	}()
	spill := func() error {
		if len(held) == 0 {
			return nil
		}
		whole, err := concatBatches(s, held)
		if err != nil {
			return err
		}
		held = nil
		f, err := newSpillFile(localDirs(tc), fmt.Sprintf("sort-%d-%d", tc.Task.ID, len(runs)))
		if err != nil {
			return err
		}
		runs = append(runs, f)
		sorted := sortBatch(whole, idx, desc)
		for lo := int64(0); lo < sorted.NumRows(); lo += batchRows {
			if err := f.write(sorted.NewSlice(lo, min(sorted.NumRows(), lo+batchRows))); err != nil {
				return err
			}
		}
		n, err := f.finish()
		tc.Metrics.SpillBytes += n
		res.reset()
		return err
	}
	var serr error
	if err := in(func(b arrow.RecordBatch) bool {
		held = append(held, b)
		if !res.grow(batchBytes(b) * 2) {
			serr = spill()
		}
		return serr == nil
	}); err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	if runs == nil {
		if len(held) == 0 {
			return nil
		}
		whole, err := concatBatches(s, held)
		if err != nil {
			return err
		}
		sorted := sortBatch(whole, idx, desc)
		for lo := int64(0); lo < sorted.NumRows(); lo += batchRows {
			if !yield(sorted.NewSlice(lo, min(sorted.NumRows(), lo+batchRows))) {
				return nil
			}
		}
		return nil
	}
	if err := spill(); err != nil {
		return err
	}
	return mergeRuns(tc.Ctx, s, runs, idx, desc, yield)
}

// run is one sorted run being merged: its batches come through a channel-free
// pull iterator over the spill file.
type run struct {
	next func() (arrow.RecordBatch, bool)
	stop func()
	b    arrow.RecordBatch
	keys *rowKeys
	row  int
}

type runHeap []*run

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	return bytes.Compare(h[i].keys.key(h[i].row), h[j].keys.key(h[j].row)) < 0
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*run)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeRuns merges sorted runs, emitting batches of rows taken from the runs'
// batches in order.
func mergeRuns(ctx context.Context, s *Schema, runs []*spillFile, idx []int, desc []bool, yield func(arrow.RecordBatch) bool) error {
	h := &runHeap{}
	var errs []error
	for _, f := range runs {
		next, stop := pullBatches(f, &errs)
		r := &run{next: next, stop: stop}
		defer stop()
		if r.advance(idx, desc) {
			heap.Push(h, r)
		}
	}
	var pending []arrow.RecordBatch // single-row slices, concatenated per output batch
	flush := func() bool {
		if len(pending) == 0 {
			return true
		}
		b, err := concatBatches(s, pending)
		pending = pending[:0]
		if err != nil {
			errs = append(errs, err)
			return false
		}
		return yield(b)
	}
	for h.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := (*h)[0]
		pending = append(pending, r.b.NewSlice(int64(r.row), int64(r.row+1)))
		r.row++
		if r.row == int(r.b.NumRows()) && !r.advance(idx, desc) {
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
		if len(pending) == 4096 && !flush() {
			break
		}
	}
	flush()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

func (r *run) advance(idx []int, desc []bool) bool {
	for {
		b, ok := r.next()
		if !ok {
			return false
		}
		if b.NumRows() == 0 {
			continue
		}
		r.b, r.row, r.keys = b, 0, encodeSortKeys(b, idx, desc)
		return true
	}
}
