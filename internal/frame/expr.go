package frame

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Expr is a column expression as data: a column reference, a literal, a function
// of other expressions, or an alias naming one.
type Expr struct {
	Kind ExprKind `json:"k"`
	// Name is the column of a column reference, the function of a call, or the name
	// an alias gives.
	Name string   `json:"n,omitempty"`
	Lit  *Literal `json:"lit,omitempty"`
	Args []*Expr  `json:"args,omitempty"`
}

// ExprKind says what an Expr is.
type ExprKind string

// The kinds of expressions.
const (
	KCol   ExprKind = "col"
	KLit   ExprKind = "lit"
	KCall  ExprKind = "call"
	KAlias ExprKind = "as"
)

// Literal is a constant of one of the column types, or null.
type Literal struct {
	Type  string          `json:"t"` // a type name, or "null"
	Value json.RawMessage `json:"v,omitempty"`
}

// The functions of calls.
var binaryOps = map[string]string{
	"add": "+", "sub": "-", "mul": "*", "div": "/",
	"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
	"and": "AND", "or": "OR",
}

// Col refers to a column by name.
func Col(name string) *Expr { return &Expr{Kind: KCol, Name: name} }

// LitOf makes a literal of a Go value: bool, an integer, a float, a string, or nil.
func LitOf(v any) (*Expr, error) {
	var t string
	switch x := v.(type) {
	case nil:
		return &Expr{Kind: KLit, Lit: &Literal{Type: "null"}}, nil
	case bool:
		t = TBool
	case int:
		t, v = TInt64, int64(x)
	case int8, int16, int32, uint8, uint16:
		t = TInt32
	case int64, uint32:
		t = TInt64
	case float32, float64:
		t = TFloat64
	case string:
		t = TString
	default:
		return nil, fmt.Errorf("literal %v: unsupported type %T", v, v)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &Expr{Kind: KLit, Lit: &Literal{Type: t, Value: raw}}, nil
}

// Call applies a function to arguments.
func Call(fn string, args ...*Expr) *Expr { return &Expr{Kind: KCall, Name: fn, Args: args} }

// Alias names an expression's result.
func Alias(e *Expr, name string) *Expr { return &Expr{Kind: KAlias, Name: name, Args: []*Expr{e}} }

// String renders the expression as Spark names columns: the column's name, a
// literal's value, "(a + b)", "(NOT a)".
func (e *Expr) String() string {
	switch e.Kind {
	case KCol:
		return e.Name
	case KLit:
		if e.Lit.Type == "null" {
			return "NULL"
		}
		var s string
		if json.Unmarshal(e.Lit.Value, &s) == nil {
			return s
		}
		return string(e.Lit.Value)
	case KAlias:
		return e.Name
	}
	if op, ok := binaryOps[e.Name]; ok && len(e.Args) == 2 {
		return "(" + e.Args[0].String() + " " + op + " " + e.Args[1].String() + ")"
	}
	switch e.Name {
	case "not":
		return "(NOT " + e.Args[0].String() + ")"
	case "isnull":
		return "(" + e.Args[0].String() + " IS NULL)"
	case "isnotnull":
		return "(" + e.Args[0].String() + " IS NOT NULL)"
	case "neg":
		return "(- " + e.Args[0].String() + ")"
	}
	args := make([]string, len(e.Args))
	for i, a := range e.Args {
		args[i] = a.String()
	}
	return e.Name + "(" + strings.Join(args, ", ") + ")"
}

// Columns returns the column names e reads.
func (e *Expr) Columns(dst []string) []string {
	if e.Kind == KCol {
		return append(dst, e.Name)
	}
	for _, a := range e.Args {
		dst = a.Columns(dst)
	}
	return dst
}

// Type resolves e's result type over schema s, checking that its columns exist
// and its functions fit their arguments.
func (e *Expr) Type(s *Schema) (string, error) {
	switch e.Kind {
	case KCol:
		f, err := s.field(e.Name)
		return f.Type, err
	case KLit:
		if e.Lit.Type == "null" {
			return TInt32, nil // a bare null takes the narrowest type
		}
		return e.Lit.Type, nil
	case KAlias:
		return e.Args[0].Type(s)
	case KCall:
	default:
		return "", fmt.Errorf("expression kind %q", e.Kind)
	}
	ts := make([]string, len(e.Args))
	for i, a := range e.Args {
		t, err := a.Type(s)
		if err != nil {
			return "", err
		}
		ts[i] = t
	}
	arity := map[string]int{"not": 1, "isnull": 1, "isnotnull": 1, "neg": 1}
	want := 2
	if n, ok := arity[e.Name]; ok {
		want = n
	} else if _, ok := binaryOps[e.Name]; !ok {
		return "", fmt.Errorf("unknown function %q", e.Name)
	}
	if len(ts) != want {
		return "", fmt.Errorf("%s takes %d arguments, got %d", e.Name, want, len(ts))
	}
	switch e.Name {
	case "isnull", "isnotnull":
		return TBool, nil
	case "not", "and", "or":
		for _, t := range ts {
			if t != TBool {
				return "", fmt.Errorf("%s: %s is %s, not bool", e, e.Args[0], t)
			}
		}
		return TBool, nil
	case "neg":
		if !isNumeric(ts[0]) {
			return "", fmt.Errorf("%s: %s is not numeric", e, ts[0])
		}
		return ts[0], nil
	case "eq", "ne", "lt", "le", "gt", "ge":
		if _, err := commonType(ts[0], ts[1]); err != nil {
			return "", fmt.Errorf("%s: %w", e, err)
		}
		return TBool, nil
	}
	// Arithmetic.
	if !isNumeric(ts[0]) || !isNumeric(ts[1]) {
		return "", fmt.Errorf("%s: arithmetic on %s and %s", e, ts[0], ts[1])
	}
	if e.Name == "div" {
		return TFloat64, nil
	}
	return arithType(ts[0], ts[1]), nil
}

// arithType is the result of +, - and * on two numeric types: decimals and floats
// meet in float64, integers widen to int64 unless both are int32.
func arithType(a, b string) string {
	switch {
	case a == TFloat64 || b == TFloat64 || isDecimal(a) || isDecimal(b):
		if a == b && isDecimal(a) {
			return a
		}
		return TFloat64
	case a == TInt32 && b == TInt32:
		return TInt32
	}
	return TInt64
}

// commonType is the type two compared values meet in.
func commonType(a, b string) (string, error) {
	if a == b {
		return a, nil
	}
	if isNumeric(a) && isNumeric(b) {
		if a == TFloat64 || b == TFloat64 || isDecimal(a) || isDecimal(b) {
			return TFloat64, nil
		}
		return TInt64, nil
	}
	return "", fmt.Errorf("cannot compare %s with %s", a, b)
}

// Name is the column name e's result gets: an alias's, a column's own, or the
// expression's text.
func (e *Expr) OutName() string {
	if e.Kind == KAlias || e.Kind == KCol {
		return e.Name
	}
	return e.String()
}
