package frame

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/spindle-engine/spindle/internal/engine"
)

// join compiles a join on columns: both sides shuffle by the keys' hash into the
// same partitions, and each reduce task builds a hash table of its right rows and
// probes it with its left rows. When the right rows do not fit, both sides are
// spread over spill buckets by key and joined a bucket at a time.
func (c *compiler) join(p *Plan) (node, error) {
	var sides [2]node
	var keys [2][]int
	var sds [2]*engine.ShuffleDep
	var nodes []*engine.Node
	for i, in := range p.In {
		nd, err := c.compile(in, nil, nil)
		if err != nil {
			return node{}, err
		}
		sides[i] = nd
		nodes = append(nodes, nd.n)
		for _, k := range p.Keys {
			keys[i] = append(keys[i], nd.out.Index(k))
		}
	}
	nparts := c.reduceParts(nodes...)
	dropNull := !p.Null
	for i := range sides {
		side, k := sides[i], keys[i]
		keepNull := p.How == "left" && i == 0
		sds[i] = c.g.NewShuffle(side.n, nparts, false, func(tc *engine.TaskContext, part int, w engine.RecordWriter) error {
			in, err := seqOf(side.n, tc, part)
			if err != nil {
				return err
			}
			var werr error
			err = in(func(b arrow.RecordBatch) bool {
				if dropNull && !keepNull {
					b = withoutNullKeys(b, k)
				}
				werr = writePartitioned(w, b, nparts, hashPartitioner(b, k, nparts))
				return werr == nil
			})
			if err == nil {
				err = werr
			}
			return err
		})
	}
	j := &hashJoin{out: p.Out, left: sides[0].out, right: sides[1].out, lkeys: keys[0], rkeys: keys[1], how: p.How, nullSafe: p.Null}
	for i, f := range sides[0].out.Fields {
		if !contains(keys[0], i) {
			j.lcols = append(j.lcols, i)
		}
		_ = f
	}
	for i := range sides[1].out.Fields {
		if !contains(keys[1], i) {
			j.rcols = append(j.rcols, i)
		}
	}
	nd := c.newNode("Join", p, nparts, nil, p.Out, func(tc *engine.TaskContext, part int) (Seq, error) {
		return func(yield func(arrow.RecordBatch) bool) error {
			read := func(i int) Seq {
				return func(f func(arrow.RecordBatch) bool) error { return readBatches(tc, sds[i], part, f) }
			}
			return j.run(tc, read(0), read(1), yield)
		}, nil
	})
	nd.n.Shuffles = []*engine.ShuffleDep{sds[0], sds[1]}
	return nd, nil
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// withoutNullKeys drops rows with a null key, which an equi-join never matches.
func withoutNullKeys(b arrow.RecordBatch, keys []int) arrow.RecordBatch {
	cols := make([]arrow.Array, len(keys))
	any := false
	for i, k := range keys {
		cols[i] = b.Column(k)
		any = any || cols[i].NullN() > 0
	}
	if !any {
		return b
	}
	var rows []int32
	for r := 0; r < int(b.NumRows()); r++ {
		if !hasNullKey(cols, r) {
			rows = append(rows, int32(r))
		}
	}
	return takeRows(b, int32Array(rows))
}

type hashJoin struct {
	out, left, right *Schema
	lkeys, rkeys     []int
	lcols, rcols     []int // non-key columns
	how              string
	nullSafe         bool
}

// run joins one partition.
func (j *hashJoin) run(tc *engine.TaskContext, left, right Seq, yield func(arrow.RecordBatch) bool) error {
	res := &reservation{m: tc.Mem}
	defer res.reset()
	var held []arrow.RecordBatch
	var rb, lb []*spillFile
	defer func() {
		for _, f := range append(rb, lb...) {
			f.remove()
		}
	}()
	newBuckets := func(side string) ([]*spillFile, error) {
		var fs []*spillFile
		for i := 0; i < spillBuckets; i++ {
			f, err := newSpillFile(localDirs(tc), fmt.Sprintf("join-%s-%d-%d", side, tc.Task.ID, i))
			if err != nil {
				return nil, err
			}
			fs = append(fs, f)
		}
		return fs, nil
	}
	var serr error
	if err := right(func(b arrow.RecordBatch) bool {
		if rb != nil {
			serr = writeBuckets(rb, b, j.rkeys)
			return serr == nil
		}
		held = append(held, b)
		if !res.grow(batchBytes(b) * 2) {
			if rb, serr = newBuckets("r"); serr != nil {
				return false
			}
			for _, h := range held {
				if serr = writeBuckets(rb, h, j.rkeys); serr != nil {
					return false
				}
			}
			held = nil
			res.reset()
		}
		return true
	}); err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	if rb == nil {
		t, err := j.build(held)
		if err != nil {
			return err
		}
		_, err = j.probe(t, left, yield)
		return err
	}
	// Grace join: the left side follows the right into buckets of the same hash.
	var err error
	if lb, err = newBuckets("l"); err != nil {
		return err
	}
	if err := left(func(b arrow.RecordBatch) bool { serr = writeBuckets(lb, b, j.lkeys); return serr == nil }); err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	for _, f := range append(rb, lb...) {
		n, err := f.finish()
		if err != nil {
			return err
		}
		tc.Metrics.SpillBytes += n
	}
	for i := range rb {
		var bs []arrow.RecordBatch
		if err := rb[i].read(func(b arrow.RecordBatch) bool { bs = append(bs, b); return true }); err != nil {
			return err
		}
		t, err := j.build(bs)
		if err != nil {
			return err
		}
		if ok, err := j.probe(t, lb[i].read, yield); err != nil || !ok {
			return err
		}
	}
	return nil
}

// table is the right side of one partition (or bucket), indexed by key.
type table struct {
	b    arrow.RecordBatch
	rows map[string][]int32
}

func (j *hashJoin) build(bs []arrow.RecordBatch) (*table, error) {
	t := &table{rows: map[string][]int32{}}
	if len(bs) == 0 {
		return t, nil
	}
	b, err := concatBatches(j.right, bs)
	if err != nil {
		return nil, err
	}
	t.b = b
	rk := encodeSortKeys(b, j.rkeys, nil)
	cols := keyCols(b, j.rkeys)
	for r := 0; r < int(b.NumRows()); r++ {
		if !j.nullSafe && hasNullKey(cols, r) {
			continue
		}
		k := string(rk.key(r))
		t.rows[k] = append(t.rows[k], int32(r))
	}
	return t, nil
}

func keyCols(b arrow.RecordBatch, keys []int) []arrow.Array {
	cols := make([]arrow.Array, len(keys))
	for i, k := range keys {
		cols[i] = b.Column(k)
	}
	return cols
}

// probe joins left's rows with the table; it reports false when yield stopped.
func (j *hashJoin) probe(t *table, left Seq, yield func(arrow.RecordBatch) bool) (bool, error) {
	more := true
	var perr error
	err := left(func(b arrow.RecordBatch) bool {
		b = plainBatch(b)
		rk := encodeSortKeys(b, j.lkeys, nil)
		cols := keyCols(b, j.lkeys)
		li := array.NewInt32Builder(mem)
		ri := array.NewInt32Builder(mem)
		for r := 0; r < int(b.NumRows()); r++ {
			var matches []int32
			if j.nullSafe || !hasNullKey(cols, r) {
				matches = t.rows[string(rk.key(r))]
			}
			for _, m := range matches {
				li.Append(int32(r))
				ri.Append(m)
			}
			if len(matches) == 0 && j.how == "left" {
				li.Append(int32(r))
				ri.AppendNull()
			}
		}
		lidx, ridx := li.NewArray(), ri.NewArray()
		n := lidx.Len()
		if n == 0 {
			return true
		}
		lt := takeRows(b, lidx)
		out := make([]arrow.Array, 0, len(j.out.Fields))
		for _, k := range j.lkeys {
			out = append(out, lt.Column(k))
		}
		for _, c := range j.lcols {
			out = append(out, lt.Column(c))
		}
		if len(j.rcols) > 0 {
			var rt arrow.RecordBatch
			if t.b != nil {
				rt = takeRows(t.b, ridx)
			}
			for _, c := range j.rcols {
				if rt == nil {
					ty, err := ArrowType(j.right.Fields[c].Type)
					if err != nil {
						perr = err
						return false
					}
					out = append(out, array.MakeArrayOfNull(mem, ty, n))
					continue
				}
				out = append(out, rt.Column(c))
			}
		}
		if !yield(newBatch(j.out, out, n)) {
			more = false
		}
		return more
	})
	if err == nil {
		err = perr
	}
	return more, err
}
