package frame

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/scalar"

	"github.com/spindle-engine/spindle/scheduler"
)

// computeNames are Arrow compute's functions for the calls.
var computeNames = map[string]string{
	"add": "add", "sub": "subtract", "mul": "multiply", "div": "divide",
	"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal",
	"and": "and_kleene", "or": "or_kleene", "not": "not", "isnull": "is_null", "isnotnull": "is_not_null", "neg": "negate",
}

// evaluator computes one expression over batches of a schema.
type evaluator struct {
	e   *Expr
	s   *Schema
	typ string
}

func newEvaluator(e *Expr, s *Schema) (*evaluator, error) {
	t, err := e.Type(s)
	if err != nil {
		return nil, err
	}
	return &evaluator{e: e, s: s, typ: t}, nil
}

// eval computes the expression over b as an array of b's length.
func (ev *evaluator) eval(ctx context.Context, b arrow.RecordBatch) (arrow.Array, error) {
	d, err := ev.datum(ctx, ev.e, b)
	if err != nil {
		return nil, err
	}
	switch d := d.(type) {
	case *compute.ArrayDatum:
		return d.MakeArray(), nil
	case *compute.ScalarDatum:
		return scalar.MakeArrayFromScalar(d.Value, int(b.NumRows()), mem)
	}
	return nil, fmt.Errorf("expression %s gave %s", ev.e, d.Kind())
}

func (ev *evaluator) datum(ctx context.Context, e *Expr, b arrow.RecordBatch) (compute.Datum, error) {
	switch e.Kind {
	case KCol:
		i := ev.s.Index(e.Name)
		if i < 0 {
			return nil, &MissingColumnError{Column: e.Name, Have: ev.s.Names()}
		}
		return compute.NewDatum(b.Column(i)), nil
	case KLit:
		sc, err := literalScalar(e.Lit)
		if err != nil {
			return nil, err
		}
		return compute.NewDatum(sc), nil
	case KAlias:
		return ev.datum(ctx, e.Args[0], b)
	}
	want := ""
	switch e.Name {
	case "eq", "ne", "lt", "le", "gt", "ge":
		t0, _ := e.Args[0].Type(ev.s)
		t1, _ := e.Args[1].Type(ev.s)
		want, _ = commonType(t0, t1)
	case "add", "sub", "mul", "neg":
		want, _ = e.Type(ev.s)
	case "div":
		want = TFloat64
	}
	args := make([]compute.Datum, len(e.Args))
	for i, a := range e.Args {
		d, err := ev.datum(ctx, a, b)
		if err != nil {
			return nil, err
		}
		if args[i], err = castDatum(ctx, d, want); err != nil {
			return nil, fmt.Errorf("%s: %w", e, err)
		}
	}
	out, err := compute.CallFunction(ctx, computeNames[e.Name], nil, args...)
	if err != nil {
		return nil, scheduler.NotRetriable(fmt.Errorf("%s: %w", e, err))
	}
	return out, nil
}

// castDatum casts d to type name want (when set), and decodes dictionaries, which
// Arrow's kernels do not take.
func castDatum(ctx context.Context, d compute.Datum, want string) (compute.Datum, error) {
	if ad, ok := d.(*compute.ArrayDatum); ok {
		a := ad.MakeArray()
		if p := plain(a); p != a {
			d = compute.NewDatum(p)
		}
	}
	if want == "" {
		return d, nil
	}
	t, err := ArrowType(want)
	if err != nil {
		return nil, err
	}
	var cur arrow.DataType
	switch d := d.(type) {
	case *compute.ArrayDatum:
		cur = d.Type()
	case *compute.ScalarDatum:
		cur = d.Type()
	}
	if arrow.TypeEqual(cur, t) {
		return d, nil
	}
	if sd, ok := d.(*compute.ScalarDatum); ok && !sd.Value.IsValid() {
		return compute.NewDatum(scalar.MakeNullScalar(t)), nil
	}
	return compute.CastDatum(ctx, d, compute.SafeCastOptions(t))
}

// literalScalar makes the scalar of a literal.
func literalScalar(l *Literal) (scalar.Scalar, error) {
	if l.Type == "null" {
		return scalar.MakeNullScalar(arrow.PrimitiveTypes.Int32), nil
	}
	var v any
	var err error
	switch l.Type {
	case TBool:
		var x bool
		err = json.Unmarshal(l.Value, &x)
		v = x
	case TInt32:
		var x int32
		err = json.Unmarshal(l.Value, &x)
		v = x
	case TInt64:
		var x int64
		err = json.Unmarshal(l.Value, &x)
		v = x
	case TFloat64:
		var x float64
		err = json.Unmarshal(l.Value, &x)
		v = x
	case TString:
		var x string
		err = json.Unmarshal(l.Value, &x)
		v = x
	default:
		return nil, fmt.Errorf("literal of type %s", l.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("literal %s: %w", l.Value, err)
	}
	return scalar.MakeScalar(v), nil
}

// selection returns the rows of a boolean mask that are true (null is false).
func selection(mask arrow.Array) []int32 {
	m := mask.(*array.Boolean)
	var idx []int32
	for i := 0; i < m.Len(); i++ {
		if m.IsValid(i) && m.Value(i) {
			idx = append(idx, int32(i))
		}
	}
	return idx
}

// filterBatch keeps b's rows where mask is true.
func filterBatch(ctx context.Context, b arrow.RecordBatch, mask arrow.Array) (arrow.RecordBatch, error) {
	m := mask.(*array.Boolean)
	if m.NullN() == 0 && m.Len() > 0 {
		// All-true masks are common after row-group skipping: keep b whole.
		all := true
		for i := 0; i < m.Len() && all; i++ {
			all = m.Value(i)
		}
		if all {
			return b, nil
		}
	}
	cols := make([]arrow.Array, b.NumCols())
	opts := compute.FilterOptions{NullSelection: compute.SelectionDropNulls}
	var n int
	for i, c := range b.Columns() {
		var err error
		if d, ok := c.(*array.Dictionary); ok {
			idx, err := compute.FilterArray(ctx, d.Indices(), mask, opts)
			if err != nil {
				return nil, err
			}
			cols[i] = array.NewDictionaryArray(d.DataType(), idx, d.Dictionary())
		} else if cols[i], err = compute.FilterArray(ctx, c, mask, opts); err != nil {
			return nil, err
		}
		n = cols[i].Len()
	}
	if b.NumCols() == 0 {
		n = len(selection(mask))
	}
	return array.NewRecordBatch(schemaOf(b.Schema(), cols), cols, int64(n)), nil
}
