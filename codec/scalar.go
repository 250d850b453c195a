package codec

import (
	"encoding/binary"
	"math"
	"reflect"
	"time"
	"unsafe"
)

// The scalar codecs are generic over T so that named types (type Celsius float64)
// share them; T's kind is checked before one is chosen, which makes the unsafe
// conversions sound.

// scalarFor returns the dedicated codec for T's kind, or nil.
func scalarFor[T any](t reflect.Type) Codec[T] {
	switch t.Kind() {
	case reflect.Bool:
		return boolCodec[T]{}
	case reflect.Int8, reflect.Uint8:
		return byteCodec[T]{}
	case reflect.Int16:
		return intCodec[T, int16]{}
	case reflect.Int32:
		return intCodec[T, int32]{}
	case reflect.Int, reflect.Int64:
		return intCodec[T, int64]{}
	case reflect.Uint16:
		return uintCodec[T, uint16]{}
	case reflect.Uint32:
		return uintCodec[T, uint32]{}
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return uintCodec[T, uint64]{}
	case reflect.Float32:
		return float32Codec[T]{}
	case reflect.Float64:
		return float64Codec[T]{}
	case reflect.String:
		return stringCodec[T]{}
	case reflect.Slice:
		if isBytes(t) {
			return bytesCodec[T]{}
		}
	}
	return nil
}

func fail[T any](err error) (T, []byte, error) {
	var zero T
	return zero, nil, decodeError(reflect.TypeFor[T](), err)
}

type boolCodec[T any] struct{}

func (boolCodec[T]) Append(dst []byte, v T) []byte {
	if *(*bool)(unsafe.Pointer(&v)) {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func (boolCodec[T]) Decode(src []byte) (v T, rest []byte, err error) {
	if len(src) == 0 {
		return fail[T](errShort)
	}
	if src[0] > 1 {
		return fail[T](errBool)
	}
	*(*bool)(unsafe.Pointer(&v)) = src[0] == 1
	return v, src[1:], nil
}

type byteCodec[T any] struct{}

func (byteCodec[T]) Append(dst []byte, v T) []byte {
	return append(dst, *(*byte)(unsafe.Pointer(&v)))
}

func (byteCodec[T]) Decode(src []byte) (v T, rest []byte, err error) {
	if len(src) == 0 {
		return fail[T](errShort)
	}
	*(*byte)(unsafe.Pointer(&v)) = src[0]
	return v, src[1:], nil
}

type signed interface{ ~int16 | ~int32 | ~int64 }

type unsigned interface{ ~uint16 | ~uint32 | ~uint64 }

// intCodec encodes a T whose memory is an I as a zigzag varint.
type intCodec[T any, I signed] struct{}

func (intCodec[T, I]) Append(dst []byte, v T) []byte {
	return binary.AppendUvarint(dst, zigzag(int64(*(*I)(unsafe.Pointer(&v)))))
}

func (intCodec[T, I]) Decode(src []byte) (v T, rest []byte, err error) {
	x, rest, err := varint(src, uint(unsafe.Sizeof(I(0)))*8)
	if err != nil {
		return fail[T](err)
	}
	*(*I)(unsafe.Pointer(&v)) = I(x)
	return v, rest, nil
}

// uintCodec encodes a T whose memory is a U as a varint.
type uintCodec[T any, U unsigned] struct{}

func (uintCodec[T, U]) Append(dst []byte, v T) []byte {
	return binary.AppendUvarint(dst, uint64(*(*U)(unsafe.Pointer(&v))))
}

func (uintCodec[T, U]) Decode(src []byte) (v T, rest []byte, err error) {
	x, rest, err := uvarintN(src, uint(unsafe.Sizeof(U(0)))*8)
	if err != nil {
		return fail[T](err)
	}
	*(*U)(unsafe.Pointer(&v)) = U(x)
	return v, rest, nil
}

type float32Codec[T any] struct{}

func (float32Codec[T]) Append(dst []byte, v T) []byte {
	return binary.LittleEndian.AppendUint32(dst, canon32(*(*float32)(unsafe.Pointer(&v))))
}

func (float32Codec[T]) Decode(src []byte) (v T, rest []byte, err error) {
	if len(src) < 4 {
		return fail[T](errShort)
	}
	*(*float32)(unsafe.Pointer(&v)) = math.Float32frombits(binary.LittleEndian.Uint32(src))
	return v, src[4:], nil
}

type float64Codec[T any] struct{}

func (float64Codec[T]) Append(dst []byte, v T) []byte {
	return binary.LittleEndian.AppendUint64(dst, canon64(*(*float64)(unsafe.Pointer(&v))))
}

func (float64Codec[T]) Decode(src []byte) (v T, rest []byte, err error) {
	if len(src) < 8 {
		return fail[T](errShort)
	}
	*(*float64)(unsafe.Pointer(&v)) = math.Float64frombits(binary.LittleEndian.Uint64(src))
	return v, src[8:], nil
}

type stringCodec[T any] struct{}

func (stringCodec[T]) Append(dst []byte, v T) []byte {
	s := *(*string)(unsafe.Pointer(&v))
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func (stringCodec[T]) Decode(src []byte) (v T, rest []byte, err error) {
	n, src, err := length(src)
	if err != nil {
		return fail[T](err)
	}
	*(*string)(unsafe.Pointer(&v)) = string(src[:n])
	return v, src[n:], nil
}

// bytesCodec encodes a byte slice as 0 for nil, else its length+1 and its bytes.
// Decode copies, since callers reuse their buffers.
type bytesCodec[T any] struct{}

func (bytesCodec[T]) Append(dst []byte, v T) []byte {
	b := *(*[]byte)(unsafe.Pointer(&v))
	dst = appendNilLength(dst, len(b), b == nil)
	return append(dst, b...)
}

func (bytesCodec[T]) Decode(src []byte) (v T, rest []byte, err error) {
	n, isNil, src, err := nilLength(src, 1)
	if err != nil {
		return fail[T](err)
	}
	if !isNil {
		*(*[]byte)(unsafe.Pointer(&v)) = append(make([]byte, 0, n), src[:n]...)
	}
	return v, src[n:], nil
}

// timeCodec is for time.Time itself; see appendTime.
type timeCodec[T any] struct{}

func (timeCodec[T]) Append(dst []byte, v T) []byte {
	return appendTime(dst, (*time.Time)(unsafe.Pointer(&v)))
}

func (timeCodec[T]) Decode(src []byte) (v T, rest []byte, err error) {
	rest, err = decodeTime(src, (*time.Time)(unsafe.Pointer(&v)))
	if err != nil {
		return fail[T](err)
	}
	return v, rest, nil
}
