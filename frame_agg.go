package spindle

import (
	"fmt"

	"github.com/spindle-engine/spindle/internal/frame"
)

// AggColumn is an aggregate of a grouping, made from a column: Col("revenue").Sum().
type AggColumn struct {
	a   frame.Agg
	err error
}

func (c Column) agg(fn string) AggColumn {
	if c.err != nil {
		return AggColumn{err: c.err}
	}
	if c.e.Kind != frame.KCol {
		return AggColumn{err: fmt.Errorf("%s(%s): aggregate a column by name; compute %s with WithColumn first", fn, c, c)}
	}
	return AggColumn{a: frame.Agg{Func: fn, Col: c.e.Name}}
}

// Sum adds a numeric column's values per group: int64 for integers, float64 for
// floats, and decimal(p+10,s) for decimal(p,s), summed exactly. Nulls are skipped; a
// group without values sums to null.
func (c Column) Sum() AggColumn { return c.agg("sum") }

// Count counts a column's non-null values per group.
func (c Column) Count() AggColumn { return c.agg("count") }

// Min is a column's least value per group.
func (c Column) Min() AggColumn { return c.agg("min") }

// Max is a column's greatest value per group.
func (c Column) Max() AggColumn { return c.agg("max") }

// Avg is a numeric column's mean per group, a float64.
func (c Column) Avg() AggColumn { return c.agg("avg") }

// CountDistinct counts a column's distinct non-null values per group.
func (c Column) CountDistinct() AggColumn { return c.agg("count_distinct") }

// CountRows counts the rows of each group: count(1).
func CountRows() AggColumn { return AggColumn{a: frame.Agg{Func: "count_all"}} }

// As names the aggregate's column; by default it is Spark's name, e.g. sum(revenue).
func (a AggColumn) As(name string) AggColumn {
	a.a.Name = name
	return a
}

// GroupedFrame is a frame grouped by columns, waiting for its aggregates.
type GroupedFrame struct {
	f    Frame
	keys []string
	site string
}

// GroupBy groups the rows by columns; without columns the whole frame is one group.
// Aggregation is hash-based and in two phases: each task aggregates its input
// partially before the shuffle, and the reduce tasks merge the partial results.
func (f Frame) GroupBy(cols ...string) GroupedFrame {
	return GroupedFrame{f: f, keys: cols, site: callSite()}
}

// Agg computes the aggregates per group: the grouping columns, then one column per
// aggregate.
func (g GroupedFrame) Agg(aggs ...AggColumn) Frame {
	f := g.f
	if f.err != nil {
		return f
	}
	specs := make([]frame.Agg, len(aggs))
	for i, a := range aggs {
		if a.err != nil {
			return Frame{s: f.s, p: f.p, err: fmt.Errorf("Agg%s: %w", g.site, a.err)}
		}
		specs[i] = a.a
	}
	p, err := frame.NewAggregate(g.site, f.p, g.keys, specs)
	if err != nil {
		return Frame{s: f.s, p: f.p, err: fmt.Errorf("GroupBy%s: %w", g.site, err)}
	}
	return Frame{s: f.s, p: p}
}

func (g GroupedFrame) each(fn string, cols []string) Frame {
	aggs := make([]AggColumn, len(cols))
	for i, c := range cols {
		aggs[i] = Col(c).agg(fn)
	}
	return g.Agg(aggs...)
}

// Sum sums each column per group: GroupBy("region").Sum("revenue").
func (g GroupedFrame) Sum(cols ...string) Frame { return g.each("sum", cols) }

// Min is each column's least value per group.
func (g GroupedFrame) Min(cols ...string) Frame { return g.each("min", cols) }

// Max is each column's greatest value per group.
func (g GroupedFrame) Max(cols ...string) Frame { return g.each("max", cols) }

// Avg is each column's mean per group.
func (g GroupedFrame) Avg(cols ...string) Frame { return g.each("avg", cols) }

// Count counts the rows of each group, in a column named count.
func (g GroupedFrame) Count() Frame { return g.Agg(CountRows().As("count")) }
