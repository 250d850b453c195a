package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
)

// ErrCorrupt is wrapped by every error Decode returns for bytes that are not a valid
// encoding: truncated input, an out-of-range value, a bad flag byte.
var ErrCorrupt = errors.New("corrupt encoding")

// MarshalError is the panic value of Append when a value's MarshalBinary or its proto
// marshaling fails: Append has no error result, and such a failure is a bug in the
// element's own code, which the engine reports as a task failure.
type MarshalError struct {
	Type reflect.Type
	Err  error
}

func (e *MarshalError) Error() string { return fmt.Sprintf("codec: marshal %v: %v", e.Type, e.Err) }

func (e *MarshalError) Unwrap() error { return e.Err }

// Errors without context, so the hot path builds none; the codec's Decode wraps them
// once with the type.
var (
	errShort    = fmt.Errorf("%w: input too short", ErrCorrupt)
	errVarint   = fmt.Errorf("%w: bad varint", ErrCorrupt)
	errRange    = fmt.Errorf("%w: integer out of range", ErrCorrupt)
	errBool     = fmt.Errorf("%w: bool byte is neither 0 nor 1", ErrCorrupt)
	errFlag     = fmt.Errorf("%w: nil flag is neither 0 nor 1", ErrCorrupt)
	errLength   = fmt.Errorf("%w: length exceeds input", ErrCorrupt)
	errNanos    = fmt.Errorf("%w: nanoseconds out of range", ErrCorrupt)
	errTrailing = fmt.Errorf("%w: trailing bytes after an ordered key", ErrCorrupt)
)

// Canonical NaNs: every NaN encodes the same, so grouping by encoded bytes puts NaN
// keys together (as Spark normalizes them); -0 encodes as +0 because -0 == +0.
var (
	nan64 = math.Float64bits(math.NaN())
	nan32 = math.Float32bits(float32(math.NaN()))
)

func canon64(f float64) uint64 {
	switch {
	case f != f:
		return nan64
	case f == 0:
		return 0
	}
	return math.Float64bits(f)
}

func canon32(f float32) uint32 {
	switch {
	case f != f:
		return nan32
	case f == 0:
		return 0
	}
	return math.Float32bits(f)
}

func zigzag(x int64) uint64 { return uint64(x<<1) ^ uint64(x>>63) }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

func uvarint(src []byte) (uint64, []byte, error) {
	if len(src) > 0 && src[0] < 0x80 {
		return uint64(src[0]), src[1:], nil
	}
	u, n := binary.Uvarint(src)
	if n <= 0 {
		if n == 0 {
			return 0, nil, errShort
		}
		return 0, nil, errVarint
	}
	return u, src[n:], nil
}

// varint reads a zigzag varint that must fit in bits bits.
func varint(src []byte, bits uint) (int64, []byte, error) {
	u, rest, err := uvarint(src)
	if err != nil {
		return 0, nil, err
	}
	x := unzigzag(u)
	if bits < 64 && (x < -1<<(bits-1) || x >= 1<<(bits-1)) {
		return 0, nil, errRange
	}
	return x, rest, nil
}

// uvarintN reads a varint that must fit in bits bits.
func uvarintN(src []byte, bits uint) (uint64, []byte, error) {
	u, rest, err := uvarint(src)
	if err != nil {
		return 0, nil, err
	}
	if bits < 64 && u >= 1<<bits {
		return 0, nil, errRange
	}
	return u, rest, nil
}

// length reads a byte length and checks that the input holds that many bytes.
func length(src []byte) (int, []byte, error) {
	u, rest, err := uvarint(src)
	if err != nil {
		return 0, nil, err
	}
	if u > uint64(len(rest)) {
		return 0, nil, errLength
	}
	return int(u), rest, nil
}

// nilLength reads the length of a slice or map, encoded as 0 for nil and n+1
// otherwise, and checks it against the bytes left, each element taking at least
// minSize bytes.
func nilLength(src []byte, minSize int) (n int, isNil bool, rest []byte, err error) {
	u, rest, err := uvarint(src)
	if err != nil {
		return 0, false, nil, err
	}
	if u == 0 {
		return 0, true, rest, nil
	}
	u--
	limit := uint64(len(rest))
	if minSize > 1 {
		limit /= uint64(minSize)
	} else if minSize == 0 {
		limit = maxZeroSize
	}
	if u > limit {
		return 0, false, nil, errLength
	}
	return int(u), false, rest, nil
}

// maxZeroSize bounds the element count of a collection whose elements encode to no
// bytes at all (struct{}), so garbage cannot make Decode loop for ever.
const maxZeroSize = 1 << 24

func appendNilLength(dst []byte, n int, isNil bool) []byte {
	if isNil {
		return append(dst, 0)
	}
	return binary.AppendUvarint(dst, uint64(n)+1)
}
