package spindle

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// textOf is SaveAsText's line for v.
func textOf[T any](v T) string {
	return string(textFormat[T]()(nil, unsafe.Pointer(&v)))
}

// TestTextFormat checks the lines SaveAsText writes, as its documentation says:
// fmt.Print's form (a float64 in the shortest form that reads back exactly, in
// exponent form from 1e6 up and below 1e-4), strings and byte slices as they are,
// a KV as "key<TAB>value", and a value formatted by the job itself as it chose.
func TestTextFormat(t *testing.T) {
	type point struct{ X, Y int }
	tenth, fifth := 0.1, 0.2 // variables: a constant sum would be exactly 0.3
	tests := []struct {
		name, got, want string
	}{
		{"string", textOf("a b"), "a b"},
		{"bytes", textOf([]byte("raw")), "raw"},
		{"int", textOf(-42), "-42"},
		{"uint8", textOf(uint8(7)), "7"},
		{"bool", textOf(true), "true"},
		{"float64", textOf(4183404472.2999783), "4.1834044722999783e+09"},
		{"small float64", textOf(tenth + fifth), "0.30000000000000004"},
		{"float32", textOf(float32(1.5)), "1.5"},
		{"job's own format", textOf(KV[string, string]{"north", fmt.Sprintf("%.2f", 4183404472.2999783)}), "north\t4183404472.30"},
		{"KV", textOf(KV[string, float64]{"north", 2.5}), "north\t2.5"},
		{"Pair", textOf(Pair[int, string]{1, "x"}), "(1,x)"},
		{"struct via fmt", textOf(point{1, 2}), "{1 2}"},
		{"Stringer via fmt", textOf(2 * time.Second), "2s"},
		{"error via fmt", textOf(errors.New("boom")), "boom"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	// Every scalar is what fmt.Print writes.
	for _, v := range []any{int8(-3), int16(300), int32(-7), int64(1 << 40), uint(9), uint16(65535), uint32(1), uint64(1 << 63), 1e21, 123456.0, 1234567.0, 0.00001, float32(0.1)} {
		var got string
		switch v := v.(type) {
		case int8:
			got = textOf(v)
		case int16:
			got = textOf(v)
		case int32:
			got = textOf(v)
		case int64:
			got = textOf(v)
		case uint:
			got = textOf(v)
		case uint16:
			got = textOf(v)
		case uint32:
			got = textOf(v)
		case uint64:
			got = textOf(v)
		case float64:
			got = textOf(v)
		case float32:
			got = textOf(v)
		}
		if want := fmt.Sprint(v); got != want {
			t.Errorf("%T %v: %q, fmt.Print writes %q", v, v, got, want)
		}
	}
}

// TestCSVRecordsReadSkipsHeader: the summary's records read are a CSV's rows, not
// its header or blank lines.
func TestCSVRecordsReadSkipsHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sales.csv")
	if err := os.WriteFile(path, []byte("region,revenue,units\nnorth,10.5,1\n\nsouth,3,2\neast,2.0,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestSession(t)
	if got := collect(t, ReadCSV[sale](s, path)); len(got) != 3 {
		t.Fatalf("%d rows, want 3", len(got))
	}
	if n := s.Summary().RecordsRead; n != 3 {
		t.Fatalf("records read %d, want the 3 rows", n)
	}
	if !strings.Contains(s.Summary().String(), "records read 3;") {
		t.Fatalf("summary:\n%s", s.Summary())
	}
}

// TestDroppedRowsPerJob: two jobs reading one file with 2 malformed rows each say
// they dropped 2, rather than a sum of 4 that the file does not have.
func TestDroppedRowsPerJob(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sales.csv")
	if err := os.WriteFile(path, []byte("region,revenue,units\nnorth,10.5,1\nsouth,lots,2\neast,2.0\nwest,1,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestSession(t, "spindle.csv.mode", "DROPMALFORMED")
	rows := ReadCSV[sale](s, path)
	for range 2 {
		if n, err := Count(context.Background(), rows); err != nil || n != 2 {
			t.Fatalf("Count = %d, %v; want 2 rows", n, err)
		}
	}
	sum := s.Summary()
	got := sum.String()
	if len(sum.DroppedByJob) != 2 || sum.DroppedByJob[0].N != 2 || sum.DroppedByJob[1].N != 2 ||
		!strings.Contains(got, "malformed rows dropped per job (spindle.csv.mode=DROPMALFORMED): 2 by ") || strings.Contains(got, "dropped: 4") {
		t.Fatalf("summary:\n%s\nwant 2 dropped rows by each job", got)
	}
	if sum.RecordsRead != 8 {
		t.Fatalf("records read %d, want the 4 rows twice", sum.RecordsRead)
	}
}

// TestMalformedValueNamesColumnOnce: a value that does not parse names its file,
// line and column once.
func TestMalformedValueNamesColumnOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sales.csv")
	if err := os.WriteFile(path, []byte("region,revenue,units\nnorth,lots,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestSession(t)
	_, err := Count(context.Background(), ReadCSV[sale](s, path))
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("Count: %v, want an InputError", err)
	}
	msg := ie.Error()
	if n := strings.Count(msg, `"revenue"`); n != 1 || !strings.Contains(msg, path+":2: ") || !strings.Contains(msg, `value "lots"`) {
		t.Fatalf("error %q: want the file, line 2, value and column named once (%d times)", msg, n)
	}
}

// TestMissingInputNamedOnce: an input path that does not exist is named once, as
// missing, before any task runs.
func TestMissingInputNamedOnce(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no", "such.txt")
	s := newTestSession(t)
	_, err := Count(context.Background(), ReadText(s, missing))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Count: %v, want fs.ErrNotExist", err)
	}
	msg := err.Error()
	if strings.Count(msg, missing) != 1 || strings.Count(msg, "input") != 1 {
		t.Fatalf("error %q: want the input path named once", msg)
	}
}
