package frame

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/cespare/xxhash/v2"

	"github.com/spindle-engine/spindle/internal/engine"
)

// spillBuckets is how many files an operator that ran out of memory spreads its
// data over, to finish one at a time.
const spillBuckets = 16

// aggregate compiles a grouping: a partial aggregate in each map task, flushed into
// the shuffle whenever its memory is refused, then a final aggregate of the states
// per reduce partition.
func (c *compiler) aggregate(p *Plan) (node, error) {
	need := []string{}
	need = union(need, p.Keys...)
	for _, a := range p.Aggs {
		if a.Col != "" {
			need = union(need, a.Col)
		}
	}
	child, err := c.compile(p.In[0], need, nil)
	if err != nil {
		return node{}, err
	}
	ap, err := newAggPlan(child.out, p)
	if err != nil {
		return node{}, err
	}
	nparts := 1
	if len(p.Keys) > 0 {
		nparts = c.reduceParts(child.n)
	}
	stateKeys := make([]int, len(p.Keys))
	for i := range stateKeys {
		stateKeys[i] = i
	}
	sd := c.g.NewShuffle(child.n, nparts, false, func(tc *engine.TaskContext, part int, w engine.RecordWriter) error {
		in, err := seqOf(child.n, tc, part)
		if err != nil {
			return err
		}
		h, err := newHashAgg(ap.keys, ap.partial, ap.state, tc.Mem)
		if err != nil {
			return err
		}
		defer h.res.reset()
		emit := func() error {
			bs, err := h.flush()
			if err != nil {
				return err
			}
			for _, b := range bs {
				if err := writePartitioned(w, b, nparts, hashPartitioner(b, stateKeys, nparts)); err != nil {
					return err
				}
			}
			return nil
		}
		var werr error
		err = in(func(b arrow.RecordBatch) bool {
			// Refused memory flushes the partial groups early: the final aggregate
			// merges them with the rest.
			if !h.add(b) {
				werr = emit()
			}
			return werr == nil
		})
		if err == nil {
			err = werr
		}
		if err != nil {
			return err
		}
		return emit()
	})
	nd := c.newNode("GroupBy", p, nparts, nil, p.Out, func(tc *engine.TaskContext, part int) (Seq, error) {
		return func(yield func(arrow.RecordBatch) bool) error {
			return finalAggregate(tc, ap, stateKeys, func(f func(arrow.RecordBatch) bool) error { return readBatches(tc, sd, part, f) }, yield)
		}, nil
	})
	nd.n.Shuffles = []*engine.ShuffleDep{sd}
	return nd, nil
}

// finalAggregate merges partial states; when its memory is refused it spreads the
// groups so far over spill buckets by key hash, and at the end merges each bucket
// alone.
func finalAggregate(tc *engine.TaskContext, ap *aggPlan, keys []int, in Seq, yield func(arrow.RecordBatch) bool) error {
	h, err := newHashAgg(keys, ap.final, ap.state, tc.Mem)
	if err != nil {
		return err
	}
	defer h.res.reset()
	var buckets []*spillFile
	defer func() {
		for _, b := range buckets {
			b.remove()
		}
	}()
	spill := func() error {
		bs, err := h.flush()
		if err != nil {
			return err
		}
		if buckets == nil {
			for i := 0; i < spillBuckets; i++ {
				f, err := newSpillFile(localDirs(tc), fmt.Sprintf("agg-%d-%d", tc.Task.ID, i))
				if err != nil {
					return err
				}
				buckets = append(buckets, f)
			}
		}
		for _, b := range bs {
			if err := writeBuckets(buckets, b, keys); err != nil {
				return err
			}
		}
		return nil
	}
	var serr error
	if err := in(func(b arrow.RecordBatch) bool {
		if !h.add(b) {
			serr = spill()
		}
		return serr == nil
	}); err != nil {
		return err
	}
	if serr != nil {
		return serr
	}
	emit := func(h *hashAgg) (bool, error) {
		bs, err := h.flush()
		if err != nil {
			return false, err
		}
		for _, b := range bs {
			out, err := ap.finish(tc.Ctx, b)
			if err != nil {
				return false, err
			}
			if !yield(out) {
				return false, nil
			}
		}
		return true, nil
	}
	if buckets == nil {
		_, err := emit(h)
		return err
	}
	if err := spill(); err != nil {
		return err
	}
	for _, f := range buckets {
		n, err := f.finish()
		if err != nil {
			return err
		}
		tc.Metrics.SpillBytes += n
	}
	// Each bucket holds about 1/16 of the groups; it is merged with whatever
	// memory there is, since splitting it further would not shrink a hot key.
	for _, f := range buckets {
		hb, err := newHashAgg(keys, ap.final, ap.state, nil)
		if err != nil {
			return err
		}
		if err := f.read(func(b arrow.RecordBatch) bool { hb.add(b); return true }); err != nil {
			return err
		}
		if ok, err := emit(hb); err != nil || !ok {
			return err
		}
	}
	return nil
}

// writeBuckets spreads b's rows over the bucket files by a hash of the key columns,
// salted so that it is independent of the shuffle's partitioning.
func writeBuckets(buckets []*spillFile, b arrow.RecordBatch, keys []int) error {
	cols := make([]arrow.Array, len(keys))
	for i, k := range keys {
		cols[i] = b.Column(k)
	}
	var rk rowKeys
	rk.encode(cols, nil, int(b.NumRows()))
	rows := make([][]int32, len(buckets))
	var k []byte
	for r := 0; r < int(b.NumRows()); r++ {
		k = append(append(k[:0], rk.key(r)...), 0x5a)
		i := int(xxhash.Sum64(k) % uint64(len(buckets)))
		rows[i] = append(rows[i], int32(r))
	}
	for i, rs := range rows {
		if len(rs) == 0 {
			continue
		}
		if err := buckets[i].write(takeRows(b, int32Array(rs))); err != nil {
			return err
		}
	}
	return nil
}
