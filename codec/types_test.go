package codec

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Types shared by the tests.

type KV[K, V any] struct {
	Key   K
	Value V
}

type Celsius float64

type Region string

type Sale struct {
	ID      int64
	Region  Region
	Amount  float64
	Qty     int32
	Paid    bool
	Tags    []string
	Attrs   map[string]int
	Note    *string
	At      time.Time
	Raw     []byte
	Small   [3]uint16
	cache   int      `spindle:"-"`
	Ignored chan int `spindle:"-"`
}

type tree struct {
	Left, Right *tree
	V           int
}

// point is a BinaryMarshaler with unexported fields, stored by value.
type point struct{ x, y int8 }

func (p point) MarshalBinary() ([]byte, error) { return []byte{byte(p.x), byte(p.y)}, nil }

func (p *point) UnmarshalBinary(b []byte) error {
	if len(b) != 2 {
		return fmt.Errorf("point: %d bytes", len(b))
	}
	p.x, p.y = int8(b[0]), int8(b[1])
	return nil
}

// withMarshaler holds marshalers by value, so it is encoded part by part.
type withMarshaler struct {
	Name string
	P    point
	Addr netip.Addr
	Ps   [2]point
}

type withProto struct {
	ID  int
	TS  *timestamppb.Timestamp
	Val *wrapperspb.StringValue
}

type badMarshaler struct{}

func (badMarshaler) MarshalBinary() ([]byte, error) { return nil, errors.New("cannot") }

func (*badMarshaler) UnmarshalBinary([]byte) error { return nil }

// allKinds has a field of each scalar kind.
type allKinds struct {
	B   bool
	I   int
	I8  int8
	I16 int16
	I32 int32
	I64 int64
	U   uint
	U8  uint8
	U16 uint16
	U32 uint32
	U64 uint64
	UP  uintptr
	F32 float32
	F64 float64
	S   string
	C   Celsius
}

type nested struct {
	A     allKinds
	Ptr   *allKinds
	List  []allKinds
	Arr   [20]int16
	M     map[int32][]string
	Inner struct{ X, Y float32 }
	Empty struct{}
}

// family is recursive through a slice and holds a marshaler by value, so it is not
// flat and its node refers to itself.
type family struct {
	Name string
	P    point
	Kids []family
}

// event has MarshalBinary only by promotion from time.Time; it must still encode Name.
type event struct {
	time.Time
	Name string
}
