package frame

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/internal/engine"
)

// Driver runs jobs: a sort samples its input through it before its shuffle. It is
// nil on executors, which never prepare shuffles. *engine.Driver is one.
type Driver interface {
	RunJob(ctx context.Context, final *engine.Node, parts []int, name string, action *engine.Action, result engine.ResultFunc, onResult func(part int, data []byte) error) error
	NewJobTag() string
}

// compiler turns a plan into engine nodes on one graph.
type compiler struct {
	g   *engine.Graph
	drv Driver
	// samples are the sorts' key samplers by shuffle id, for sample actions that
	// executors run.
	samples map[int]func(tc *engine.TaskContext, part, limit int) ([]byte, error)
}

// node is a compiled operator: its engine node and its output columns, which
// pruning may have narrowed from the plan's.
type node struct {
	n   *engine.Node
	out *Schema
}

// Compiled is a compiled plan's last node and its columns.
type Compiled struct {
	Node   *engine.Node
	Schema *Schema
}

// Compile makes p's engine nodes on g and returns the last. drv is the driver's
// (nil on an executor). Compiling the same plan on the same graph state gives the
// same nodes, which is what lets executors compile a shipped plan.
func Compile(g *engine.Graph, drv Driver, p *Plan) (*Compiled, error) {
	c := &compiler{g: g, drv: drv, samples: map[int]func(*engine.TaskContext, int, int) ([]byte, error){}}
	nd, err := c.compile(p, nil, nil)
	if err != nil {
		return nil, err
	}
	return &Compiled{Node: nd.n, Schema: nd.out}, nil
}

// seqOf computes partition part of a node as batches.
func seqOf(n *engine.Node, tc *engine.TaskContext, part int) (Seq, error) {
	v, err := n.Compute(tc, part)
	if err != nil {
		return nil, err
	}
	return v.(Seq), nil
}

// pruned is s narrowed to need (all when need is nil), in s's order.
func pruned(s *Schema, need []string) *Schema {
	if need == nil {
		return s
	}
	out := &Schema{}
	for _, f := range s.Fields {
		if slices.Contains(need, f.Name) {
			out.Fields = append(out.Fields, f)
		}
	}
	return out
}

func union(a []string, b ...string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// newNode adds a node whose compute is f, answering actions as a frame node.
func (c *compiler) newNode(name string, p *Plan, nparts int, parents []*engine.Node, out *Schema, f func(tc *engine.TaskContext, part int) (Seq, error)) node {
	n := c.g.NewNode(name+p.Site, max(1, nparts), parents, func(tc *engine.TaskContext, part int) (any, error) {
		s, err := f(tc, part)
		if err != nil {
			return nil, err
		}
		return s, nil
	})
	nd := node{n: n, out: out}
	n.Result = func(a *engine.Action) (engine.ResultFunc, error) { return c.result(nd, a) }
	return nd
}

// compile compiles p producing at least the columns need (nil: all); preds are
// conjuncts a scan may use to skip row groups.
func (c *compiler) compile(p *Plan, need []string, preds []*Expr) (node, error) {
	switch p.Op {
	case OpParquet:
		return c.parquet(p, need, preds), nil
	case OpCSV:
		return c.csv(p, need)
	case OpLocal:
		loc := p.loc
		if loc == nil {
			return node{}, fmt.Errorf("frame: a plan read from a row dataset cannot be shipped")
		}
		return c.newNode("FrameOf", p, loc.Node.NumParts, []*engine.Node{loc.Node}, p.Out, loc.Batches), nil
	case OpProject:
		return c.project(p, need)
	case OpFilter:
		return c.filter(p, need)
	case OpAggregate:
		return c.aggregate(p)
	case OpJoin:
		return c.join(p)
	case OpSort:
		return c.sort(p)
	case OpLimit:
		return c.limit(p, need)
	}
	return node{}, fmt.Errorf("frame: unknown operator %q", p.Op)
}

func (c *compiler) parquet(p *Plan, need []string, preds []*Expr) node {
	out := pruned(p.Out, need)
	scan := p.Parquet
	fss := c.g.FS()
	nd := c.newNode("ReadParquet", p, len(scan.Splits), nil, out, func(tc *engine.TaskContext, part int) (Seq, error) {
		return func(yield func(arrow.RecordBatch) bool) error {
			if part >= len(scan.Splits) {
				return nil
			}
			return scanParquet(tc.Ctx, fss, scan, scan.Splits[part], out, preds, nil, tc.Mem, func(b arrow.RecordBatch) bool {
				tc.Metrics.RecordsRead += b.NumRows()
				return yield(b)
			})
		}, nil
	})
	nd.n.Hosts = func(part int) []string {
		if part >= len(scan.Splits) {
			return nil
		}
		return scan.Splits[part].Hosts
	}
	return nd
}

func (c *compiler) csv(p *Plan, need []string) (node, error) {
	out := pruned(p.Out, need)
	sc := p.CSV
	splits, err := c.g.PlanInput(sc.Paths)
	nd := c.newNode("ReadCSVFrame", p, len(splits), nil, out, func(tc *engine.TaskContext, part int) (Seq, error) {
		return func(yield func(arrow.RecordBatch) bool) error {
			if part >= len(splits) {
				return nil
			}
			return scanCSV(tc, sc, splits[part], out, yield)
		}, nil
	})
	nd.n.Err = err
	nd.n.Hosts = engine.SplitHosts(splits)
	return nd, nil
}

func (c *compiler) project(p *Plan, need []string) (node, error) {
	var exprs []*Expr
	var childNeed []string
	for _, e := range p.Exprs {
		if need == nil || slices.Contains(need, e.OutName()) {
			exprs = append(exprs, e)
			childNeed = union(childNeed, e.Columns(nil)...)
		}
	}
	if childNeed == nil {
		childNeed = []string{}
	}
	child, err := c.compile(p.In[0], childNeed, nil)
	if err != nil {
		return node{}, err
	}
	out := pruned(p.Out, need)
	evs := make([]*evaluator, len(exprs))
	for i, e := range exprs {
		if evs[i], err = newEvaluator(e, child.out); err != nil {
			return node{}, err
		}
	}
	return c.newNode("Select", p, child.n.NumParts, []*engine.Node{child.n}, out, func(tc *engine.TaskContext, part int) (Seq, error) {
		in, err := seqOf(child.n, tc, part)
		if err != nil {
			return nil, err
		}
		return func(yield func(arrow.RecordBatch) bool) error {
			var eerr error
			err := in(func(b arrow.RecordBatch) bool {
				cols := make([]arrow.Array, len(evs))
				for i, ev := range evs {
					if cols[i], eerr = ev.eval(tc.Ctx, b); eerr != nil {
						return false
					}
				}
				return yield(newBatch(out, cols, int(b.NumRows())))
			})
			if err == nil {
				err = eerr
			}
			return err
		}, nil
	}), nil
}

// conjuncts splits a condition at its ANDs.
func conjuncts(e *Expr) []*Expr {
	if e.Kind == KCall && e.Name == "and" {
		return append(conjuncts(e.Args[0]), conjuncts(e.Args[1])...)
	}
	return []*Expr{e}
}

func (c *compiler) filter(p *Plan, need []string) (node, error) {
	childNeed := need
	if need != nil {
		childNeed = union(need, p.Cond.Columns(nil)...)
	}
	var preds []*Expr
	if p.In[0].Op == OpParquet {
		preds = conjuncts(p.Cond)
	}
	child, err := c.compile(p.In[0], childNeed, preds)
	if err != nil {
		return node{}, err
	}
	ev, err := newEvaluator(p.Cond, child.out)
	if err != nil {
		return node{}, err
	}
	out := pruned(p.Out, need)
	var keep []int
	for _, f := range out.Fields {
		keep = append(keep, child.out.Index(f.Name))
	}
	return c.newNode("Filter", p, child.n.NumParts, []*engine.Node{child.n}, out, func(tc *engine.TaskContext, part int) (Seq, error) {
		in, err := seqOf(child.n, tc, part)
		if err != nil {
			return nil, err
		}
		return func(yield func(arrow.RecordBatch) bool) error {
			var eerr error
			err := in(func(b arrow.RecordBatch) bool {
				var mask arrow.Array
				if mask, eerr = ev.eval(tc.Ctx, b); eerr != nil {
					return false
				}
				var fb arrow.RecordBatch
				if fb, eerr = filterBatch(tc.Ctx, b, mask); eerr != nil {
					return false
				}
				if fb.NumRows() == 0 {
					return true
				}
				cols := make([]arrow.Array, len(keep))
				for i, k := range keep {
					cols[i] = fb.Column(k)
				}
				return yield(newBatch(out, cols, int(fb.NumRows())))
			})
			if err == nil {
				err = eerr
			}
			return err
		}, nil
	}), nil
}

// reduceParts is the partition count of a shuffle's output: the default
// parallelism when set, else the input's.
func (c *compiler) reduceParts(inputs ...*engine.Node) int {
	if n := c.g.DefaultParallelism(); n > 0 {
		return n
	}
	n := 1
	for _, in := range inputs {
		n = max(n, in.NumParts)
	}
	return n
}

// readBatches reads a reduce partition of a batch shuffle.
func readBatches(tc *engine.TaskContext, sd *engine.ShuffleDep, part int, yield func(arrow.RecordBatch) bool) error {
	r, err := tc.ReadShuffle(sd, part)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		b, err := decodeBatch(r.Value())
		if err != nil {
			return fmt.Errorf("shuffle %d: %w", sd.ID, err)
		}
		tc.Metrics.RecordsRead += b.NumRows()
		if !yield(b) {
			return nil
		}
	}
	return r.Err()
}

// writePartitioned splits b's rows by partition and writes each part as a record.
func writePartitioned(w engine.RecordWriter, b arrow.RecordBatch, nparts int, partOf func(row int) int) error {
	if b.NumRows() == 0 {
		return nil
	}
	if nparts == 1 {
		data, err := encodeBatch(b)
		if err != nil {
			return err
		}
		return w.Write(0, nil, data)
	}
	rows := make([][]int32, nparts)
	for r := 0; r < int(b.NumRows()); r++ {
		p := partOf(r)
		rows[p] = append(rows[p], int32(r))
	}
	for p, rs := range rows {
		if len(rs) == 0 {
			continue
		}
		data, err := encodeBatch(takeRows(b, int32Array(rs)))
		if err != nil {
			return err
		}
		if err := w.Write(p, nil, data); err != nil {
			return err
		}
	}
	return nil
}

// hashPartitioner partitions b's rows by the hash of the key columns keys.
func hashPartitioner(b arrow.RecordBatch, keys []int, nparts int) func(int) int {
	cols := make([]arrow.Array, len(keys))
	for i, k := range keys {
		cols[i] = b.Column(k)
	}
	var rk rowKeys
	rk.encode(cols, nil, int(b.NumRows()))
	return func(r int) int { return hashPartition(rk.key(r), nparts) }
}

// localDirs are a task's spill directories.
func localDirs(tc *engine.TaskContext) []string { return tc.LocalDirs() }

var _ = hdfs.FileInfo{}
