package frame

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Memory is a task's execution memory; *memory.TaskMemory is one.
type Memory interface {
	Acquire(n int64) int64
	Release(n int64)
}

// reservation tracks what an operator holds against what it was granted, asking for
// more a megabyte or more at a time.
type reservation struct {
	m             Memory
	granted, used int64
}

// grow accounts n more bytes and reports whether they fit in what was granted.
func (r *reservation) grow(n int64) bool {
	r.used += n
	if r.used <= r.granted || r.m == nil {
		return true
	}
	want := max(r.used-r.granted, 1<<20, r.granted/2)
	g := r.m.Acquire(want)
	r.granted += g
	return r.used <= r.granted
}

// reset releases everything.
func (r *reservation) reset() {
	if r.m != nil && r.granted > 0 {
		r.m.Release(r.granted)
	}
	r.granted, r.used = 0, 0
}

// aggSpec is one accumulator: its kind over input column col (-1 for count(1)).
type aggSpec struct {
	kind    string
	col     int
	in, out string // input and state type names
}

// aggPlan is an aggregate's two phases: partial over the input rows, final over the
// partial states, and the finishing projection from states to results.
type aggPlan struct {
	keys    []int // key columns in the input
	partial []aggSpec
	final   []aggSpec // over the state schema
	state   *Schema   // keys then states: the shuffled schema
	out     *Schema
	aggs    []Agg
}

func newAggPlan(in *Schema, p *Plan) (*aggPlan, error) {
	ap := &aggPlan{state: &Schema{}, out: p.Out, aggs: p.Aggs}
	for _, k := range p.Keys {
		i := in.Index(k)
		if i < 0 {
			return nil, &MissingColumnError{Column: k, Have: in.Names()}
		}
		ap.keys = append(ap.keys, i)
		ap.state.Fields = append(ap.state.Fields, in.Fields[i])
	}
	add := func(kind string, col int, inType, outType string) {
		ap.partial = append(ap.partial, aggSpec{kind: kind, col: col, in: inType, out: outType})
		merge := kind
		if kind == accCount || kind == accCountAll {
			merge = accSumInt
		}
		sc := len(ap.state.Fields)
		ap.state.Fields = append(ap.state.Fields, Field{Name: fmt.Sprintf("_s%d", len(ap.partial)-1), Type: outType, Nullable: true})
		ap.final = append(ap.final, aggSpec{kind: merge, col: sc, in: outType, out: outType})
	}
	for _, a := range p.Aggs {
		col, inType := -1, TInt64
		if a.Func != "count_all" {
			col = in.Index(a.Col)
			if col < 0 {
				return nil, &MissingColumnError{Column: a.Col, Have: in.Names()}
			}
			inType = in.Fields[col].Type
		}
		rt, err := aggType(a.Func, inType)
		if err != nil {
			return nil, err
		}
		switch a.Func {
		case "sum":
			kind := accSumInt
			if inType == TFloat64 {
				kind = accSumFloat
			} else if isDecimal(inType) {
				kind = accSumDec
			}
			add(kind, col, inType, rt)
		case "count":
			add(accCount, col, inType, TInt64)
		case "count_all":
			add(accCountAll, col, inType, TInt64)
		case "min", "max":
			add(a.Func, col, inType, rt)
		case "avg":
			add(accSumFloat, col, inType, TFloat64)
			add(accCount, col, inType, TInt64)
		default:
			return nil, fmt.Errorf("aggregate %q cannot run in one pass", a.Func)
		}
	}
	return ap, nil
}

// hashAgg aggregates batches into groups held in memory.
type hashAgg struct {
	specs []aggSpec
	out   *Schema
	g     *grouper
	accs  []accum
	res   *reservation
}

func newHashAgg(keys []int, specs []aggSpec, out *Schema, m Memory) (*hashAgg, error) {
	h := &hashAgg{specs: specs, out: out, res: &reservation{m: m}}
	return h, h.reset(keys)
}

func (h *hashAgg) reset(keys []int) error {
	h.g = newGrouper(keys)
	h.accs = make([]accum, len(h.specs))
	for i, s := range h.specs {
		a, err := newAccum(s.kind, s.out)
		if err != nil {
			return err
		}
		h.accs[i] = a
		a.grow(h.g.n)
	}
	h.res.reset()
	return nil
}

// add folds b into the groups and reports whether the memory they take was granted.
func (h *hashAgg) add(b arrow.RecordBatch) bool {
	before := h.g.n
	gids, keyBytes := h.g.assign(b)
	var per int64
	for i, a := range h.accs {
		if h.g.n > before {
			a.grow(h.g.n)
		}
		per += a.groupBytes()
		var col arrow.Array
		if h.specs[i].col >= 0 {
			col = b.Column(h.specs[i].col)
		}
		a.update(gids, col)
	}
	return h.res.grow(keyBytes + per*int64(h.g.n-before))
}

// flush returns the groups as batches of the out schema and starts over.
func (h *hashAgg) flush() ([]arrow.RecordBatch, error) {
	n := h.g.n
	if n == 0 {
		return nil, h.reset(h.g.keyIdx)
	}
	cols, err := h.g.keys()
	if err != nil {
		return nil, err
	}
	for _, a := range h.accs {
		cols = append(cols, a.build(n))
	}
	whole := newBatch(h.out, cols, n)
	var out []arrow.RecordBatch
	for lo := 0; lo < n; lo += batchRows {
		out = append(out, whole.NewSlice(int64(lo), int64(min(n, lo+batchRows))))
	}
	return out, h.reset(h.g.keyIdx)
}

// finish turns a batch of merged states into the aggregate's results: averages
// divide their sums by their counts.
func (ap *aggPlan) finish(ctx context.Context, b arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, 0, len(ap.out.Fields))
	for i := range ap.keys {
		cols = append(cols, b.Column(i))
	}
	s := len(ap.keys)
	for _, a := range ap.aggs {
		if a.Func != "avg" {
			cols = append(cols, b.Column(s))
			s++
			continue
		}
		sum, cnt := b.Column(s).(*array.Float64), b.Column(s+1).(*array.Int64)
		s += 2
		// A group whose values are all null has no average.
		ab := array.NewFloat64Builder(mem)
		for r := 0; r < sum.Len(); r++ {
			if c := cnt.Value(r); c > 0 && sum.IsValid(r) {
				ab.Append(sum.Value(r) / float64(c))
			} else {
				ab.AppendNull()
			}
		}
		cols = append(cols, ab.NewArray())
	}
	return newBatch(ap.out, cols, int(b.NumRows())), nil
}
