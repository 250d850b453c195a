package codec

import (
	"bytes"
	"cmp"
	"math"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"
	"time"
)

// quickConfig keeps property runs small: the machine is shared.
var quickConfig = &quick.Config{MaxCount: 300, Rand: nil}

// roundTripProperty checks, for random values of T, that Decode(Append(v)) == v, that
// nothing is left over, and that the decoded (equal) value encodes to equal bytes.
func roundTripProperty[T any](t *testing.T) {
	c := MustFor[T]()
	f := func(v T) bool {
		enc := c.Append(nil, v)
		got, rest, err := c.Decode(enc)
		if err != nil || len(rest) != 0 {
			t.Logf("Decode(%x) = %v, rest %x", enc, err, rest)
			return false
		}
		if !reflect.DeepEqual(got, v) {
			t.Logf("got %#v, want %#v", got, v)
			return false
		}
		return bytes.Equal(c.Append(nil, got), enc)
	}
	if err := quick.Check(f, quickConfig); err != nil {
		t.Fatal(err)
	}
}

type quickRow struct {
	ID    int64
	Name  string
	Score float64
	Tags  []string
	Attrs map[string]int32
	Ptr   *KV[uint16, []byte]
	Grid  [2][3]int8
	Flags []bool
}

func TestPropertyRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"int64", roundTripProperty[int64]},
		{"int16", roundTripProperty[int16]},
		{"uint32", roundTripProperty[uint32]},
		{"float64", roundTripProperty[float64]},
		{"float32", roundTripProperty[float32]},
		{"string", roundTripProperty[string]},
		{"bytes", roundTripProperty[[]byte]},
		{"all kinds", roundTripProperty[allKinds]},
		{"nested", roundTripProperty[nested]},
		{"row", roundTripProperty[quickRow]},
		{"KV", roundTripProperty[KV[string, []float64]]},
		{"map of slices", roundTripProperty[map[int][]string]},
		{"pointers", roundTripProperty[[]*int]},
		{"tree", roundTripProperty[*tree]},
		{"marshalers", roundTripProperty[[]point]},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func (point) Generate(r *rand.Rand, _ int) reflect.Value {
	return reflect.ValueOf(point{int8(r.Intn(256)), int8(r.Intn(256))})
}

// Times round trip to the same instant, whatever their zone.
func TestPropertyTime(t *testing.T) {
	c := MustFor[time.Time]()
	f := func(sec int64, nsec uint32, zone int16) bool {
		v := time.Unix(sec>>1, int64(nsec%1e9)).In(time.FixedZone("z", int(zone)))
		got, _, err := c.Decode(c.Append(nil, v))
		return err == nil && got.Equal(v) && got.Location() == time.UTC
	}
	if err := quick.Check(f, quickConfig); err != nil {
		t.Fatal(err)
	}
}

// Maps built in different orders encode equally.
func TestPropertyMapOrder(t *testing.T) {
	c := MustFor[map[string]int]()
	f := func(keys []string) bool {
		a, b := map[string]int{}, map[string]int{}
		for i, k := range keys {
			a[k] = i
		}
		for i := len(keys) - 1; i >= 0; i-- {
			if _, ok := b[keys[i]]; !ok {
				b[keys[i]] = a[keys[i]]
			}
		}
		return bytes.Equal(c.Append(nil, a), c.Append(nil, b))
	}
	if err := quick.Check(f, quickConfig); err != nil {
		t.Fatal(err)
	}
}

// orderProperty checks that Ordered's byte order is cmp.Compare's for random pairs
// and the given edge values, and that keys round trip.
func orderProperty[K cmp.Ordered](edges ...K) func(*testing.T) {
	return func(t *testing.T) {
		c := Ordered[K]()
		check := func(a, b K) bool {
			ea, eb := c.Append(nil, a), c.Append(nil, b)
			if got, want := bytes.Compare(ea, eb), cmp.Compare(a, b); got != want {
				t.Logf("Compare(%v, %v): bytes %d, values %d (%x, %x)", a, b, got, want, ea, eb)
				return false
			}
			da, rest, err := c.Decode(ea)
			return err == nil && len(rest) == 0 && cmp.Compare(da, a) == 0
		}
		if err := quick.Check(check, quickConfig); err != nil {
			t.Fatal(err)
		}
		for _, a := range edges {
			for _, b := range edges {
				if !check(a, b) {
					t.Fatalf("edge pair %v, %v", a, b)
				}
			}
		}
	}
}

func TestPropertyOrdered(t *testing.T) {
	negZero := math.Copysign(0, -1)
	floats := []float64{math.NaN(), math.Inf(-1), -math.MaxFloat64, -1, -math.SmallestNonzeroFloat64,
		negZero, 0, math.SmallestNonzeroFloat64, 1, math.MaxFloat64, math.Inf(1)}
	var floats32 []float32
	for _, f := range floats {
		floats32 = append(floats32, float32(f))
	}
	tests := []struct {
		name string
		run  func(*testing.T)
	}{
		{"int", orderProperty(math.MinInt, -1, 0, 1, math.MaxInt)},
		{"int8", orderProperty[int8](math.MinInt8, -1, 0, 1, math.MaxInt8)},
		{"int16", orderProperty[int16](math.MinInt16, -1, 0, 1, math.MaxInt16)},
		{"int32", orderProperty[int32](math.MinInt32, -1, 0, 1, math.MaxInt32)},
		{"int64", orderProperty[int64](math.MinInt64, -1, 0, 1, math.MaxInt64)},
		{"uint8", orderProperty[uint8](0, 1, math.MaxUint8)},
		{"uint16", orderProperty[uint16](0, 1, math.MaxUint16)},
		{"uint32", orderProperty[uint32](0, 1, math.MaxUint32)},
		{"uint64", orderProperty[uint64](0, 1, math.MaxUint64)},
		{"uintptr", orderProperty[uintptr](0, 1)},
		{"float32", orderProperty(floats32...)},
		{"float64", orderProperty(floats...)},
		{"string", orderProperty("", "\x00", "\x00\x00", "a", "a\x00", "ab", "b", "\xff", "é")},
		{"named", orderProperty[Celsius](-1, 0, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}
