package codec

import (
	"cmp"
	"encoding/binary"
	"math"
	"reflect"
	"unsafe"
)

// Ordered returns the codec for sort and shuffle keys of type K, whose bytes compare
// (bytes.Compare) as the values do (cmp.Compare): integers are big-endian with the sign
// bit flipped, floats are IEEE bits with the sign bit flipped for positives and every
// bit flipped for negatives (NaN first, -0 as +0), strings are their bytes.
//
// The encoding is not self-delimiting: Append writes the whole key, and Decode
// consumes all of src.
func Ordered[K cmp.Ordered]() Codec[K] {
	return orderedFor[K](reflect.TypeFor[K]().Kind())
}

// orderedFor returns the ordered codec for a K of the given kind, or nil if the kind
// is not ordered. The kind makes the unsafe conversions sound.
func orderedFor[K any](k reflect.Kind) Codec[K] {
	switch k {
	case reflect.Int8:
		return ordInt[K, int8]{}
	case reflect.Int16:
		return ordInt[K, int16]{}
	case reflect.Int32:
		return ordInt[K, int32]{}
	case reflect.Int, reflect.Int64:
		return ordInt[K, int64]{}
	case reflect.Uint8:
		return ordUint[K, uint8]{}
	case reflect.Uint16:
		return ordUint[K, uint16]{}
	case reflect.Uint32:
		return ordUint[K, uint32]{}
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return ordUint[K, uint64]{}
	case reflect.Float32:
		return ordFloat32[K]{}
	case reflect.Float64:
		return ordFloat64[K]{}
	case reflect.String:
		return ordString[K]{}
	}
	return nil
}

// appendBE appends the low size bytes of x, big-endian.
func appendBE(dst []byte, x uint64, size uintptr) []byte {
	switch size {
	case 1:
		return append(dst, byte(x))
	case 2:
		return binary.BigEndian.AppendUint16(dst, uint16(x))
	case 4:
		return binary.BigEndian.AppendUint32(dst, uint32(x))
	}
	return binary.BigEndian.AppendUint64(dst, x)
}

// readBE reads a whole key of size bytes, big-endian.
func readBE(src []byte, size uintptr) (uint64, error) {
	if uintptr(len(src)) != size {
		if uintptr(len(src)) < size {
			return 0, errShort
		}
		return 0, errTrailing
	}
	switch size {
	case 1:
		return uint64(src[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(src)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(src)), nil
	}
	return binary.BigEndian.Uint64(src), nil
}

type ordInt[K any, I int8 | int16 | int32 | int64] struct{}

func (ordInt[K, I]) Append(dst []byte, v K) []byte {
	size := unsafe.Sizeof(I(0))
	return appendBE(dst, uint64(*(*I)(unsafe.Pointer(&v)))^(1<<(size*8-1)), size)
}

func (ordInt[K, I]) Decode(src []byte) (v K, rest []byte, err error) {
	size := unsafe.Sizeof(I(0))
	u, err := readBE(src, size)
	if err != nil {
		return fail[K](err)
	}
	*(*I)(unsafe.Pointer(&v)) = I(u ^ (1 << (size*8 - 1)))
	return v, src[size:], nil
}

type ordUint[K any, U uint8 | uint16 | uint32 | uint64] struct{}

func (ordUint[K, U]) Append(dst []byte, v K) []byte {
	return appendBE(dst, uint64(*(*U)(unsafe.Pointer(&v))), unsafe.Sizeof(U(0)))
}

func (ordUint[K, U]) Decode(src []byte) (v K, rest []byte, err error) {
	size := unsafe.Sizeof(U(0))
	u, err := readBE(src, size)
	if err != nil {
		return fail[K](err)
	}
	*(*U)(unsafe.Pointer(&v)) = U(u)
	return v, src[size:], nil
}

// orderBits maps canonical IEEE bits to bits in value order; NaN maps to 0, below
// -Inf, as cmp.Compare orders it.
func orderBits(b uint64, nan uint64, sign uint64) uint64 {
	switch {
	case b == nan:
		return 0
	case b&sign != 0:
		return ^b
	}
	return b | sign
}

func unorderBits(o uint64, nan uint64, sign uint64) uint64 {
	switch {
	case o == 0:
		return nan
	case o&sign != 0:
		return o &^ sign
	}
	return ^o
}

type ordFloat32[K any] struct{}

func (ordFloat32[K]) Append(dst []byte, v K) []byte {
	o := orderBits(uint64(canon32(*(*float32)(unsafe.Pointer(&v)))), uint64(nan32), 1<<31)
	return binary.BigEndian.AppendUint32(dst, uint32(o))
}

func (ordFloat32[K]) Decode(src []byte) (v K, rest []byte, err error) {
	o, err := readBE(src, 4)
	if err != nil {
		return fail[K](err)
	}
	b := uint32(unorderBits(o, uint64(nan32), 1<<31))
	*(*float32)(unsafe.Pointer(&v)) = math.Float32frombits(b)
	return v, src[4:], nil
}

type ordFloat64[K any] struct{}

func (ordFloat64[K]) Append(dst []byte, v K) []byte {
	return binary.BigEndian.AppendUint64(dst, orderBits(canon64(*(*float64)(unsafe.Pointer(&v))), nan64, 1<<63))
}

func (ordFloat64[K]) Decode(src []byte) (v K, rest []byte, err error) {
	o, err := readBE(src, 8)
	if err != nil {
		return fail[K](err)
	}
	*(*float64)(unsafe.Pointer(&v)) = math.Float64frombits(unorderBits(o, nan64, 1<<63))
	return v, src[8:], nil
}

type ordString[K any] struct{}

func (ordString[K]) Append(dst []byte, v K) []byte {
	return append(dst, *(*string)(unsafe.Pointer(&v))...)
}

func (ordString[K]) Decode(src []byte) (v K, rest []byte, err error) {
	*(*string)(unsafe.Pointer(&v)) = string(src)
	return v, src[len(src):], nil
}
