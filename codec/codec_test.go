package codec

import (
	"bytes"
	"errors"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// roundTrip returns a test that encodes v after a prefix and before a trailer, checks
// that Decode returns v and exactly the trailer, and that re-encoding gives the same
// bytes.
func roundTrip[T any](v T) func(*testing.T) {
	return func(t *testing.T) {
		c, err := For[T]()
		if err != nil {
			t.Fatal(err)
		}
		trailer := []byte{0xAB, 0xCD}
		enc := append(c.Append([]byte("prefix"), v), trailer...)
		if !bytes.HasPrefix(enc, []byte("prefix")) {
			t.Fatalf("Append overwrote dst: %x", enc)
		}
		got, rest, err := c.Decode(enc[len("prefix"):])
		if err != nil {
			t.Fatalf("Decode(%x): %v", enc, err)
		}
		if !bytes.Equal(rest, trailer) {
			t.Fatalf("rest = %x, want %x", rest, trailer)
		}
		if !equal(got, v) {
			t.Fatalf("got %#v, want %#v", got, v)
		}
		if again := c.Append(nil, got); !bytes.Equal(again, enc[len("prefix"):len(enc)-len(trailer)]) {
			t.Fatalf("re-encoding differs: %x vs %x", again, enc)
		}
	}
}

// equal is reflect.DeepEqual, with protos compared by proto.Equal and times by Equal.
func equal(a, b any) bool {
	if ma, ok := a.(proto.Message); ok {
		return proto.Equal(ma, b.(proto.Message))
	}
	if wa, ok := a.(withProto); ok {
		wb := b.(withProto)
		return wa.ID == wb.ID && proto.Equal(wa.TS, wb.TS) && proto.Equal(wa.Val, wb.Val)
	}
	if sa, ok := a.([]*wrapperspb.Int64Value); ok {
		sb := b.([]*wrapperspb.Int64Value)
		for i := range sa {
			if len(sa) != len(sb) || !proto.Equal(sa[i], sb[i]) {
				return false
			}
		}
		return len(sa) == len(sb)
	}
	if ta, ok := a.(time.Time); ok {
		return ta.Equal(b.(time.Time))
	}
	return reflect.DeepEqual(a, b)
}

func ptr[T any](v T) *T { return &v }

func TestRoundTrip(t *testing.T) {
	note := "gift"
	utc := time.Date(2026, 11, 28, 22, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"bool", roundTrip(true)},
		{"int", roundTrip(-1)},
		{"int8 min", roundTrip(int8(math.MinInt8))},
		{"int16 min", roundTrip(int16(math.MinInt16))},
		{"int32 max", roundTrip(int32(math.MaxInt32))},
		{"int64 min", roundTrip(int64(math.MinInt64))},
		{"uint8", roundTrip(uint8(255))},
		{"uint16", roundTrip(uint16(65535))},
		{"uint32", roundTrip(uint32(math.MaxUint32))},
		{"uint64 max", roundTrip(uint64(math.MaxUint64))},
		{"uintptr", roundTrip(uintptr(12345))},
		{"float32", roundTrip(float32(-1.5))},
		{"float64 inf", roundTrip(math.Inf(-1))},
		{"float64 tiny", roundTrip(math.SmallestNonzeroFloat64)},
		{"named float", roundTrip(Celsius(21.5))},
		{"string", roundTrip("héllo, world")},
		{"empty string", roundTrip("")},
		{"named string", roundTrip(Region("EMEA"))},
		{"bytes", roundTrip([]byte{0, 1, 2, 255})},
		{"nil bytes", roundTrip([]byte(nil))},
		{"empty bytes", roundTrip([]byte{})},
		{"time", roundTrip(utc)},
		{"zero time", roundTrip(time.Time{})},
		{"time before 1970", roundTrip(time.Date(1, 2, 3, 4, 5, 6, 7, time.UTC))},
		{"duration", roundTrip(90 * time.Second)},
		{"KV", roundTrip(KV[string, int]{"a", 1})},
		{"KV of KV", roundTrip(KV[KV[int8, string], []float64]{KV[int8, string]{-3, "x"}, []float64{1, 2}})},
		{"sale", roundTrip(Sale{ID: 7, Region: "APAC", Amount: 9.99, Qty: -2, Paid: true,
			Tags: []string{"a", "", "c"}, Attrs: map[string]int{"x": 1, "y": -2}, Note: &note,
			At: utc, Raw: []byte("raw"), Small: [3]uint16{1, 2, 65535}})},
		{"zero sale", roundTrip(Sale{})},
		{"slice of structs", roundTrip([]KV[string, int]{{"a", 1}, {"b", 2}})},
		{"nil slice", roundTrip([]string(nil))},
		{"empty slice", roundTrip([]string{})},
		{"slice of slices", roundTrip([][]int{{1}, nil, {}})},
		{"array", roundTrip([4]string{"a", "b", "", "d"})},
		{"pointer", roundTrip(ptr(42))},
		{"nil pointer", roundTrip((*int)(nil))},
		{"pointer to struct", roundTrip(&KV[string, bool]{"k", true})},
		{"map", roundTrip(map[string][]int{"a": {1}, "b": nil, "": {}})},
		{"nil map", roundTrip(map[int]int(nil))},
		{"map struct keys", roundTrip(map[KV[int, string]]float32{{1, "a"}: 1, {2, "b"}: 2})},
		{"map of maps", roundTrip(map[int]map[int]int{1: {2: 3}, 4: nil})},
		{"all kinds", roundTrip(allKinds{true, -1, -2, -3, -4, -5, 1, 2, 3, 4, 5, 6, 1.5, 2.5, "s", 3})},
		{"nested", roundTrip(nested{A: allKinds{S: "a"}, Ptr: &allKinds{I: 9},
			List: []allKinds{{U8: 1}, {F64: -1}}, Arr: [20]int16{19: -7},
			M: map[int32][]string{-1: {"x"}, 5: nil}})},
		{"tree", roundTrip(&tree{V: 1, Left: &tree{V: 2}, Right: &tree{V: 3, Left: &tree{V: 4}}})},
		{"empty struct", roundTrip(struct{}{})},
		{"recursive through slice", roundTrip(family{"a", point{1, 1}, []family{{Name: "b"}, {Name: "c", Kids: []family{{Name: "d"}}}}})},
		{"pointer to pointer", roundTrip(ptr(ptr("pp")))},
		{"embedded time", roundTrip(event{time.Unix(5, 6).UTC(), "launch"})},
		{"marshaler", roundTrip(point{-1, 2})},
		{"netip", roundTrip(netip.MustParseAddr("2001:db8::1"))},
		{"struct with marshalers", roundTrip(withMarshaler{"n", point{1, 2}, netip.MustParseAddr("10.0.0.1"), [2]point{{3, 4}, {5, 6}}})},
		{"slice of marshaler structs", roundTrip([]withMarshaler{{Name: "a"}, {Name: "b", P: point{7, 8}}})},
		{"proto", roundTrip(timestamppb.New(utc))},
		{"nil proto", roundTrip((*wrapperspb.StringValue)(nil))},
		{"struct with protos", roundTrip(withProto{ID: 3, TS: timestamppb.New(utc), Val: wrapperspb.String("v")})},
		{"slice of protos", roundTrip([]*wrapperspb.Int64Value{wrapperspb.Int64(1), nil, wrapperspb.Int64(-1)})},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

// The skipped fields of Sale are not encoded and decode as zero.
func TestSkippedFields(t *testing.T) {
	c := MustFor[Sale]()
	v, _, err := c.Decode(c.Append(nil, Sale{ID: 1, cache: 5, Ignored: make(chan int)}))
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != 1 || v.cache != 0 || v.Ignored != nil {
		t.Fatalf("got %+v", v)
	}
}

// Equal values encode equally, whatever their memory says.
func TestDeterministic(t *testing.T) {
	m1, m2 := map[string]int{}, map[string]int{}
	for i := range 100 {
		m1[strings.Repeat("k", i)] = i
		m2[strings.Repeat("k", 99-i)] = 99 - i
	}
	nan1 := math.Float64frombits(0x7FF8000000000001)
	nan2 := math.Float64frombits(0xFFF0000000000123)
	tests := []struct {
		name string
		a, b []byte
	}{
		{"map insertion order", MustFor[map[string]int]().Append(nil, m1), MustFor[map[string]int]().Append(nil, m2)},
		{"negative zero", MustFor[float64]().Append(nil, math.Copysign(0, -1)), MustFor[float64]().Append(nil, 0)},
		{"negative zero float32", MustFor[float32]().Append(nil, float32(math.Copysign(0, -1))), MustFor[float32]().Append(nil, 0)},
		{"NaNs", MustFor[float64]().Append(nil, nan1), MustFor[float64]().Append(nil, nan2)},
		{"negative zero in struct", MustFor[KV[float64, float32]]().Append(nil, KV[float64, float32]{math.Copysign(0, -1), float32(math.Copysign(0, -1))}),
			MustFor[KV[float64, float32]]().Append(nil, KV[float64, float32]{})},
		{"time zones", MustFor[time.Time]().Append(nil, time.Date(2026, 1, 1, 12, 0, 0, 0, time.FixedZone("X", 3600))),
			MustFor[time.Time]().Append(nil, time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC))},
		{"NaN map keys", MustFor[map[float64]int]().Append(nil, map[float64]int{math.NaN(): 1, nan2: 2}),
			MustFor[map[float64]int]().Append(nil, map[float64]int{nan2: 2, math.NaN(): 1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.Equal(tt.a, tt.b) {
				t.Fatalf("%x != %x", tt.a, tt.b)
			}
		})
	}
}

type badChan struct {
	Name string
	Tags chan int
}

type badUnexported struct {
	Name   string
	secret string
}

type badDeep struct {
	Items []KV[string, func()]
}

type badMap struct {
	M map[string]any
}

func TestUnsupported(t *testing.T) {
	tests := []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{"chan field", reflect.TypeFor[badChan](), "codec: codec.badChan.Tags: chan int is not encodable"},
		{"unexported", reflect.TypeFor[badUnexported](), "codec: codec.badUnexported.secret: unexported field (export it or tag it `spindle:\"-\"`)"},
		{"deep", reflect.TypeFor[badDeep](), "codec: codec.badDeep.Items[].Value: func() is not encodable"},
		{"map value", reflect.TypeFor[badMap](), "codec: codec.badMap.M[value]: interface {} is not encodable"},
		{"func", reflect.TypeFor[func()](), "codec: func() is not encodable"},
		{"interface", reflect.TypeFor[error](), "codec: error is not encodable"},
		{"unsafe pointer", reflect.TypeFor[unsafe.Pointer](), "codec: unsafe.Pointer is not encodable"},
		{"complex", reflect.TypeFor[complex128](), "codec: complex128 is not encodable"},
		{"pointer to chan", reflect.TypeFor[*chan int](), "codec: chan int is not encodable"},
		{"proto by value", reflect.TypeFor[KV[int, wrapperspb.StringValue]](), "codec: codec.KV[int,google.golang.org/protobuf/types/known/wrapperspb.StringValue].Value: wrapperspb.StringValue is a protobuf message: use *wrapperspb.StringValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.typ)
			var ue *UnsupportedTypeError
			if !errors.As(err, &ue) {
				t.Fatalf("Check(%v) = %v, want an *UnsupportedTypeError", tt.typ, err)
			}
			if err.Error() != tt.want {
				t.Fatalf("Check(%v) =\n%s\nwant\n%s", tt.typ, err, tt.want)
			}
		})
	}
	if _, err := For[badChan](); err == nil || !strings.Contains(err.Error(), "badChan.Tags") {
		t.Fatalf("For[badChan] = %v", err)
	}
	if _, err := Key[badChan](); err == nil {
		t.Fatal("Key[badChan] succeeded")
	}
}

func TestMarshalErrorPanics(t *testing.T) {
	c := MustFor[KV[string, badMarshaler]]()
	defer func() {
		var me *MarshalError
		if err, _ := recover().(error); !errors.As(err, &me) || me.Err.Error() != "cannot" {
			t.Fatalf("recovered %v, want a *MarshalError", err)
		}
	}()
	c.Append(nil, KV[string, badMarshaler]{})
	t.Fatal("Append did not panic")
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		dec  func([]byte) error
		in   []byte
	}{
		{"empty int", decodeWith[int64](), nil},
		{"bad bool", decodeWith[bool](), []byte{2}},
		{"int32 overflow", decodeWith[int32](), MustFor[int64]().Append(nil, math.MaxInt32+1)},
		{"uint16 overflow", decodeWith[uint16](), MustFor[uint64]().Append(nil, 1<<16)},
		{"short float", decodeWith[float64](), []byte{1, 2, 3}},
		{"long string", decodeWith[string](), []byte{5, 'a'}},
		{"huge slice", decodeWith[[]int](), []byte{0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"bad pointer flag", decodeWith[*int](), []byte{7}},
		{"bad nanos", decodeWith[time.Time](), []byte{0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"truncated struct", decodeWith[Sale](), MustFor[Sale]().Append(nil, Sale{Tags: []string{"x"}})[:5]},
		{"bad marshaler", decodeWith[point](), []byte{1, 1}},
		{"bad proto", decodeWith[*wrapperspb.StringValue](), []byte{3, 0xff, 0xff}},
		{"ordered short", func(b []byte) error { _, _, err := Ordered[int32]().Decode(b); return err }, []byte{1, 2}},
		{"ordered trailing", func(b []byte) error { _, _, err := Ordered[int16]().Decode(b); return err }, []byte{1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.dec(tt.in); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode(%x) = %v, want ErrCorrupt", tt.in, err)
			}
		})
	}
}

func decodeWith[T any]() func([]byte) error {
	c := MustFor[T]()
	return func(b []byte) error {
		_, _, err := c.Decode(b)
		return err
	}
}

// Appending scalars and flat structs allocates nothing once dst has room.
func TestAppendDoesNotAllocate(t *testing.T) {
	dst := make([]byte, 0, 1024)
	sale := Sale{ID: 1, Region: "EU", Tags: []string{"a", "b"}, Note: ptr("n"), Raw: []byte("x")}
	tests := []struct {
		name string
		f    func()
	}{
		{"int64", func() { MustFor[int64]().Append(dst, 42) }},
		{"string", func() { MustFor[string]().Append(dst, "hello") }},
		{"KV", func() { MustFor[KV[string, int]]().Append(dst, KV[string, int]{"a", 1}) }},
		{"sale without map", func() { MustFor[Sale]().Append(dst, sale) }},
		{"ordered float", func() { Ordered[float64]().Append(dst, 1.5) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f() // resolve the codec
			if n := testing.AllocsPerRun(100, tt.f); n != 0 {
				t.Fatalf("%v allocations per Append", n)
			}
		})
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		name string
		enc  []byte
		want []byte
	}{
		{"named string is ordered", mustKey[Region]().Append(nil, "ab"), []byte("ab")},
		{"int is ordered", mustKey[int]().Append(nil, -1), []byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"duration is ordered", mustKey[time.Duration]().Append(nil, 1), []byte{0x80, 0, 0, 0, 0, 0, 0, 1}},
		{"struct uses For", mustKey[KV[string, int]]().Append(nil, KV[string, int]{"a", 1}), []byte{1, 'a', 2}},
		{"bool uses For", mustKey[bool]().Append(nil, true), []byte{1}},
		{"netip uses its marshaler", mustKey[netip.Addr]().Append(nil, netip.MustParseAddr("1.2.3.4")), []byte{4, 1, 2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.Equal(tt.enc, tt.want) {
				t.Fatalf("got %x, want %x", tt.enc, tt.want)
			}
		})
	}
}

func mustKey[K any]() Codec[K] {
	c, err := Key[K]()
	if err != nil {
		panic(err)
	}
	return c
}

func TestHashIsFixed(t *testing.T) {
	// xxhash64 with seed 0 of "spindle", computed once; every process must agree.
	if got, want := Hash([]byte("spindle")), Hash(append([]byte(nil), "spindle"...)); got != want {
		t.Fatalf("Hash differs for equal bytes: %x %x", got, want)
	}
	if Hash([]byte("a")) == Hash([]byte("b")) {
		t.Fatal("Hash(a) == Hash(b)")
	}
	if got := Hash(nil); got != 0xef46db3751d8e999 {
		t.Fatalf("Hash(nil) = %#x, want xxhash64's %#x", got, uint64(0xef46db3751d8e999))
	}
}

// Codecs resolve once, whichever goroutines ask first.
func TestForConcurrent(t *testing.T) {
	type fresh struct {
		A []map[string]*tree
		B [2]family
	}
	const n = 8
	got := make(chan Codec[fresh], n)
	for range n {
		go func() { got <- MustFor[fresh]() }()
	}
	first := <-got
	for range n - 1 {
		if c := <-got; c != first {
			t.Fatal("For returned different codecs for one type")
		}
	}
	v := fresh{A: []map[string]*tree{{"x": {V: 1}}}, B: [2]family{{Name: "f"}}}
	roundTrip(v)(t)
}
