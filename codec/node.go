package codec

import (
	"reflect"
	"sync"
	"unsafe"
)

// A node encodes values of one type that live at a pointer. Nodes are built once per
// type, under buildMu, and are immutable afterwards.
type node struct {
	typ reflect.Type
	enc func(dst []byte, p unsafe.Pointer) []byte
	// dec decodes into *p, which must hold the zero value.
	dec func(src []byte, p unsafe.Pointer) ([]byte, error)
	// flat types are encoded by running ops on their address; the interpreter passes
	// that address to no unknown function, so a value on the stack stays there.
	flat    bool
	ops     []op
	minSize int // the fewest bytes an encoding takes, to bound decoded lengths
}

var (
	buildMu sync.Mutex
	nodes   = map[reflect.Type]*node{}
)

// nodeFor returns the node of t, which must have passed Check.
func nodeFor(t reflect.Type) *node {
	buildMu.Lock()
	defer buildMu.Unlock()
	return build(t)
}

func build(t reflect.Type) *node {
	if n, ok := nodes[t]; ok {
		return n // possibly still under construction, for recursive types
	}
	n := &node{typ: t}
	nodes[t] = n
	if t.Kind() == reflect.Map && specialOf(t) == notSpecial {
		buildMap(n)
		return n
	}
	if ops, min, ok := appendOps(nil, t, 0); ok {
		n.flat, n.ops, n.minSize = true, ops, min
		n.enc = func(dst []byte, p unsafe.Pointer) []byte { return encOps(ops, dst, p) }
		n.dec = func(src []byte, p unsafe.Pointer) ([]byte, error) { return decOps(ops, src, p) }
		return n
	}
	// Types holding a value whose encoding needs its address (a BinaryMarshaler
	// stored by value) are encoded part by part.
	switch {
	case specialOf(t) == specialMarshaler:
		buildMarshaler(n)
	case t.Kind() == reflect.Struct:
		buildStruct(n)
	case t.Kind() == reflect.Array:
		buildArray(n)
	}
	return n
}

func buildStruct(n *node) {
	type field struct {
		off uintptr
		n   *node
	}
	var fields []field
	for i := range n.typ.NumField() {
		f := n.typ.Field(i)
		if skipped(f) {
			continue
		}
		fn := build(f.Type)
		fields = append(fields, field{f.Offset, fn})
		n.minSize += fn.minSize
	}
	n.enc = func(dst []byte, p unsafe.Pointer) []byte {
		for _, f := range fields {
			dst = f.n.enc(dst, unsafe.Add(p, f.off))
		}
		return dst
	}
	n.dec = func(src []byte, p unsafe.Pointer) (_ []byte, err error) {
		for _, f := range fields {
			if src, err = f.n.dec(src, unsafe.Add(p, f.off)); err != nil {
				return nil, err
			}
		}
		return src, nil
	}
}

func buildArray(n *node) {
	elem, count, size := build(n.typ.Elem()), n.typ.Len(), n.typ.Elem().Size()
	n.minSize = count * elem.minSize
	n.enc = func(dst []byte, p unsafe.Pointer) []byte {
		for i := range count {
			dst = elem.enc(dst, unsafe.Add(p, uintptr(i)*size))
		}
		return dst
	}
	n.dec = func(src []byte, p unsafe.Pointer) (_ []byte, err error) {
		for i := range count {
			if src, err = elem.dec(src, unsafe.Add(p, uintptr(i)*size)); err != nil {
				return nil, err
			}
		}
		return src, nil
	}
}

// appendOps appends the ops that encode a t stored at offset off, and the fewest
// bytes they write. ok is false if t is not flat.
func appendOps(ops []op, t reflect.Type, off uintptr) (_ []op, minSize int, ok bool) {
	switch specialOf(t) {
	case specialTime:
		return append(ops, op{code: opTime, off: off}), 2, true
	case specialProto:
		return append(ops, op{code: opProto, off: off, typ: t.Elem()}), 1, true
	case specialMarshaler:
		return ops, 0, false
	}
	switch t.Kind() {
	case reflect.Bool:
		return append(ops, op{code: opBool, off: off}), 1, true
	case reflect.Int8:
		return append(ops, op{code: opInt8, off: off}), 1, true
	case reflect.Int16:
		return append(ops, op{code: opInt16, off: off}), 1, true
	case reflect.Int32:
		return append(ops, op{code: opInt32, off: off}), 1, true
	case reflect.Int, reflect.Int64:
		return append(ops, op{code: opInt64, off: off}), 1, true
	case reflect.Uint8:
		return append(ops, op{code: opUint8, off: off}), 1, true
	case reflect.Uint16:
		return append(ops, op{code: opUint16, off: off}), 1, true
	case reflect.Uint32:
		return append(ops, op{code: opUint32, off: off}), 1, true
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return append(ops, op{code: opUint64, off: off}), 1, true
	case reflect.Float32:
		return append(ops, op{code: opFloat32, off: off}), 4, true
	case reflect.Float64:
		return append(ops, op{code: opFloat64, off: off}), 8, true
	case reflect.String:
		return append(ops, op{code: opString, off: off}), 1, true
	case reflect.Slice:
		if isBytes(t) {
			return append(ops, op{code: opBytes, off: off}), 1, true
		}
		return append(ops, op{code: opSlice, off: off, typ: t, elem: build(t.Elem()), size: t.Elem().Size()}), 1, true
	case reflect.Pointer:
		return append(ops, op{code: opPtr, off: off, typ: t.Elem(), elem: build(t.Elem())}), 1, true
	case reflect.Map:
		return append(ops, op{code: opMap, off: off, elem: build(t)}), 1, true
	case reflect.Array:
		elem := build(t.Elem())
		if !elem.flat {
			return ops, 0, false
		}
		if t.Len() == 1 || len(elem.ops)*t.Len() <= 16 {
			var min int
			for i := range t.Len() {
				var m int
				ops, m, _ = appendOps(ops, t.Elem(), off+uintptr(i)*t.Elem().Size())
				min += m
			}
			return ops, min, true
		}
		return append(ops, op{code: opArray, off: off, elem: elem, n: t.Len(), size: t.Elem().Size()}), t.Len() * elem.minSize, true
	case reflect.Struct:
		var min int
		for i := range t.NumField() {
			f := t.Field(i)
			if skipped(f) {
				continue
			}
			var m int
			if ops, m, ok = appendOps(ops, f.Type, off+f.Offset); !ok {
				return ops, 0, false
			}
			min += m
		}
		return ops, min, true
	}
	return ops, 0, false // unreachable for a checked type
}

// isBytes reports whether t is a slice of plain bytes, encoded in one piece.
func isBytes(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && specialOf(t.Elem()) == notSpecial
}
