package codec

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

type fuzzRow struct {
	K     KV[string, int32]
	All   allKinds
	Bytes []byte
	Ptr   *tree
	M     map[uint8][]float32
	At    time.Time
	P     point
	Proto *wrapperspb.StringValue
	Empty []struct{}
}

// decodeAll decodes data with codecs of many shapes; none may panic, and whatever
// decodes must encode and decode again.
func decodeAll(t *testing.T, data []byte) {
	fuzzOne[fuzzRow](t, data)
	fuzzOne[nested](t, data)
	fuzzOne[[]withMarshaler](t, data)
	fuzzOne[map[string]*int](t, data)
	fuzzOne[string](t, data)
	fuzzOne[int16](t, data)
	if v, _, err := Ordered[float64]().Decode(data); err == nil {
		Ordered[float64]().Append(nil, v)
	}
	if v, _, err := Ordered[string]().Decode(data); err == nil && v != string(data) {
		t.Fatalf("ordered string %q from %x", v, data)
	}
}

func fuzzOne[T any](t *testing.T, data []byte) {
	c := MustFor[T]()
	v, _, err := c.Decode(data)
	if err != nil {
		return
	}
	if _, _, err := c.Decode(c.Append(nil, v)); err != nil {
		t.Fatalf("%T decoded from %x does not decode after encoding: %v", v, data, err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add(MustFor[fuzzRow]().Append(nil, fuzzRow{K: KV[string, int32]{"k", -1}, Ptr: &tree{V: 1},
		M: map[uint8][]float32{1: {2}}, Proto: wrapperspb.String("p"), Empty: make([]struct{}, 3)}))
	f.Add(MustFor[nested]().Append(nil, nested{List: []allKinds{{S: "x"}}}))
	f.Fuzz(decodeAll)
}
