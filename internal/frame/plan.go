package frame

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spindle-engine/spindle/internal/engine"
)

// Plan is one operator of a frame's logical plan. Plans are immutable once made and
// are data, except for a Local source (see FromLocal), which only the process that
// made it can compute.
type Plan struct {
	Op Op `json:"op"`
	// Site is the user's call site that made the operator, for stage names; it is
	// shipped so that every process names the nodes alike.
	Site string  `json:"site,omitempty"`
	In   []*Plan `json:"in,omitempty"`

	Parquet *ParquetScan `json:"parquet,omitempty"`
	CSV     *CSVScan     `json:"csv,omitempty"`
	Exprs   []*Expr      `json:"exprs,omitempty"` // project: the output columns
	Cond    *Expr        `json:"cond,omitempty"`  // filter
	// Keys are an aggregate's grouping columns, or a join's columns (both sides).
	Keys []string  `json:"keys,omitempty"`
	Aggs []Agg     `json:"aggs,omitempty"`
	How  string    `json:"how,omitempty"` // join: inner, left
	Null bool      `json:"nullSafe,omitempty"`
	Sort []SortKey `json:"sort,omitempty"`
	N    int64     `json:"n,omitempty"` // limit
	Out  *Schema   `json:"schema"`      // the operator's output schema
	loc  *Local    `json:"-"`
}

// Op names an operator.
type Op string

// The operators.
const (
	OpParquet   Op = "parquet"
	OpCSV       Op = "csv"
	OpLocal     Op = "local"
	OpProject   Op = "project"
	OpFilter    Op = "filter"
	OpAggregate Op = "aggregate"
	OpJoin      Op = "join"
	OpSort      Op = "sort"
	OpLimit     Op = "limit"
)

// Agg is one aggregate of a grouping: Func over column Col, named Name.
type Agg struct {
	Func string `json:"f"` // sum, count, count_all, min, max, avg, count_distinct
	Col  string `json:"c,omitempty"`
	Name string `json:"name"`
}

// SortKey orders by a column; nulls come first ascending and last descending, as
// in Spark.
type SortKey struct {
	Col  string `json:"c"`
	Desc bool   `json:"desc,omitempty"`
}

// Local is a source that is not data: a row dataset's node and a function turning
// its partitions into batches. A plan holding one compiles only in the process that
// made it (or in a registered job's builder, which makes it again).
type Local struct {
	Node    *engine.Node
	Batches func(tc *engine.TaskContext, part int) (Seq, error)
}

// Shippable reports whether p is pure data, so that executors can compile it from
// its encoding alone.
func (p *Plan) Shippable() bool {
	if p.loc != nil {
		return false
	}
	for _, in := range p.In {
		if !in.Shippable() {
			return false
		}
	}
	return true
}

// Encode encodes a shippable plan.
func (p *Plan) Encode() ([]byte, error) {
	if !p.Shippable() {
		return nil, fmt.Errorf("the frame reads a row dataset, so its plan is not data")
	}
	return json.Marshal(p)
}

// Decode decodes an encoded plan.
func Decode(b []byte) (*Plan, error) {
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode frame plan: %w", err)
	}
	return &p, nil
}

// FromLocal makes a plan reading a row dataset's node, with the given schema.
func FromLocal(site string, schema *Schema, node *engine.Node, batches func(tc *engine.TaskContext, part int) (Seq, error)) *Plan {
	return &Plan{Op: OpLocal, Site: site, Out: schema, loc: &Local{Node: node, Batches: batches}}
}

// NewProject selects expressions as the output columns.
func NewProject(site string, in *Plan, exprs []*Expr) (*Plan, error) {
	out := &Schema{}
	seen := map[string]bool{}
	for _, e := range exprs {
		t, err := e.Type(in.Out)
		if err != nil {
			return nil, err
		}
		name := e.OutName()
		if seen[name] {
			return nil, fmt.Errorf("column %q is selected twice: rename one with As", name)
		}
		seen[name] = true
		out.Fields = append(out.Fields, Field{Name: name, Type: t, Nullable: true})
	}
	return &Plan{Op: OpProject, Site: site, In: []*Plan{in}, Exprs: exprs, Out: out}, nil
}

// NewWithColumn adds the column name computed by e, or replaces the column of that name.
func NewWithColumn(site string, in *Plan, name string, e *Expr) (*Plan, error) {
	var exprs []*Expr
	replaced := false
	for _, f := range in.Out.Fields {
		if f.Name == name {
			exprs = append(exprs, Alias(e, name))
			replaced = true
			continue
		}
		exprs = append(exprs, Col(f.Name))
	}
	if !replaced {
		exprs = append(exprs, Alias(e, name))
	}
	return NewProject(site, in, exprs)
}

// NewFilter keeps the rows for which cond is true.
func NewFilter(site string, in *Plan, cond *Expr) (*Plan, error) {
	t, err := cond.Type(in.Out)
	if err != nil {
		return nil, err
	}
	if t != TBool {
		return nil, fmt.Errorf("filter condition %s is %s, not bool", cond, t)
	}
	return &Plan{Op: OpFilter, Site: site, In: []*Plan{in}, Cond: cond, Out: in.Out}, nil
}

// NewLimit keeps the first n rows.
func NewLimit(site string, in *Plan, n int64) (*Plan, error) {
	if n < 0 {
		return nil, fmt.Errorf("limit %d is negative", n)
	}
	return &Plan{Op: OpLimit, Site: site, In: []*Plan{in}, N: n, Out: in.Out}, nil
}

// NewSort orders the rows by keys.
func NewSort(site string, in *Plan, keys []SortKey) (*Plan, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("order by: no columns")
	}
	for _, k := range keys {
		if _, err := in.Out.field(k.Col); err != nil {
			return nil, err
		}
	}
	return &Plan{Op: OpSort, Site: site, In: []*Plan{in}, Sort: keys, Out: in.Out}, nil
}

// NewDistinct keeps one of each distinct row.
func NewDistinct(site string, in *Plan) (*Plan, error) {
	return NewAggregate(site, in, in.Out.Names(), nil)
}

// aggType is the result type of an aggregate over a column of type t.
func aggType(f, t string) (string, error) {
	switch f {
	case "count", "count_all", "count_distinct":
		return TInt64, nil
	case "min", "max":
		return t, nil
	case "avg":
		if !isNumeric(t) {
			return "", fmt.Errorf("avg of a %s column", t)
		}
		return TFloat64, nil
	case "sum":
		switch {
		case t == TInt32 || t == TInt64:
			return TInt64, nil
		case t == TFloat64:
			return TFloat64, nil
		case isDecimal(t):
			_, s, _ := parseDecimal(t)
			p, _, _ := parseDecimal(t)
			return DecimalType(min(38, p+10), s), nil
		}
		return "", fmt.Errorf("sum of a %s column", t)
	}
	return "", fmt.Errorf("unknown aggregate %q", f)
}

// AggName is Spark's name for an aggregate's column: sum(revenue), count(1).
func AggName(f, col string) string {
	switch f {
	case "count_all":
		return "count(1)"
	case "count_distinct":
		return "count(DISTINCT " + col + ")"
	}
	return f + "(" + col + ")"
}

// NewAggregate groups by keys and computes aggs per group. Count-distinct
// aggregates become aggregates over distinct (keys, column) groups, joined back on
// the keys.
func NewAggregate(site string, in *Plan, keys []string, aggs []Agg) (*Plan, error) {
	out := &Schema{}
	seen := map[string]bool{}
	for _, k := range keys {
		f, err := in.Out.field(k)
		if err != nil {
			return nil, err
		}
		if seen[k] {
			return nil, fmt.Errorf("group by %q twice", k)
		}
		seen[k] = true
		out.Fields = append(out.Fields, Field{Name: k, Type: f.Type, Nullable: true})
	}
	distinct := false
	for i, a := range aggs {
		t := TInt64
		if a.Func != "count_all" {
			f, err := in.Out.field(a.Col)
			if err != nil {
				return nil, err
			}
			t = f.Type
		}
		rt, err := aggType(a.Func, t)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", AggName(a.Func, a.Col), err)
		}
		if a.Name == "" {
			aggs[i].Name = AggName(a.Func, a.Col)
		}
		if seen[aggs[i].Name] {
			return nil, fmt.Errorf("aggregate column %q twice: name one with As", aggs[i].Name)
		}
		seen[aggs[i].Name] = true
		out.Fields = append(out.Fields, Field{Name: aggs[i].Name, Type: rt, Nullable: true})
		distinct = distinct || a.Func == "count_distinct"
	}
	if distinct {
		return distinctAggregate(site, in, keys, aggs, out)
	}
	return &Plan{Op: OpAggregate, Site: site, In: []*Plan{in}, Keys: keys, Aggs: aggs, Out: out}, nil
}

// distinctAggregate computes count(DISTINCT c) as count(c) over the groups of
// (keys, c), and joins each such count and the plain aggregates on the keys, null
// keys matching.
func distinctAggregate(site string, in *Plan, keys []string, aggs []Agg, out *Schema) (*Plan, error) {
	var parts []*Plan
	var plain []Agg
	for _, a := range aggs {
		if a.Func != "count_distinct" {
			plain = append(plain, a)
			continue
		}
		if slices.Contains(keys, a.Col) {
			return nil, fmt.Errorf("count distinct of grouping column %q", a.Col)
		}
		inner, err := NewAggregate(site, in, append(slices.Clone(keys), a.Col), nil)
		if err != nil {
			return nil, err
		}
		p, err := NewAggregate(site, inner, keys, []Agg{{Func: "count", Col: a.Col, Name: a.Name}})
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	if len(plain) > 0 {
		p, err := NewAggregate(site, in, keys, plain)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	j := parts[0]
	for _, p := range parts[1:] {
		var err error
		if len(keys) == 0 {
			return nil, fmt.Errorf("count distinct with other aggregates needs grouping columns")
		}
		if j, err = NewJoin(site, j, p, keys, "inner", true); err != nil {
			return nil, err
		}
	}
	exprs := make([]*Expr, len(out.Fields))
	for i, f := range out.Fields {
		exprs[i] = Col(f.Name)
	}
	return NewProject(site, j, exprs)
}

// NewJoin joins left and right on columns of the same name in both: the output is the
// keys, then left's other columns, then right's. nullSafe makes null keys match.
func NewJoin(site string, left, right *Plan, on []string, how string, nullSafe bool) (*Plan, error) {
	switch how {
	case "inner", "left":
	default:
		return nil, fmt.Errorf("join type %q: want inner or left", how)
	}
	if len(on) == 0 {
		return nil, fmt.Errorf("join: no columns to join on")
	}
	out := &Schema{}
	for _, k := range on {
		lf, err := left.Out.field(k)
		if err != nil {
			return nil, fmt.Errorf("join left side: %w", err)
		}
		rf, err := right.Out.field(k)
		if err != nil {
			return nil, fmt.Errorf("join right side: %w", err)
		}
		if lf.Type != rf.Type {
			return nil, fmt.Errorf("join column %q is %s on the left and %s on the right", k, lf.Type, rf.Type)
		}
		out.Fields = append(out.Fields, lf)
	}
	names := map[string]bool{}
	for _, side := range []*Plan{left, right} {
		for _, f := range side.Out.Fields {
			if slices.Contains(on, f.Name) {
				continue
			}
			if names[f.Name] {
				return nil, fmt.Errorf("join: column %q is on both sides: rename one with As", f.Name)
			}
			names[f.Name] = true
			out.Fields = append(out.Fields, f)
		}
	}
	return &Plan{Op: OpJoin, Site: site, In: []*Plan{left, right}, Keys: on, How: how, Null: nullSafe, Out: out}, nil
}

// Describe renders the plan as a tree, for errors and debugging.
func (p *Plan) Describe() string {
	var b strings.Builder
	var walk func(p *Plan, depth int)
	walk = func(p *Plan, depth int) {
		fmt.Fprintf(&b, "%s%s %s\n", strings.Repeat("  ", depth), p.Op, strings.Join(p.Out.Names(), ","))
		for _, in := range p.In {
			walk(in, depth+1)
		}
	}
	walk(p, 0)
	return b.String()
}
