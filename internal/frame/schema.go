package frame

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Field is a named, typed column of a frame's schema.
type Field struct {
	Name string `json:"name"`
	// Type is one of bool, int32, int64, float64, string, date32, timestamp[us] (or
	// another unit) and decimal(p,s).
	Type     string `json:"type"`
	Nullable bool   `json:"nullable,omitempty"`
}

// Schema is the columns of a frame, in order.
type Schema struct {
	Fields []Field `json:"fields"`
}

// Index returns the position of the column named name, or -1.
func (s *Schema) Index(name string) int {
	for i, f := range s.Fields {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// Names returns the column names.
func (s *Schema) Names() []string {
	out := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		out[i] = f.Name
	}
	return out
}

// MissingColumnError names a column that a frame does not have, and the columns it has.
type MissingColumnError struct {
	Column string
	Have   []string
	// File, when set, is the input file that lacks the column.
	File string
}

func (e *MissingColumnError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s: no column %q (columns: %s)", e.File, e.Column, strings.Join(e.Have, ", "))
	}
	return fmt.Sprintf("no column %q (columns: %s)", e.Column, strings.Join(e.Have, ", "))
}

// field returns the column named name or a MissingColumnError.
func (s *Schema) field(name string) (Field, error) {
	if i := s.Index(name); i >= 0 {
		return s.Fields[i], nil
	}
	return Field{}, &MissingColumnError{Column: name, Have: s.Names()}
}

// Arrow returns the schema as Arrow's.
func (s *Schema) Arrow() *arrow.Schema {
	fs := make([]arrow.Field, len(s.Fields))
	for i, f := range s.Fields {
		t, err := ArrowType(f.Type)
		if err != nil {
			panic(err) // schemas are built from known types only
		}
		fs[i] = arrow.Field{Name: f.Name, Type: t, Nullable: true}
	}
	return arrow.NewSchema(fs, nil)
}

// Type names of the supported column types.
const (
	TBool    = "bool"
	TInt32   = "int32"
	TInt64   = "int64"
	TFloat64 = "float64"
	TString  = "string"
	TDate32  = "date32"
)

// ArrowType returns the Arrow type of a type name.
func ArrowType(t string) (arrow.DataType, error) {
	switch t {
	case TBool:
		return arrow.FixedWidthTypes.Boolean, nil
	case TInt32:
		return arrow.PrimitiveTypes.Int32, nil
	case TInt64:
		return arrow.PrimitiveTypes.Int64, nil
	case TFloat64:
		return arrow.PrimitiveTypes.Float64, nil
	case TString:
		return arrow.BinaryTypes.String, nil
	case TDate32:
		return arrow.FixedWidthTypes.Date32, nil
	}
	if unit, ok := strings.CutPrefix(t, "timestamp["); ok {
		unit = strings.TrimSuffix(unit, "]")
		for _, u := range []arrow.TimeUnit{arrow.Second, arrow.Millisecond, arrow.Microsecond, arrow.Nanosecond} {
			if u.String() == unit {
				return &arrow.TimestampType{Unit: u, TimeZone: "UTC"}, nil
			}
		}
	}
	if p, s, ok := parseDecimal(t); ok {
		return &arrow.Decimal128Type{Precision: p, Scale: s}, nil
	}
	return nil, fmt.Errorf("unsupported column type %q", t)
}

func parseDecimal(t string) (p, s int32, ok bool) {
	inner, ok := strings.CutPrefix(t, "decimal(")
	if !ok {
		return 0, 0, false
	}
	ps, ss, ok := strings.Cut(strings.TrimSuffix(inner, ")"), ",")
	if !ok {
		return 0, 0, false
	}
	pi, err1 := strconv.Atoi(ps)
	si, err2 := strconv.Atoi(ss)
	if err1 != nil || err2 != nil || pi < 1 || pi > 38 || si < 0 || si > pi {
		return 0, 0, false
	}
	return int32(pi), int32(si), true
}

// DecimalType names decimal(p,s).
func DecimalType(p, s int32) string { return fmt.Sprintf("decimal(%d,%d)", p, s) }

// TypeName names an Arrow type, reading dictionaries as their values; ok is false
// for types frames do not support.
func TypeName(t arrow.DataType) (string, bool) {
	switch t := t.(type) {
	case *arrow.DictionaryType:
		return TypeName(t.ValueType)
	case *arrow.BooleanType:
		return TBool, true
	case *arrow.Int32Type:
		return TInt32, true
	case *arrow.Int64Type:
		return TInt64, true
	case *arrow.Float64Type:
		return TFloat64, true
	case *arrow.StringType:
		return TString, true
	case *arrow.Date32Type:
		return TDate32, true
	case *arrow.TimestampType:
		return "timestamp[" + t.Unit.String() + "]", true
	case *arrow.Decimal128Type:
		return DecimalType(t.Precision, t.Scale), true
	}
	return "", false
}

// widen is the type an unsupported input type is read as, if any: narrower integers
// as int32, unsigned 32-bit as int64, float32 as float64, large strings as strings.
func widen(t arrow.DataType) (arrow.DataType, bool) {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.UINT8, arrow.UINT16:
		return arrow.PrimitiveTypes.Int32, true
	case arrow.UINT32:
		return arrow.PrimitiveTypes.Int64, true
	case arrow.FLOAT32:
		return arrow.PrimitiveTypes.Float64, true
	case arrow.LARGE_STRING:
		return arrow.BinaryTypes.String, true
	case arrow.DECIMAL64, arrow.DECIMAL32:
		d := t.(arrow.DecimalType)
		return &arrow.Decimal128Type{Precision: d.GetPrecision(), Scale: d.GetScale()}, true
	}
	return nil, false
}

func isNumeric(t string) bool {
	return t == TInt32 || t == TInt64 || t == TFloat64 || strings.HasPrefix(t, "decimal(")
}

func isDecimal(t string) bool { return strings.HasPrefix(t, "decimal(") }
