package codec

import (
	"encoding"
	"reflect"
	"time"

	"google.golang.org/protobuf/proto"
)

// UnsupportedTypeError reports a type that has no codec, and where in it the
// offending part sits.
type UnsupportedTypeError struct {
	Type   reflect.Type // the type a codec was asked for
	Path   string       // the offending part, e.g. "main.Sale.Tags" or "main.Sale.Items[]"
	Reason string       // e.g. "chan int is not encodable"
}

func (e *UnsupportedTypeError) Error() string {
	if e.Path == e.Type.String() {
		return "codec: " + e.Reason
	}
	return "codec: " + e.Path + ": " + e.Reason
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	protoMessageType  = reflect.TypeFor[proto.Message]()
	binaryMarshaler   = reflect.TypeFor[encoding.BinaryMarshaler]()
	binaryUnmarshaler = reflect.TypeFor[encoding.BinaryUnmarshaler]()
)

// special says how a type that bypasses the kind-based encoding is encoded.
type special int

const (
	notSpecial special = iota
	specialTime
	specialProto     // a pointer type implementing proto.Message
	specialMarshaler // a non-pointer type whose value or pointer implements BinaryMarshaler and whose pointer implements BinaryUnmarshaler
)

func specialOf(t reflect.Type) special {
	switch {
	case t == timeType:
		return specialTime
	case t.Kind() == reflect.Pointer && t.Implements(protoMessageType):
		return specialProto
	case t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface &&
		isMarshaler(t) && !embedsMarshaler(t):
		return specialMarshaler
	}
	return notSpecial
}

func isMarshaler(t reflect.Type) bool {
	return (t.Implements(binaryMarshaler) || reflect.PointerTo(t).Implements(binaryMarshaler)) &&
		reflect.PointerTo(t).Implements(binaryUnmarshaler)
}

// embedsMarshaler reports whether struct t has an embedded marshaler, whose methods
// t may have only by promotion: struct{ time.Time; Name string } would otherwise
// encode its time and silently drop Name. Such structs are encoded field by field.
func embedsMarshaler(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.Anonymous {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if isMarshaler(ft) {
			return true
		}
	}
	return false
}

// Check reports whether values of t can be encoded, without building a codec. The
// error is an *UnsupportedTypeError naming the offending field path.
func Check(t reflect.Type) error {
	if t == nil {
		return &UnsupportedTypeError{Type: reflect.TypeFor[any](), Path: "interface {}", Reason: "a nil type is not encodable"}
	}
	c := checker{root: t, seen: map[reflect.Type]bool{}}
	return c.check(t, t.String())
}

type checker struct {
	root reflect.Type
	seen map[reflect.Type]bool // types already checked or being checked (recursive types)
}

func (c *checker) fail(path, reason string) error {
	return &UnsupportedTypeError{Type: c.root, Path: path, Reason: reason}
}

func (c *checker) check(t reflect.Type, path string) error {
	if c.seen[t] {
		return nil
	}
	c.seen[t] = true
	switch specialOf(t) {
	case specialTime, specialProto, specialMarshaler:
		return nil
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return nil
	case reflect.Slice, reflect.Array:
		return c.check(t.Elem(), path+"[]")
	case reflect.Pointer:
		return c.check(t.Elem(), path)
	case reflect.Map:
		if err := c.check(t.Key(), path+"[key]"); err != nil {
			return err
		}
		return c.check(t.Elem(), path+"[value]")
	case reflect.Struct:
		if reflect.PointerTo(t).Implements(protoMessageType) {
			return c.fail(path, t.String()+" is a protobuf message: use *"+t.String())
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Tag.Get("spindle") == "-" {
				continue
			}
			fp := path + "." + f.Name
			if !f.IsExported() {
				return c.fail(fp, "unexported field (export it or tag it `spindle:\"-\"`)")
			}
			if err := c.check(f.Type, fp); err != nil {
				return err
			}
		}
		return nil
	}
	return c.fail(path, t.String()+" is not encodable")
}

// skipped reports whether the codec leaves struct field f out.
func skipped(f reflect.StructField) bool { return f.Tag.Get("spindle") == "-" }
