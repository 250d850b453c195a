package codec

import (
	"encoding/binary"
	"math"
	"reflect"
	"time"
	"unsafe"
)

type opcode uint8

const (
	opBool opcode = iota
	opInt8
	opInt16
	opInt32
	opInt64
	opUint8
	opUint16
	opUint32
	opUint64
	opFloat32
	opFloat64
	opString
	opBytes
	opTime
	opSlice // content: the elements, through elem
	opPtr   // content: the pointee, through elem
	opMap   // content: the map, through elem (the map's node)
	opProto // content: the message *typ
	opArray // n elements of the flat elem, size bytes apart
)

// op encodes one field of a flat type, at offset off from the value's address.
type op struct {
	code opcode
	off  uintptr
	typ  reflect.Type // opSlice: the slice type; opPtr, opProto: the pointee type
	elem *node
	size uintptr // opSlice, opArray: element size
	n    int     // opArray: length
}

type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

// encOps runs ops on the value at p. It passes p to no unknown function (only what p
// points to), so a value on the caller's stack does not escape; keep it that way.
func encOps(ops []op, dst []byte, p unsafe.Pointer) []byte {
	for i := range ops {
		o := &ops[i]
		q := unsafe.Add(p, o.off)
		switch o.code {
		case opBool:
			b := byte(0)
			if *(*bool)(q) {
				b = 1
			}
			dst = append(dst, b)
		case opInt8, opUint8:
			dst = append(dst, *(*uint8)(q))
		case opInt16:
			dst = binary.AppendUvarint(dst, zigzag(int64(*(*int16)(q))))
		case opInt32:
			dst = binary.AppendUvarint(dst, zigzag(int64(*(*int32)(q))))
		case opInt64:
			dst = binary.AppendUvarint(dst, zigzag(*(*int64)(q)))
		case opUint16:
			dst = binary.AppendUvarint(dst, uint64(*(*uint16)(q)))
		case opUint32:
			dst = binary.AppendUvarint(dst, uint64(*(*uint32)(q)))
		case opUint64:
			dst = binary.AppendUvarint(dst, *(*uint64)(q))
		case opFloat32:
			dst = binary.LittleEndian.AppendUint32(dst, canon32(*(*float32)(q)))
		case opFloat64:
			dst = binary.LittleEndian.AppendUint64(dst, canon64(*(*float64)(q)))
		case opString:
			s := *(*string)(q)
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		case opBytes:
			b := *(*[]byte)(q)
			dst = appendNilLength(dst, len(b), b == nil)
			dst = append(dst, b...)
		case opTime:
			dst = appendTime(dst, (*time.Time)(q))
		case opSlice:
			h := *(*sliceHeader)(q)
			dst = appendNilLength(dst, h.len, h.data == nil)
			for j := range h.len {
				e := unsafe.Add(h.data, uintptr(j)*o.size)
				if o.elem.flat {
					dst = encOps(o.elem.ops, dst, e)
				} else {
					dst = o.elem.enc(dst, e)
				}
			}
		case opPtr:
			e := *(*unsafe.Pointer)(q)
			if e == nil {
				dst = append(dst, 0)
				break
			}
			dst = append(dst, 1)
			if o.elem.flat {
				dst = encOps(o.elem.ops, dst, e)
			} else {
				dst = o.elem.enc(dst, e)
			}
		case opMap:
			m := *(*unsafe.Pointer)(q)
			if m == nil {
				dst = append(dst, 0)
				break
			}
			// The map node wants the map variable's address: give it a copy's.
			cell := new(unsafe.Pointer)
			*cell = m
			dst = o.elem.enc(dst, unsafe.Pointer(cell))
		case opProto:
			dst = appendProto(dst, o.typ, *(*unsafe.Pointer)(q))
		case opArray:
			for j := range o.n {
				dst = encOps(o.elem.ops, dst, unsafe.Add(q, uintptr(j)*o.size))
			}
		}
	}
	return dst
}

// decOps runs ops to decode into the zero value at p, passing p to no unknown
// function, like encOps.
func decOps(ops []op, src []byte, p unsafe.Pointer) (_ []byte, err error) {
	for i := range ops {
		o := &ops[i]
		q := unsafe.Add(p, o.off)
		switch o.code {
		case opBool:
			if len(src) == 0 {
				return nil, errShort
			}
			if src[0] > 1 {
				return nil, errBool
			}
			*(*bool)(q) = src[0] == 1
			src = src[1:]
		case opInt8, opUint8:
			if len(src) == 0 {
				return nil, errShort
			}
			*(*uint8)(q) = src[0]
			src = src[1:]
		case opInt16:
			var x int64
			if x, src, err = varint(src, 16); err != nil {
				return nil, err
			}
			*(*int16)(q) = int16(x)
		case opInt32:
			var x int64
			if x, src, err = varint(src, 32); err != nil {
				return nil, err
			}
			*(*int32)(q) = int32(x)
		case opInt64:
			if *(*int64)(q), src, err = varint(src, 64); err != nil {
				return nil, err
			}
		case opUint16:
			var x uint64
			if x, src, err = uvarintN(src, 16); err != nil {
				return nil, err
			}
			*(*uint16)(q) = uint16(x)
		case opUint32:
			var x uint64
			if x, src, err = uvarintN(src, 32); err != nil {
				return nil, err
			}
			*(*uint32)(q) = uint32(x)
		case opUint64:
			if *(*uint64)(q), src, err = uvarint(src); err != nil {
				return nil, err
			}
		case opFloat32:
			if len(src) < 4 {
				return nil, errShort
			}
			*(*float32)(q) = math.Float32frombits(binary.LittleEndian.Uint32(src))
			src = src[4:]
		case opFloat64:
			if len(src) < 8 {
				return nil, errShort
			}
			*(*float64)(q) = math.Float64frombits(binary.LittleEndian.Uint64(src))
			src = src[8:]
		case opString:
			var n int
			if n, src, err = length(src); err != nil {
				return nil, err
			}
			*(*string)(q) = string(src[:n])
			src = src[n:]
		case opBytes:
			var n int
			var isNil bool
			if n, isNil, src, err = nilLength(src, 1); err != nil {
				return nil, err
			}
			if !isNil {
				*(*[]byte)(q) = append(make([]byte, 0, n), src[:n]...)
				src = src[n:]
			}
		case opTime:
			if src, err = decodeTime(src, (*time.Time)(q)); err != nil {
				return nil, err
			}
		case opSlice:
			if src, err = decodeSlice(o, src, (*sliceHeader)(q)); err != nil {
				return nil, err
			}
		case opPtr:
			if len(src) == 0 {
				return nil, errShort
			}
			flag := src[0]
			src = src[1:]
			if flag > 1 {
				return nil, errFlag
			}
			if flag == 0 {
				break
			}
			e := reflect.New(o.typ).UnsafePointer()
			if o.elem.flat {
				src, err = decOps(o.elem.ops, src, e)
			} else {
				src, err = o.elem.dec(src, e)
			}
			if err != nil {
				return nil, err
			}
			*(*unsafe.Pointer)(q) = e
		case opMap:
			cell := new(unsafe.Pointer)
			if src, err = o.elem.dec(src, unsafe.Pointer(cell)); err != nil {
				return nil, err
			}
			*(*unsafe.Pointer)(q) = *cell
		case opProto:
			var m unsafe.Pointer
			if m, src, err = decodeProto(src, o.typ); err != nil {
				return nil, err
			}
			*(*unsafe.Pointer)(q) = m
		case opArray:
			for j := range o.n {
				if src, err = decOps(o.elem.ops, src, unsafe.Add(q, uintptr(j)*o.size)); err != nil {
					return nil, err
				}
			}
		}
	}
	return src, nil
}

func decodeSlice(o *op, src []byte, h *sliceHeader) (_ []byte, err error) {
	n, isNil, src, err := nilLength(src, o.elem.minSize)
	if err != nil || isNil {
		return src, err
	}
	data := reflect.MakeSlice(o.typ, n, n).UnsafePointer()
	if o.elem.minSize > 0 { // elements that encode to nothing are all zero already
		for j := range n {
			e := unsafe.Add(data, uintptr(j)*o.size)
			if o.elem.flat {
				src, err = decOps(o.elem.ops, src, e)
			} else {
				src, err = o.elem.dec(src, e)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	*h = sliceHeader{data: data, len: n, cap: n}
	return src, nil
}
