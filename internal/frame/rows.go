package frame

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// structField is a struct field mapped to a column: its `parquet:"name"` tag, else
// its name. A pointer field is nullable.
type structField struct {
	index []int
	name  string
	typ   string
	ptr   bool
}

var timeType = reflect.TypeOf(time.Time{})
var decimalType = reflect.TypeOf(Decimal{})

func structFields(t reflect.Type) ([]structField, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct", t)
	}
	var out []structField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tag := f.Tag.Get("parquet"); tag != "" {
			if tag == "-" {
				continue
			}
			name, _, _ = strings.Cut(tag, ",")
		}
		ft := f.Type
		ptr := ft.Kind() == reflect.Pointer
		if ptr {
			ft = ft.Elem()
		}
		var typ string
		switch {
		case ft == timeType:
			typ = "timestamp[us]"
		case ft == decimalType:
			return nil, fmt.Errorf("field %s: decimal fields are read only (As), not written", f.Name)
		case ft.Kind() == reflect.Bool:
			typ = TBool
		case ft.Kind() == reflect.Int32 || ft.Kind() == reflect.Int16 || ft.Kind() == reflect.Int8:
			typ = TInt32
		case ft.Kind() == reflect.Int64 || ft.Kind() == reflect.Int:
			typ = TInt64
		case ft.Kind() == reflect.Float64 || ft.Kind() == reflect.Float32:
			typ = TFloat64
		case ft.Kind() == reflect.String:
			typ = TString
		default:
			return nil, fmt.Errorf("field %s: type %s has no column type", f.Name, f.Type)
		}
		out = append(out, structField{index: f.Index, name: name, typ: typ, ptr: ptr})
	}
	return out, nil
}

// SchemaOf is the frame schema of struct type T's fields.
func SchemaOf[T any]() (*Schema, error) {
	fs, err := structFields(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	s := &Schema{}
	for _, f := range fs {
		s.Fields = append(s.Fields, Field{Name: f.name, Type: f.typ, Nullable: f.ptr})
	}
	return s, nil
}

// BatchesOf turns a sequence of structs into batches of SchemaOf[T].
func BatchesOf[T any](s *Schema, in func(yield func(T) bool) error) Seq {
	fs, _ := structFields(reflect.TypeFor[T]())
	return func(yield func(arrow.RecordBatch) bool) error {
		as := s.Arrow()
		b := array.NewRecordBuilder(mem, as)
		rows := 0
		stopped := false
		emit := func() bool {
			rec := b.NewRecordBatch()
			n := rows
			rows = 0
			return yield(newBatch(s, rec.Columns(), n))
		}
		err := in(func(t T) bool {
			v := reflect.ValueOf(&t).Elem()
			for i, f := range fs {
				fv := v.FieldByIndex(f.index)
				fb := b.Field(i)
				if f.ptr {
					if fv.IsNil() {
						fb.AppendNull()
						continue
					}
					fv = fv.Elem()
				}
				switch fb := fb.(type) {
				case *array.BooleanBuilder:
					fb.Append(fv.Bool())
				case *array.Int32Builder:
					fb.Append(int32(fv.Int()))
				case *array.Int64Builder:
					fb.Append(fv.Int())
				case *array.Float64Builder:
					fb.Append(fv.Float())
				case *array.StringBuilder:
					fb.Append(fv.String())
				case *array.TimestampBuilder:
					fb.Append(arrow.Timestamp(fv.Interface().(time.Time).UnixMicro()))
				}
			}
			rows++
			if rows == batchRows && !emit() {
				stopped = true
				return false
			}
			return true
		})
		if err == nil && rows > 0 && !stopped {
			emit()
		}
		return err
	}
}

// RowsAs turns batches of schema s into structs of type T, each field from the column
// of its name; a null leaves a field zero (a pointer nil). Every field must have a
// column.
func RowsAs[T any](s *Schema, in Seq) (func(yield func(T) bool) error, error) {
	fs, err := asFields(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	cols := make([]int, len(fs))
	for i, f := range fs {
		if cols[i] = s.Index(f.name); cols[i] < 0 {
			return nil, fmt.Errorf("%s: %w", reflect.TypeFor[T](), &MissingColumnError{Column: f.name, Have: s.Names()})
		}
	}
	return func(yield func(T) bool) error {
		var serr error
		err := in(func(b arrow.RecordBatch) bool {
			b = plainBatch(b)
			for r := 0; r < int(b.NumRows()); r++ {
				var t T
				v := reflect.ValueOf(&t).Elem()
				for i, f := range fs {
					val := Value(b.Column(cols[i]), r)
					if val == nil {
						continue
					}
					if serr = setField(v.FieldByIndex(f.index), val); serr != nil {
						serr = fmt.Errorf("column %q into field of %s: %w", f.name, reflect.TypeFor[T](), serr)
						return false
					}
				}
				if !yield(t) {
					return false
				}
			}
			return true
		})
		if err == nil {
			err = serr
		}
		return err
	}, nil
}

// asFields are T's fields for RowsAs, which also reads decimals.
func asFields(t reflect.Type) ([]structField, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct", t)
	}
	var out []structField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tag := f.Tag.Get("parquet"); tag != "" {
			if tag == "-" {
				continue
			}
			name, _, _ = strings.Cut(tag, ",")
		}
		out = append(out, structField{index: f.Index, name: name})
	}
	return out, nil
}

func setField(f reflect.Value, val any) error {
	if f.Kind() == reflect.Pointer {
		p := reflect.New(f.Type().Elem())
		if err := setField(p.Elem(), val); err != nil {
			return err
		}
		f.Set(p)
		return nil
	}
	rv := reflect.ValueOf(val)
	switch x := val.(type) {
	case Decimal:
		switch f.Kind() {
		case reflect.Float64, reflect.Float32:
			f.SetFloat(x.Float64())
			return nil
		case reflect.String:
			f.SetString(x.String())
			return nil
		}
		if f.Type() == decimalType {
			f.Set(rv)
			return nil
		}
		if f.Kind() == reflect.Int64 && x.Scale == 0 {
			f.SetInt(decimal128.New(x.Hi, x.Lo).BigInt().Int64())
			return nil
		}
	}
	if rv.Type().ConvertibleTo(f.Type()) && (rv.Kind() == f.Kind() || isNum(rv.Kind()) && isNum(f.Kind())) {
		f.Set(rv.Convert(f.Type()))
		return nil
	}
	return fmt.Errorf("a %T does not fit a %s", val, f.Type())
}

func isNum(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// FieldNames are the column names T's fields read (see RowsAs).
func FieldNames[T any]() ([]string, error) {
	fs, err := asFields(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.name
	}
	return out, nil
}
