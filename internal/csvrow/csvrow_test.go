package csvrow

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

type Base struct {
	ID int64 `csv:"id"`
}

type row struct {
	Base
	Region  string    `csv:"region"`
	Revenue float64   `csv:"revenue"`
	Units   int       `csv:"units"`
	Small   int8      `csv:"small"`
	U16     uint16    `csv:"u16"`
	Ratio   float32   `csv:"ratio"`
	Paid    bool      `csv:"paid"`
	At      time.Time `csv:"at"`
	Note    *string   `csv:"note"`
	Count   *uint32   `csv:"count"`
	Product string    // matched by name, ignoring case
	cache   int
	Skip    []int `csv:"-"`
}

var rowHeader = []string{"id", "region", "revenue", "units", "small", "u16", "ratio", "paid", "at", "note", "count", "Product"}

func ptr[T any](v T) *T { return &v }

func TestDecode(t *testing.T) {
	at := time.Date(2026, 11, 28, 22, 30, 0, 500, time.UTC)
	tests := []struct {
		name   string
		header []string
		record []string
		want   row
	}{
		{
			name:   "all kinds",
			header: rowHeader,
			record: []string{"7", "north", "10.5", "-3", "-128", "65535", "0.25", "true", "2026-11-28T22:30:00.0000005Z", "gift", "4", "tea"},
			want: row{Base: Base{7}, Region: "north", Revenue: 10.5, Units: -3, Small: -128, U16: 65535, Ratio: 0.25,
				Paid: true, At: at, Note: ptr("gift"), Count: ptr(uint32(4)), Product: "tea"},
		},
		{
			name:   "reordered, extra columns, spaces and case",
			header: []string{"\ufeffpaid", "extra", "PRODUCT", " count ", "note", "at", "ratio", "u16", "small", "units", "revenue", "region", "id"},
			record: []string{" false ", "x", " spaced ", "", "", "2026-11-28T23:30:00+01:00", "1e-7", "0", "0", "1", "-0.5", "", " 9 "},
			want:   row{Base: Base{9}, Revenue: -0.5, Units: 1, Ratio: 1e-7, At: at.Add(-500), Product: " spaced "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDecoder[row](tt.header)
			if err != nil {
				t.Fatal(err)
			}
			got := row{Note: ptr("stale"), cache: 1}
			if err := d.Decode(tt.record, &got); err != nil {
				t.Fatal(err)
			}
			tt.want.cache = 1
			if !got.At.Equal(tt.want.At) {
				t.Fatalf("At = %v, want %v", got.At, tt.want.At)
			}
			got.At, tt.want.At = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// An exact header match wins over a case-insensitive one.
func TestDecodeExactNameWins(t *testing.T) {
	type r struct{ Name string }
	d, err := NewDecoder[r]([]string{"NAME", "Name"})
	if err != nil {
		t.Fatal(err)
	}
	var got r
	if err := d.Decode([]string{"upper", "exact"}, &got); err != nil || got.Name != "exact" {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestDecodeFieldErrors(t *testing.T) {
	good := []string{"7", "north", "10.5", "-3", "1", "2", "0.25", "true", "2026-11-28T22:30:00Z", "", "", "tea"}
	tests := []struct {
		name   string
		index  int
		value  string
		record []string // if set, used instead of good with value at index
		want   error
	}{
		{name: "float", index: 2, value: "abc", want: strconv.ErrSyntax},
		{name: "int", index: 3, value: "1.5", want: strconv.ErrSyntax},
		{name: "int8 range", index: 4, value: "128", want: strconv.ErrRange},
		{name: "uint16 negative", index: 5, value: "-1", want: strconv.ErrSyntax},
		{name: "bool", index: 7, value: "yes", want: strconv.ErrSyntax},
		{name: "empty int", index: 0, value: "", want: strconv.ErrSyntax},
		{name: "pointer", index: 10, value: "x", want: strconv.ErrSyntax},
		{name: "short record", index: 11, record: good[:11], want: errMissing},
	}
	d, err := NewDecoder[row](rowHeader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tt.record
			if rec == nil {
				rec = slices.Clone(good)
				rec[tt.index] = tt.value
			}
			var r row
			err := d.Decode(rec, &r)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Decode = %v, want a *FieldError", err)
			}
			if fe.Column != rowHeader[tt.index] || fe.Index != tt.index || fe.Value != tt.value || !errors.Is(err, tt.want) {
				t.Fatalf("FieldError = %+v (%v), want column %q index %d value %q wrapping %v",
					fe, err, rowHeader[tt.index], tt.index, tt.value, tt.want)
			}
		})
	}
	t.Run("time", func(t *testing.T) {
		rec := slices.Clone(good)
		rec[8] = "2026-11-28"
		var r row
		var fe *FieldError
		if err := d.Decode(rec, &r); !errors.As(err, &fe) || fe.Column != "at" || !strings.Contains(err.Error(), `"2026-11-28"`) {
			t.Fatalf("Decode = %v", err)
		}
	})
}

type withChan struct {
	Name string
	C    chan int
}

func TestNewDecoderErrors(t *testing.T) {
	tests := []struct {
		name string
		new  func() error
		want string
	}{
		{"missing column", func() error { _, err := NewDecoder[row](rowHeader[1:]); return err },
			`csvrow: field row.Base.ID wants column "id", which is not in the header [region,revenue,units,small,u16,ratio,paid,at,note,count,Product]`},
		{"missing untagged", func() error { _, err := NewDecoder[row](rowHeader[:11]); return err },
			`csvrow: field row.Product wants column "Product", which is not in the header [id,region,revenue,units,small,u16,ratio,paid,at,note,count]`},
		{"unsupported field", func() error { _, err := NewDecoder[withChan]([]string{"Name", "C"}); return err },
			"csvrow: field withChan.C: chan int has no CSV form (tag it `csv:\"-\"`)"},
		{"not a struct", func() error { _, err := NewDecoder[int]([]string{"x"}); return err },
			"csvrow: int is not a struct"},
		{"encoder unsupported", func() error { _, err := NewEncoder[withChan](); return err },
			"csvrow: field withChan.C: chan int has no CSV form (tag it `csv:\"-\"`)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.new(); err == nil || err.Error() != tt.want {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
	_, err := NewDecoder[row](nil)
	var me *MissingColumnError
	if !errors.As(err, &me) || me.Field != "row.Base.ID" || me.Column != "id" {
		t.Fatalf("NewDecoder(nil) = %v, want a *MissingColumnError for row.Base.ID", err)
	}
}

func TestEncode(t *testing.T) {
	e, err := NewEncoder[row]()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.Header(), rowHeader) {
		t.Fatalf("Header = %q, want %q", e.Header(), rowHeader)
	}
	at := time.Date(2026, 11, 28, 22, 30, 0, 500, time.FixedZone("X", 3600))
	tests := []struct {
		name string
		in   row
		want []string
	}{
		{"values", row{Base: Base{-1}, Region: "a,b", Revenue: 0.1, Units: 3, Small: -8, U16: 9, Ratio: 0.1,
			Paid: true, At: at, Note: ptr(""), Count: ptr(uint32(7)), Product: "p"},
			[]string{"-1", "a,b", "0.1", "3", "-8", "9", "0.1", "true", "2026-11-28T22:30:00.0000005+01:00", "", "7", "p"}},
		{"zero", row{}, []string{"0", "", "0", "0", "0", "0", "0", "false", "0001-01-01T00:00:00Z", "", "", ""}},
		{"float extremes", row{Revenue: 1e-7, Ratio: math.MaxFloat32},
			[]string{"0", "", "1e-07", "0", "0", "0", "3.4028235e+38", "false", "0001-01-01T00:00:00Z", "", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.Encode([]string{"keep"}, &tt.in)
			if !slices.Equal(got, append([]string{"keep"}, tt.want...)) {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// Encoded records decode to the same values (floats round trip exactly; an empty
// note reads back as nil).
func TestRoundTrip(t *testing.T) {
	e, err := NewEncoder[row]()
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecoder[row](e.Header())
	if err != nil {
		t.Fatal(err)
	}
	tests := []row{
		{Base: Base{math.MaxInt64}, Region: " r ", Revenue: math.Pi, Units: math.MinInt, Small: 127, U16: 1,
			Ratio: float32(math.E), Paid: true, At: time.Unix(1_700_000_000, 123).UTC(), Note: ptr("n"), Count: ptr(uint32(math.MaxUint32)), Product: "x"},
		{Revenue: math.SmallestNonzeroFloat64, Ratio: math.SmallestNonzeroFloat32, At: time.Unix(0, 0).UTC()},
		{Revenue: math.Inf(-1), Ratio: float32(math.Inf(1))},
	}
	for i, want := range tests {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			var got row
			if err := d.Decode(e.Encode(nil, &want), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}
