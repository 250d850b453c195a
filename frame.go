package spindle

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/internal/frame"
)

// Frame is a lazy table of named, typed columns, run by Spindle's columnar engine
// (Apache Arrow batches, vectorized aggregation): Spark's DataFrame. Operations
// return new frames; actions ([Frame.Show], [Frame.Collect], [Frame.Count],
// [Frame.SaveAsParquet]) run them. A frame's plan is data (column names,
// expressions, input splits), so it ships to executors as it is: frame jobs need no
// [Register]. A mistake in an operation (a missing column, a type that does not
// fit) is kept and returned by the first action, before any task runs.
type Frame struct {
	s   *Session
	p   *frame.Plan
	err error
}

// Schema describes a frame's columns.
type Schema = frame.Schema

// Field is one column of a [Schema]: its name and type (bool, int32, int64, float64,
// string, date32, timestamp[unit], decimal(p,s)).
type Field = frame.Field

// Decimal is an exact decimal value, as [Frame.Collect] returns decimal columns.
type Decimal = frame.Decimal

// Row is one row that [Frame.Collect] returns, a value per column in schema order:
// nil for null, bool, int32, int64, float64, string, time.Time (dates and
// timestamps, UTC) or [Decimal].
type Row []any

// Schema returns the frame's columns.
func (f Frame) Schema() *Schema {
	if f.p == nil {
		return &Schema{}
	}
	return f.p.Out
}

// Columns returns the frame's column names.
func (f Frame) Columns() []string { return f.Schema().Names() }

// Err returns the first mistake made building the frame, if any.
func (f Frame) Err() error { return f.err }

// then applies an operation unless an earlier one failed.
func (f Frame) then(op string, build func() (*frame.Plan, error)) Frame {
	if f.err != nil {
		return f
	}
	p, err := build()
	if err != nil {
		return Frame{s: f.s, p: f.p, err: fmt.Errorf("%s%s: %w", op, callSite(), err)}
	}
	return Frame{s: f.s, p: p}
}

// ReadParquet reads Parquet files into a frame whose schema is the files'. Paths
// are as for [ReadText]; every file must have the first one's columns. The files'
// footers are read now, on the driver: each split is a run of whole row groups with
// the HDFS hosts that hold it, a query reads only the columns it uses, and a
// filter on a column skips the row groups whose min/max statistics rule it out.
func ReadParquet(s *Session, paths ...string) Frame {
	site := callSite()
	type planned struct {
		Scan   *frame.ParquetScan `json:"scan"`
		Schema *frame.Schema      `json:"schema"`
	}
	ctx := s.g.Context()
	data, err := s.g.Fact(func() ([]byte, error) {
		scan, schema, err := frame.PlanParquet(ctx, s.g.FS(), paths, func(total int64) int64 {
			c := s.Conf()
			return hdfs.MaxSplitBytes(total, s.g.Slots(), c.Size("spindle.files.maxPartitionBytes"), c.Size("spindle.files.openCostInBytes"))
		})
		if err != nil {
			return nil, err
		}
		return json.Marshal(planned{scan, schema})
	})
	var pl planned
	if err == nil {
		err = json.Unmarshal(data, &pl)
	}
	if err != nil {
		return Frame{s: s, err: fmt.Errorf("ReadParquet %s%s: %w", strings.Join(paths, ","), site, err)}
	}
	return Frame{s: s, p: &frame.Plan{Op: frame.OpParquet, Site: site, Parquet: pl.Scan, Out: pl.Schema}}
}

// CSVOptions tune [ReadCSVFrame].
type CSVOptions struct {
	// NoHeader says the files have no header line: columns are then _c0, _c1, ...
	NoHeader bool
	// Schema gives the columns' names and types; without it they come from the
	// header, and each type is inferred from the first InferRows rows (1000 by
	// default) of the first file: int64, float64, bool or string.
	Schema    *Schema
	InferRows int
}

// ReadCSVFrame reads CSV files into a frame. Empty fields are null; a value that
// does not parse as its column's type fails the job naming the file, line and
// column.
func ReadCSVFrame(s *Session, opts CSVOptions, paths ...string) Frame {
	site := callSite()
	ctx := s.g.Context()
	schema := opts.Schema
	if schema == nil {
		rows := opts.InferRows
		if rows <= 0 {
			rows = 1000
		}
		data, err := s.g.Fact(func() ([]byte, error) {
			sc, err := frame.InferCSV(ctx, s.g.FS(), paths, !opts.NoHeader, rows)
			if err != nil {
				return nil, err
			}
			return json.Marshal(sc)
		})
		if err == nil {
			err = json.Unmarshal(data, &schema)
		}
		if err != nil {
			return Frame{s: s, err: fmt.Errorf("ReadCSVFrame %s%s: %w", strings.Join(paths, ","), site, err)}
		}
	}
	scan := &frame.CSVScan{Paths: paths, Header: !opts.NoHeader, Schema: schema}
	return Frame{s: s, p: &frame.Plan{Op: frame.OpCSV, Site: site, CSV: scan, Out: schema}}
}

// Select keeps the given columns, in order: names, or expressions ([Col], [Lit],
// arithmetic, comparisons) named with [Column.As].
func (f Frame) Select(cols ...any) Frame {
	return f.then("Select", func() (*frame.Plan, error) {
		exprs := make([]*frame.Expr, len(cols))
		for i, c := range cols {
			col, err := columnOf(c)
			if err != nil {
				return nil, err
			}
			exprs[i] = col.e
		}
		return frame.NewProject(callSite(), f.p, exprs)
	})
}

// Filter keeps the rows for which cond is true (not false, not null).
func (f Frame) Filter(cond Column) Frame {
	return f.then("Filter", func() (*frame.Plan, error) {
		if cond.err != nil {
			return nil, cond.err
		}
		return frame.NewFilter(callSite(), f.p, cond.e)
	})
}

// Where is Filter.
func (f Frame) Where(cond Column) Frame { return f.Filter(cond) }

// WithColumn adds the column name computed by c, or replaces the column of that name.
func (f Frame) WithColumn(name string, c Column) Frame {
	return f.then("WithColumn", func() (*frame.Plan, error) {
		if c.err != nil {
			return nil, c.err
		}
		return frame.NewWithColumn(callSite(), f.p, name, c.e)
	})
}

// Limit keeps the first n rows, in partition order.
func (f Frame) Limit(n int) Frame {
	return f.then("Limit", func() (*frame.Plan, error) { return frame.NewLimit(callSite(), f.p, int64(n)) })
}

// Distinct keeps one of each distinct row.
func (f Frame) Distinct() Frame {
	return f.then("Distinct", func() (*frame.Plan, error) { return frame.NewDistinct(callSite(), f.p) })
}

// SortOrder is a column to order by and its direction; see [Asc] and [Desc].
type SortOrder struct {
	col  string
	desc bool
}

// Asc orders by a column ascending, nulls first.
func Asc(col string) SortOrder { return SortOrder{col: col} }

// Desc orders by a column descending, nulls last.
func Desc(col string) SortOrder { return SortOrder{col: col, desc: true} }

// OrderBy sorts the rows by columns: names (ascending) or [Asc]/[Desc]. The driver
// samples the keys to cut the partitions into ranges, so the result is sorted across
// partitions, as Spark's orderBy is.
func (f Frame) OrderBy(cols ...any) Frame {
	return f.then("OrderBy", func() (*frame.Plan, error) {
		keys := make([]frame.SortKey, len(cols))
		for i, c := range cols {
			switch c := c.(type) {
			case string:
				keys[i] = frame.SortKey{Col: c}
			case SortOrder:
				keys[i] = frame.SortKey{Col: c.col, Desc: c.desc}
			default:
				return nil, fmt.Errorf("order by %v: want a column name or Asc/Desc", c)
			}
		}
		return frame.NewSort(callSite(), f.p, keys)
	})
}
