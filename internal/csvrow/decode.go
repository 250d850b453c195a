package csvrow

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// Decoder parses CSV records into values of struct type T, by a header.
type Decoder[T any] struct {
	cols []decCol
}

type decCol struct {
	field
	index  int    // the record index of the field's column
	header string // the column's name as the header spells it
	intern interner
}

// NewDecoder maps header's columns to T's fields. Every field must find a column:
// one named like its csv tag, else like its Go name ignoring case (an exact match
// wins over a case-insensitive one). Columns no field wants are ignored.
func NewDecoder[T any](header []string) (*Decoder[T], error) {
	fields, err := fieldsOf(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = strings.TrimSpace(h)
	}
	if len(names) > 0 {
		names[0] = strings.TrimPrefix(names[0], "\ufeff") // a byte order mark
	}
	d := &Decoder[T]{}
	for _, f := range fields {
		i := columnOf(names, f)
		if i < 0 {
			return nil, &MissingColumnError{Field: f.path, Column: f.name, Header: header}
		}
		d.cols = append(d.cols, decCol{field: f, index: i, header: names[i]})
	}
	return d, nil
}

func columnOf(names []string, f field) int {
	for i, n := range names {
		if n == f.name {
			return i
		}
	}
	for i, n := range names {
		if strings.EqualFold(n, f.name) {
			return i
		}
	}
	return -1
}

var errMissing = errors.New("the record has no such column")

// Decode parses record into *dst, returning a *FieldError for the first value that
// does not parse. Numbers, bools and times may be surrounded by spaces; an empty one
// is an error unless its field is a pointer, which is then nil.
func (d *Decoder[T]) Decode(record []string, dst *T) error {
	base := unsafe.Pointer(dst)
	for i := range d.cols {
		c := &d.cols[i]
		if c.index >= len(record) {
			return &FieldError{Column: c.header, Index: c.index, Err: errMissing}
		}
		s := record[c.index]
		if err := c.set(unsafe.Add(base, c.off), s); err != nil {
			return &FieldError{Column: c.header, Index: c.index, Value: s, Err: err}
		}
	}
	return nil
}

// set parses s into the field at p.
func (f *field) set(p unsafe.Pointer, s string) error {
	if f.kind != kString {
		s = strings.TrimSpace(s)
	}
	if f.ptr {
		if s == "" {
			*(*unsafe.Pointer)(p) = nil
			return nil
		}
		v := reflect.New(f.typ.Elem()).UnsafePointer()
		if err := parseInto(f, v, s); err != nil {
			return err
		}
		*(*unsafe.Pointer)(p) = v
		return nil
	}
	return parseInto(f, p, s)
}

func parseInto(f *field, p unsafe.Pointer, s string) error {
	switch f.kind {
	case kString:
		*(*string)(p) = s
	case kBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		*(*bool)(p) = b
	case kInt:
		x, err := strconv.ParseInt(s, 10, f.bits)
		if err != nil {
			return err
		}
		switch f.bits {
		case 8:
			*(*int8)(p) = int8(x)
		case 16:
			*(*int16)(p) = int16(x)
		case 32:
			*(*int32)(p) = int32(x)
		default:
			*(*int64)(p) = x
		}
	case kUint:
		x, err := strconv.ParseUint(s, 10, f.bits)
		if err != nil {
			return err
		}
		switch f.bits {
		case 8:
			*(*uint8)(p) = uint8(x)
		case 16:
			*(*uint16)(p) = uint16(x)
		case 32:
			*(*uint32)(p) = uint32(x)
		default:
			*(*uint64)(p) = x
		}
	case kFloat:
		x, err := strconv.ParseFloat(s, f.bits)
		if err != nil {
			return err
		}
		if f.bits == 32 {
			*(*float32)(p) = float32(x)
		} else {
			*(*float64)(p) = x
		}
	case kTime:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return err
		}
		*(*time.Time)(p) = t
	}
	return nil
}
