package spindle

import (
	"fmt"
	"reflect"
	"strconv"
	"unsafe"
)

// appendFunc appends the text form of the value at p.
type appendFunc func(dst []byte, p unsafe.Pointer) []byte

// textFormat resolves once how SaveAsText writes a T: what fmt.Print writes (a KV as
// "key<TAB>value"), without fmt for strings, byte slices, numbers, bools and the
// pairs of this package made of them. Other types, and types with their own String,
// Error or Format method, go through fmt.
func textFormat[T any]() appendFunc {
	t := reflect.TypeFor[T]()
	if t == reflect.TypeFor[[]byte]() {
		// A line of raw bytes; inside a pair, fmt's form ([1 2 3]) stands.
		return func(dst []byte, p unsafe.Pointer) []byte { return append(dst, *(*[]byte)(p)...) }
	}
	return formatterOf(t)
}

// The pairs' text forms, known by these methods so that their own String methods,
// which fmt would call, are written without fmt.
type (
	kvText     interface{ kvText() }
	pairText   interface{ pairText() }
	optionText interface{ optionText() }
)

func (KV[K, V]) kvText()      {}
func (Pair[A, B]) pairText()  {}
func (Option[T]) optionText() {}

var (
	stringerType  = reflect.TypeFor[fmt.Stringer]()
	errorType     = reflect.TypeFor[error]()
	formatterType = reflect.TypeFor[fmt.Formatter]()
)

func formatterOf(t reflect.Type) appendFunc {
	switch {
	case t.Implements(reflect.TypeFor[kvText]()):
		key, val := formatterOf(t.Field(0).Type), formatterOf(t.Field(1).Type)
		off := t.Field(1).Offset
		return func(dst []byte, p unsafe.Pointer) []byte {
			dst = key(dst, p)
			dst = append(dst, '\t')
			return val(dst, unsafe.Add(p, off))
		}
	case t.Implements(reflect.TypeFor[pairText]()):
		first, second := formatterOf(t.Field(0).Type), formatterOf(t.Field(1).Type)
		off := t.Field(1).Offset
		return func(dst []byte, p unsafe.Pointer) []byte {
			dst = append(dst, '(')
			dst = first(dst, p)
			dst = append(dst, ',')
			dst = second(dst, unsafe.Add(p, off))
			return append(dst, ')')
		}
	case t.Implements(reflect.TypeFor[optionText]()):
		val := formatterOf(t.Field(0).Type)
		valid := t.Field(1).Offset
		return func(dst []byte, p unsafe.Pointer) []byte {
			if !*(*bool)(unsafe.Add(p, valid)) {
				return append(dst, "null"...)
			}
			return val(dst, p)
		}
	case t.Implements(stringerType) || t.Implements(errorType) || t.Implements(formatterType):
		return fmtFormatter(t)
	}
	switch t.Kind() {
	case reflect.String:
		return func(dst []byte, p unsafe.Pointer) []byte { return append(dst, *(*string)(p)...) }
	case reflect.Bool:
		return func(dst []byte, p unsafe.Pointer) []byte { return strconv.AppendBool(dst, *(*bool)(p)) }
	case reflect.Int:
		return func(dst []byte, p unsafe.Pointer) []byte { return strconv.AppendInt(dst, int64(*(*int)(p)), 10) }
	case reflect.Int8:
		return func(dst []byte, p unsafe.Pointer) []byte { return strconv.AppendInt(dst, int64(*(*int8)(p)), 10) }
	case reflect.Int16:
		return func(dst []byte, p unsafe.Pointer) []byte { return strconv.AppendInt(dst, int64(*(*int16)(p)), 10) }
	case reflect.Int32:
		return func(dst []byte, p unsafe.Pointer) []byte { return strconv.AppendInt(dst, int64(*(*int32)(p)), 10) }
	case reflect.Int64:
		return func(dst []byte, p unsafe.Pointer) []byte { return strconv.AppendInt(dst, *(*int64)(p), 10) }
	case reflect.Uint:
		return func(dst []byte, p unsafe.Pointer) []byte { return strconv.AppendUint(dst, uint64(*(*uint)(p)), 10) }
	case reflect.Uint16:
		return func(dst []byte, p unsafe.Pointer) []byte { return strconv.AppendUint(dst, uint64(*(*uint16)(p)), 10) }
	case reflect.Uint32:
		return func(dst []byte, p unsafe.Pointer) []byte { return strconv.AppendUint(dst, uint64(*(*uint32)(p)), 10) }
	case reflect.Uint64:
		return func(dst []byte, p unsafe.Pointer) []byte { return strconv.AppendUint(dst, *(*uint64)(p), 10) }
	case reflect.Float32:
		return func(dst []byte, p unsafe.Pointer) []byte {
			return strconv.AppendFloat(dst, float64(*(*float32)(p)), 'g', -1, 32)
		}
	case reflect.Float64:
		return func(dst []byte, p unsafe.Pointer) []byte {
			return strconv.AppendFloat(dst, *(*float64)(p), 'g', -1, 64)
		}
	}
	return fmtFormatter(t)
}

// fmtFormatter formats through fmt, as fmt.Print would.
func fmtFormatter(t reflect.Type) appendFunc {
	return func(dst []byte, p unsafe.Pointer) []byte {
		return fmt.Append(dst, reflect.NewAt(t, p).Elem().Interface())
	}
}
