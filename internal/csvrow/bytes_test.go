package csvrow

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func TestSplitBytes(t *testing.T) {
	tests := []struct {
		line string
		want []string
		ok   bool
	}{
		{"a,b,c", []string{"a", "b", "c"}, true},
		{"", []string{""}, true},
		{",,", []string{"", "", ""}, true},
		{"x, y ,", []string{"x", " y ", ""}, true},
		{`a,"b,c"`, nil, false},
	}
	for _, tt := range tests {
		views, ok := SplitBytes(nil, []byte(tt.line))
		var got []string
		for _, v := range views {
			got = append(got, string(v))
		}
		if ok != tt.ok || (ok && !slices.Equal(got, tt.want)) {
			t.Errorf("SplitBytes(%q) = %q, %v; want %q, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

// TestDecodeBytesMatchesDecode decodes records from byte views and from strings and
// requires the same rows and the same errors: the byte path's fast number parsing
// must agree with strconv everywhere, and leave to it what it does not take.
func TestDecodeBytesMatchesDecode(t *testing.T) {
	records := [][]string{
		{"7", "north", "10.5", "-3", "-128", "65535", "0.25", "true", "2026-11-28T22:30:00Z", "gift", "4", "tea"},
		{" 9 ", "", "-0.5", "1", "0", "0", "1e-7", " false ", "2026-11-28T23:30:00+01:00", "", "", " spaced "},
		{"-0", "s", "-0", "+4", "127", "1", "0.1", "1", "2026-01-01T00:00:00Z", "n", "0", "p"},
		{"007", "s", "1.", "0", "-1", "2", ".5", "0", "2026-01-01T00:00:00Z", "n", "1", "p"},
		{"123456789012345678", "s", "123456789012345.6", "99", "1", "3", "3.4e38", "T", "2026-01-01T00:00:00Z", "n", "2", "p"},
		{"1234567890123456789", "s", "9007199254740993", "0", "1", "3", "16777217", "F", "2026-01-01T00:00:00Z", "n", "2", "p"},
		{"1", "s", "0.1234567890123456789012", "0", "1", "3", "0.3", "true", "2026-01-01T00:00:00Z", "n", "2", "p"},
		{"1", "s", "1e400", "0", "1", "3", "0.3", "true", "2026-01-01T00:00:00Z", "n", "2", "p"},
		{"x", "s", "1", "0", "1", "3", "0.3", "true", "2026-01-01T00:00:00Z", "n", "2", "p"},
		{"1", "s", "1.2.3", "0", "1", "3", "0.3", "true", "2026-01-01T00:00:00Z", "n", "2", "p"},
		{"1", "s", "1", "0", "128", "3", "0.3", "true", "2026-01-01T00:00:00Z", "n", "2", "p"},
		{"1", "s", "1", "0", "1", "65536", "0.3", "true", "2026-01-01T00:00:00Z", "n", "2", "p"},
		{"1", "s", "1", "0", "1", "-1", "0.3", "true", "2026-01-01T00:00:00Z", "n", "2", "p"},
		{"1", "s", "-", "0", "1", "1", "0.3", "true", "2026-01-01T00:00:00Z", "n", "2", "p"},
		{"1", "s", "NaN", "0", "1", "1", "Inf", "true", "2026-01-01T00:00:00Z", "n", "2", "p"},
		{"1", "s"},
	}
	d, err := NewDecoder[row](rowHeader)
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range records {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var want, got row
			wantErr := d.Decode(rec, &want)
			views := make([][]byte, len(rec))
			for j, f := range rec {
				views[j] = []byte(f)
			}
			gotErr := d.DecodeBytes(views, &got)
			if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
				t.Fatalf("errors differ: Decode %v, DecodeBytes %v", wantErr, gotErr)
			}
			if wantErr != nil {
				return
			}
			// NaN is the one value not equal to itself.
			if math.IsNaN(want.Revenue) && math.IsNaN(got.Revenue) {
				want.Revenue, got.Revenue = 0, 0
			}
			if math.Signbit(want.Revenue) != math.Signbit(got.Revenue) {
				t.Fatalf("Revenue sign: got %v, want %v", got.Revenue, want.Revenue)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
			// The views are the caller's buffer: nothing decoded may point into them.
			for j := range views {
				for k := range views[j] {
					views[j][k] = '#'
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded row changed with its input buffer: %+v", got)
			}
		})
	}
}

// TestParseFloatMatchesStrconv: whatever parseFloat accepts, it parses exactly as
// strconv.ParseFloat does, over random decimals of every length.
func TestParseFloatMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	taken := 0
	for range 200000 {
		var b strings.Builder
		if rng.IntN(4) == 0 {
			b.WriteByte('-')
		}
		for range rng.IntN(17) {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		if rng.IntN(3) > 0 {
			b.WriteByte('.')
			for range rng.IntN(24) {
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
		}
		s := b.String()
		if s == "" {
			continue
		}
		got, ok := parseFloat([]byte(s))
		want, err := strconv.ParseFloat(s, 64)
		if !ok {
			continue
		}
		taken++
		if err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseFloat(%q) = %v; strconv: %v, %v", s, got, want, err)
		}
		if i, ok := parseInt([]byte(s)); ok {
			if want, err := strconv.ParseInt(s, 10, 64); err != nil || i != want {
				t.Fatalf("parseInt(%q) = %d; strconv: %d, %v", s, i, want, err)
			}
		}
	}
	if taken < 100000 {
		t.Fatalf("the fast path took only %d of the decimals", taken)
	}
}

// TestDecodeBytesInterns: a low-cardinality column's equal values share one string,
// and a column past the interning bound still decodes every value.
func TestDecodeBytesInterns(t *testing.T) {
	type r struct {
		Region string `csv:"region"`
	}
	d, err := NewDecoder[r]([]string{"region"})
	if err != nil {
		t.Fatal(err)
	}
	var a, b r
	d.DecodeBytes([][]byte{[]byte("north")}, &a)
	d.DecodeBytes([][]byte{[]byte("north")}, &b)
	if a.Region != "north" || b.Region != "north" {
		t.Fatalf("got %q and %q", a.Region, b.Region)
	}
	if unsafe.StringData(a.Region) != unsafe.StringData(b.Region) {
		t.Fatal("equal values of a low-cardinality column were not interned")
	}
	for i := range internMax + 10 {
		var x r
		v := fmt.Sprint("v", i)
		if err := d.DecodeBytes([][]byte{[]byte(v)}, &x); err != nil || x.Region != v {
			t.Fatalf("value %d: %q, %v", i, x.Region, err)
		}
	}
	var missing r
	err = d.DecodeBytes(nil, &missing)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Column != "region" {
		t.Fatalf("a record without the column: %v", err)
	}
}

// BenchmarkDecodeBytes decodes the revenue job's row from views of a line's fields,
// as ReadCSV does for unquoted lines.
func BenchmarkDecodeBytes(b *testing.B) {
	d, err := NewDecoder[benchRow]([]string{"order_id", "date", "region", "quantity", "unit_price"})
	if err != nil {
		b.Fatal(err)
	}
	line := []byte("1234567,2026-11-28,EMEA,3,19.99")
	var views [][]byte
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	var r benchRow
	for b.Loop() {
		views, _ = SplitBytes(views[:0], line)
		if err := d.DecodeBytes(views, &r); err != nil {
			b.Fatal(err)
		}
	}
}
