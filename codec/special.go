package codec

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"
)

// Times encode as the instant: Unix seconds (zigzag varint) and nanoseconds (varint),
// which covers every time.Time, the zero one included. The location and the monotonic
// reading are dropped; decoded times are in UTC.
func appendTime(dst []byte, t *time.Time) []byte {
	dst = binary.AppendUvarint(dst, zigzag(t.Unix()))
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

func decodeTime(src []byte, t *time.Time) ([]byte, error) {
	sec, src, err := varint(src, 64)
	if err != nil {
		return nil, err
	}
	nsec, src, err := uvarint(src)
	if err != nil {
		return nil, err
	}
	if nsec >= 1e9 {
		return nil, errNanos
	}
	*t = time.Unix(sec, int64(nsec)).UTC()
	return src, nil
}

var (
	protoMarshal   = proto.MarshalOptions{Deterministic: true, AllowPartial: true}
	protoUnmarshal = proto.UnmarshalOptions{AllowPartial: true}
)

// appendProto encodes the message *typ at m as 0 for nil, else its length+1 and its
// deterministic wire form.
func appendProto(dst []byte, typ reflect.Type, m unsafe.Pointer) []byte {
	if m == nil {
		return append(dst, 0)
	}
	msg := reflect.NewAt(typ, m).Interface().(proto.Message)
	dst = binary.AppendUvarint(dst, uint64(protoMarshal.Size(msg))+1)
	dst, err := protoMarshal.MarshalAppend(dst, msg)
	if err != nil {
		panic(&MarshalError{Type: reflect.PointerTo(typ), Err: err})
	}
	return dst
}

func decodeProto(src []byte, typ reflect.Type) (unsafe.Pointer, []byte, error) {
	n, isNil, src, err := nilLength(src, 1)
	if err != nil || isNil {
		return nil, src, err
	}
	v := reflect.New(typ)
	if err := protoUnmarshal.Unmarshal(src[:n], v.Interface().(proto.Message)); err != nil {
		return nil, nil, fmt.Errorf("%w: %v: %w", ErrCorrupt, v.Type(), err)
	}
	return v.UnsafePointer(), src[n:], nil
}

// buildMarshaler encodes a BinaryMarshaler as its length and its MarshalBinary bytes.
func buildMarshaler(n *node) {
	t := n.typ
	n.minSize = 1
	n.enc = func(dst []byte, p unsafe.Pointer) []byte {
		// *T has T's methods too, whichever receiver MarshalBinary has.
		m := reflect.NewAt(t, p).Interface().(encoding.BinaryMarshaler)
		b, err := m.MarshalBinary()
		if err != nil {
			panic(&MarshalError{Type: t, Err: err})
		}
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		return append(dst, b...)
	}
	n.dec = func(src []byte, p unsafe.Pointer) ([]byte, error) {
		l, src, err := length(src)
		if err != nil {
			return nil, err
		}
		u := reflect.NewAt(t, p).Interface().(encoding.BinaryUnmarshaler)
		if err := u.UnmarshalBinary(src[:l:l]); err != nil {
			return nil, fmt.Errorf("%w: %v: %w", ErrCorrupt, t, err)
		}
		return src[l:], nil
	}
}

// buildMap encodes a map as 0 for nil, else its length+1 and its entries sorted by
// their encoded bytes, so equal maps encode equally whatever their iteration order.
// p points to the map variable.
func buildMap(n *node) {
	t := n.typ
	kt, vt := t.Key(), t.Elem()
	kn, vn := build(kt), build(vt)
	ks, vs := kt.Size(), vt.Size()
	n.minSize = 1
	n.enc = func(dst []byte, p unsafe.Pointer) []byte {
		m := reflect.NewAt(t, p).Elem()
		if m.IsNil() {
			return append(dst, 0)
		}
		count := m.Len()
		dst = binary.AppendUvarint(dst, uint64(count)+1)
		if count == 0 {
			return dst
		}
		// Copy entries to addressable slices, encode each, then sort the encodings.
		keys := reflect.MakeSlice(reflect.SliceOf(kt), count, count)
		vals := reflect.MakeSlice(reflect.SliceOf(vt), count, count)
		var i int
		for it := m.MapRange(); it.Next(); i++ {
			keys.Index(i).SetIterKey(it)
			vals.Index(i).SetIterValue(it)
		}
		kp, vp := keys.UnsafePointer(), vals.UnsafePointer()
		var buf []byte
		ends := make([]int, count)
		for i := range count {
			buf = kn.enc(buf, unsafe.Add(kp, uintptr(i)*ks))
			buf = vn.enc(buf, unsafe.Add(vp, uintptr(i)*vs))
			ends[i] = len(buf)
		}
		entries := make([][]byte, count)
		start := 0
		for i, end := range ends {
			entries[i] = buf[start:end]
			start = end
		}
		// Keys are prefix-free encodings, so comparing whole entries orders by key
		// first; equal keys (NaNs) fall back to the value.
		slices.SortFunc(entries, bytes.Compare)
		for _, e := range entries {
			dst = append(dst, e...)
		}
		return dst
	}
	n.dec = func(src []byte, p unsafe.Pointer) (_ []byte, err error) {
		count, isNil, src, err := nilLength(src, kn.minSize+vn.minSize)
		if err != nil || isNil {
			return src, err
		}
		if kn.minSize == 0 && count > 1 {
			return nil, errLength // keys that encode to nothing are all equal
		}
		m := reflect.MakeMapWithSize(t, min(count, 1<<16))
		k, v := reflect.New(kt), reflect.New(vt)
		for range count {
			k.Elem().SetZero()
			v.Elem().SetZero()
			if src, err = kn.dec(src, k.UnsafePointer()); err != nil {
				return nil, err
			}
			if src, err = vn.dec(src, v.UnsafePointer()); err != nil {
				return nil, err
			}
			m.SetMapIndex(k.Elem(), v.Elem())
		}
		*(*unsafe.Pointer)(p) = m.UnsafePointer()
		return src, nil
	}
}
