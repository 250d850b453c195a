package csvrow

import (
	"reflect"
	"strconv"
	"time"
	"unsafe"
)

// Encoder formats values of struct type T as CSV records.
type Encoder[T any] struct {
	fields []field
	header []string
}

// NewEncoder lists T's columns; it fails if a field has no CSV form.
func NewEncoder[T any]() (*Encoder[T], error) {
	fields, err := fieldsOf(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	e := &Encoder[T]{fields: fields}
	for _, f := range fields {
		e.header = append(e.header, f.name)
	}
	return e, nil
}

// Header returns the column names, in field order. The caller must not modify it.
func (e *Encoder[T]) Header() []string { return e.header }

// Encode appends v's values to dst, in Header's order: floats in the shortest form
// that parses back to the same value, times in RFC 3339 with nanoseconds, nil
// pointers as "".
func (e *Encoder[T]) Encode(dst []string, v *T) []string {
	base := unsafe.Pointer(v)
	for i := range e.fields {
		f := &e.fields[i]
		p := unsafe.Add(base, f.off)
		if f.ptr {
			if p = *(*unsafe.Pointer)(p); p == nil {
				dst = append(dst, "")
				continue
			}
		}
		dst = append(dst, format(f, p))
	}
	return dst
}

func format(f *field, p unsafe.Pointer) string {
	switch f.kind {
	case kBool:
		return strconv.FormatBool(*(*bool)(p))
	case kInt:
		switch f.bits {
		case 8:
			return strconv.FormatInt(int64(*(*int8)(p)), 10)
		case 16:
			return strconv.FormatInt(int64(*(*int16)(p)), 10)
		case 32:
			return strconv.FormatInt(int64(*(*int32)(p)), 10)
		}
		return strconv.FormatInt(*(*int64)(p), 10)
	case kUint:
		switch f.bits {
		case 8:
			return strconv.FormatUint(uint64(*(*uint8)(p)), 10)
		case 16:
			return strconv.FormatUint(uint64(*(*uint16)(p)), 10)
		case 32:
			return strconv.FormatUint(uint64(*(*uint32)(p)), 10)
		}
		return strconv.FormatUint(*(*uint64)(p), 10)
	case kFloat:
		if f.bits == 32 {
			return strconv.FormatFloat(float64(*(*float32)(p)), 'g', -1, 32)
		}
		return strconv.FormatFloat(*(*float64)(p), 'g', -1, 64)
	case kTime:
		return (*time.Time)(p).Format(time.RFC3339Nano)
	}
	return *(*string)(p)
}
