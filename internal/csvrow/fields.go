// Package csvrow maps CSV records to struct values and back, by header name.
//
// A struct field's column is its `csv:"name"` tag, else its name (matched
// case-insensitively); `csv:"-"` and unexported fields are left out, and embedded
// structs contribute their fields. Fields may be strings, bools, integers, floats,
// time.Time (RFC 3339) and pointers to those; a pointer field is nil for an empty
// value and an empty value for nil.
package csvrow

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

type kind uint8

const (
	kString kind = iota
	kBool
	kInt
	kUint
	kFloat
	kTime
)

// field is one column's struct field: where it lives in T and how to parse it.
type field struct {
	name   string // the column name: the tag, or the Go field name
	tagged bool   // name came from a csv tag
	path   string // for errors, e.g. "Sale.Amount"
	off    uintptr
	kind   kind
	bits   int  // int, uint and float sizes
	ptr    bool // the field is a pointer to the kind
	typ    reflect.Type
}

// fieldsOf lists the columns of struct type t in field order.
func fieldsOf(t reflect.Type) ([]field, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("csvrow: %v is not a struct", t)
	}
	var out []field
	if err := appendFields(&out, t, 0, t.Name()); err != nil {
		return nil, err
	}
	return out, nil
}

func appendFields(out *[]field, t reflect.Type, base uintptr, path string) error {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("csv")
		if tag == "-" || !sf.IsExported() {
			continue
		}
		p := path + "." + sf.Name
		if sf.Anonymous && tag == "" && sf.Type.Kind() == reflect.Struct && sf.Type != timeType {
			if err := appendFields(out, sf.Type, base+sf.Offset, p); err != nil {
				return err
			}
			continue
		}
		f := field{name: sf.Name, path: p, off: base + sf.Offset, typ: sf.Type}
		if tag != "" {
			f.name, f.tagged = tag, true
		}
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			f.ptr, ft = true, ft.Elem()
		}
		switch {
		case ft == timeType:
			f.kind = kTime
		case ft.Kind() == reflect.String:
			f.kind = kString
		case ft.Kind() == reflect.Bool:
			f.kind = kBool
		case ft.Kind() >= reflect.Int && ft.Kind() <= reflect.Int64:
			f.kind, f.bits = kInt, int(ft.Size()*8)
		case ft.Kind() >= reflect.Uint && ft.Kind() <= reflect.Uintptr:
			f.kind, f.bits = kUint, int(ft.Size()*8)
		case ft.Kind() == reflect.Float32 || ft.Kind() == reflect.Float64:
			f.kind, f.bits = kFloat, int(ft.Size()*8)
		default:
			return fmt.Errorf("csvrow: field %s: %v has no CSV form (tag it `csv:\"-\"`)", p, sf.Type)
		}
		*out = append(*out, f)
	}
	return nil
}

// MissingColumnError reports a struct field that no header column maps to.
type MissingColumnError struct {
	Field  string   // e.g. "Sale.Amount"
	Column string   // the column name the field wants
	Header []string // the header searched
}

func (e *MissingColumnError) Error() string {
	return fmt.Sprintf("csvrow: field %s wants column %q, which is not in the header [%s]",
		e.Field, e.Column, strings.Join(e.Header, ","))
}

// FieldError reports a value that does not parse into its field.
type FieldError struct {
	Column string // the header name
	Index  int    // the column's index in the record
	Value  string
	Err    error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("column %q (index %d): value %q: %v", e.Column, e.Index, e.Value, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }
