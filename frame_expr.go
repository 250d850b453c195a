package spindle

import (
	"fmt"

	"github.com/spindle-engine/spindle/internal/frame"
)

// Column is a column expression of a [Frame]: a column by name ([Col]), a literal
// ([Lit]), or arithmetic, comparisons and logic over them. Methods that take
// another operand accept a Column or a Go value (Col("qty").Gt(3)).
type Column struct {
	e   *frame.Expr
	err error
}

// Col refers to a frame's column by name.
func Col(name string) Column { return Column{e: frame.Col(name)} }

// Lit is a constant: a bool, an integer, a float, a string, or nil (null).
func Lit(v any) Column {
	e, err := frame.LitOf(v)
	return Column{e: e, err: err}
}

// columnOf takes a Column, a column name (for Select) or a Go value (a literal).
func columnOf(v any) (Column, error) {
	var c Column
	switch x := v.(type) {
	case Column:
		c = x
	case string:
		c = Col(x)
	default:
		return Column{}, fmt.Errorf("%v (%T) is not a column", v, v)
	}
	return c, c.err
}

// operand takes a Column or a literal value.
func operand(v any) Column {
	if c, ok := v.(Column); ok {
		return c
	}
	return Lit(v)
}

func (c Column) call(fn string, others ...any) Column {
	args := []*frame.Expr{c.e}
	err := c.err
	for _, o := range others {
		oc := operand(o)
		if err == nil {
			err = oc.err
		}
		args = append(args, oc.e)
	}
	return Column{e: frame.Call(fn, args...), err: err}
}

// As names the column's result.
func (c Column) As(name string) Column { return Column{e: frame.Alias(c.e, name), err: c.err} }

// Add is c + o.
func (c Column) Add(o any) Column { return c.call("add", o) }

// Sub is c - o.
func (c Column) Sub(o any) Column { return c.call("sub", o) }

// Mul is c * o.
func (c Column) Mul(o any) Column { return c.call("mul", o) }

// Div is c / o as a float64; dividing by zero gives ±Inf or NaN, not null as in Spark.
func (c Column) Div(o any) Column { return c.call("div", o) }

// Eq is c = o; comparisons with null are null, which a filter drops.
func (c Column) Eq(o any) Column { return c.call("eq", o) }

// Ne is c != o.
func (c Column) Ne(o any) Column { return c.call("ne", o) }

// Lt is c < o.
func (c Column) Lt(o any) Column { return c.call("lt", o) }

// Le is c <= o.
func (c Column) Le(o any) Column { return c.call("le", o) }

// Gt is c > o.
func (c Column) Gt(o any) Column { return c.call("gt", o) }

// Ge is c >= o.
func (c Column) Ge(o any) Column { return c.call("ge", o) }

// And is c AND o (SQL's three-valued logic).
func (c Column) And(o any) Column { return c.call("and", o) }

// Or is c OR o.
func (c Column) Or(o any) Column { return c.call("or", o) }

// Not is NOT c.
func (c Column) Not() Column { return c.call("not") }

// IsNull is true where c is null.
func (c Column) IsNull() Column { return c.call("isnull") }

// IsNotNull is true where c is not null.
func (c Column) IsNotNull() Column { return c.call("isnotnull") }

// String renders the expression as Spark names it.
func (c Column) String() string {
	if c.e == nil {
		return ""
	}
	return c.e.String()
}
