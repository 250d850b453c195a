package frame

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/spindle-engine/spindle/hdfs"
)

type pqRow struct {
	K *string `parquet:"k"`
	G int64   `parquet:"g"`
	V *int64  `parquet:"v"`
}

func ptr[T any](v T) *T { return &v }

// writeRowGroups writes a Parquet file with one row group per element of groups.
func writeRowGroups(t *testing.T, path string, groups [][]pqRow) {
	t.Helper()
	s, err := SchemaOf[pqRow]()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	pw, err := NewParquetWriter(&buf, s, "zstd")
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range groups {
		if i > 0 {
			pw.EndRowGroup()
		}
		err := BatchesOf[pqRow](s, func(yield func(pqRow) bool) error {
			for _, r := range g {
				if !yield(r) {
					break
				}
			}
			return nil
		})(func(b arrow.RecordBatch) bool {
			if err := pw.Write(b); err != nil {
				t.Fatal(err)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func localFS() Filesystems { return hdfs.NewFileSystems(hdfs.Options{}) }

func wholeSplit(scan *ParquetScan) ParquetSplit {
	sp := ParquetSplit{}
	for _, s := range scan.Splits {
		sp.RowGroups = append(sp.RowGroups, s.RowGroups...)
	}
	return sp
}

// TestParquetPrunesAndSkips reads one column of three row groups with filters
// that the row groups' statistics rule in or out.
func TestParquetPrunesAndSkips(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.parquet")
	var groups [][]pqRow
	for g := int64(0); g < 3; g++ {
		var rows []pqRow
		for i := int64(0); i < 100; i++ {
			rows = append(rows, pqRow{K: ptr("k"), G: g*1000 + i, V: ptr(i)})
		}
		groups = append(groups, rows)
	}
	writeRowGroups(t, path, groups)
	ctx := context.Background()
	scan, schema, err := PlanParquet(ctx, localFS(), []string{path}, func(int64) int64 { return 1 << 30 })
	if err != nil {
		t.Fatal(err)
	}
	if got := schema.Names(); !slices.Equal(got, []string{"k", "g", "v"}) {
		t.Fatalf("schema %v", got)
	}
	lit := func(v any) *Expr { e, _ := LitOf(v); return e }
	for _, tc := range []struct {
		name          string
		preds         []*Expr
		read, skipped int
	}{
		{"no filter", nil, 3, 0},
		{"g > 1500", []*Expr{Call("gt", Col("g"), lit(1500))}, 1, 2},
		{"g = 1050", []*Expr{Call("eq", Col("g"), lit(1050))}, 1, 2},
		{"1050 >= g", []*Expr{Call("ge", lit(1050), Col("g"))}, 2, 1},
		{"g < 0", []*Expr{Call("lt", Col("g"), lit(-1))}, 0, 3},
		{"not a comparison", []*Expr{Call("isnull", Col("g"))}, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m ScanMetrics
			out := &Schema{Fields: []Field{schema.Fields[1]}}
			rows := 0
			err := scanParquet(ctx, localFS(), scan, wholeSplit(scan), out, tc.preds, &m, nil, func(b arrow.RecordBatch) bool {
				if b.NumCols() != 1 {
					t.Errorf("read %d columns, want only g", b.NumCols())
				}
				rows += int(b.NumRows())
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			if m.RowGroupsRead != tc.read || m.RowGroupsSkipped != tc.skipped || rows != 100*tc.read {
				t.Errorf("read %d skipped %d row groups (%d rows), want %d and %d", m.RowGroupsRead, m.RowGroupsSkipped, rows, tc.read, tc.skipped)
			}
		})
	}
}

// TestParquetErrorsNameFileAndColumn checks a file that is not Parquet and a
// column a file lacks.
func TestParquetErrorsNameFileAndColumn(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.parquet")
	os.WriteFile(bad, []byte("PAR1 this is not parquet at all PAR1"), 0o644)
	ctx := context.Background()
	_, _, err := PlanParquet(ctx, localFS(), []string{bad}, func(int64) int64 { return 1 << 20 })
	var pe *ParquetError
	if !errors.As(err, &pe) || pe.Path != bad || !strings.Contains(err.Error(), bad) {
		t.Fatalf("malformed file: %v, want a ParquetError naming %s", err, bad)
	}

	good := filepath.Join(dir, "good.parquet")
	writeRowGroups(t, good, [][]pqRow{{{G: 1}}})
	scan, _, err := PlanParquet(ctx, localFS(), []string{good}, func(int64) int64 { return 1 << 20 })
	if err != nil {
		t.Fatal(err)
	}
	out := &Schema{Fields: []Field{{Name: "revenue", Type: TInt64}}}
	err = scanParquet(ctx, localFS(), scan, scan.Splits[0], out, nil, nil, nil, func(arrow.RecordBatch) bool { return true })
	if !errors.As(err, &pe) || pe.Column != "revenue" || !strings.Contains(err.Error(), good) || !strings.Contains(err.Error(), `"revenue"`) {
		t.Fatalf("missing column: %v, want an error naming %s and column revenue", err, good)
	}

	other := filepath.Join(dir, "other.parquet")
	writeRowGroups(t, other, [][]pqRow{{{G: 1}}})
	type narrow struct {
		K string `parquet:"k"`
	}
	s, _ := SchemaOf[narrow]()
	var buf bytes.Buffer
	pw, _ := NewParquetWriter(&buf, s, "snappy")
	pw.Close()
	third := filepath.Join(dir, "third.parquet")
	os.WriteFile(third, buf.Bytes(), 0o644)
	_, _, err = PlanParquet(ctx, localFS(), []string{dir + "/*.parquet"}, func(int64) int64 { return 1 << 20 })
	if err == nil || !strings.Contains(err.Error(), "bad.parquet") {
		t.Fatalf("glob with a bad file: %v", err)
	}
	os.Remove(bad)
	_, _, err = PlanParquet(ctx, localFS(), []string{dir}, func(int64) int64 { return 1 << 20 })
	if !errors.As(err, &pe) || pe.Path != third || pe.Column != "g" {
		t.Fatalf("file without a column of the first: %v, want it to name %s and column g", err, third)
	}
}

func TestShowString(t *testing.T) {
	b := array.NewStringBuilder(mem)
	b.AppendValues([]string{"a", "a string longer than twenty characters"}, nil)
	b.AppendNull()
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{1, 22, 333}, nil)
	s := &Schema{Fields: []Field{{Name: "name", Type: TString}, {Name: "n", Type: TInt64}}}
	batch := newBatch(s, []arrow.Array{b.NewArray(), ib.NewArray()}, 3)
	got := ShowString(s, []arrow.RecordBatch{batch}, 2, 20)
	want := `+--------------------+---+
|                name|  n|
+--------------------+---+
|                   a|  1|
|a string longer t...| 22|
+--------------------+---+
only showing top 2 rows
`
	if got != want {
		t.Errorf("ShowString:\n%s\nwant\n%s", got, want)
	}
}

func TestJavaDouble(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{{1, "1.0"}, {1.5, "1.5"}, {0.001, "0.001"}, {0.0001, "1.0E-4"}, {1e7, "1.0E7"}, {12345678.9, "1.23456789E7"}, {-2.5e-5, "-2.5E-5"}, {0, "0.0"}, {9999999, "9999999.0"}} {
		if got := JavaDouble(tc.f); got != tc.want {
			t.Errorf("JavaDouble(%v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}

// TestKeyOrder checks that key encodings sort as their values, nulls first, and
// descending encodings the other way with nulls last.
func TestKeyOrder(t *testing.T) {
	sb := array.NewStringBuilder(mem)
	sb.AppendNull()
	sb.AppendValues([]string{"", "a", "a\x00", "ab", "b"}, nil)
	fb := array.NewFloat64Builder(mem)
	fb.AppendNull()
	fb.AppendValues([]float64{-1e300, -1, 0, 0.5, 1e300}, nil)
	ib := array.NewInt64Builder(mem)
	ib.AppendNull()
	ib.AppendValues([]int64{-1 << 62, -1, 0, 1, 1 << 62}, nil)
	for _, a := range []arrow.Array{sb.NewArray(), fb.NewArray(), ib.NewArray()} {
		for _, desc := range []bool{false, true} {
			enc := keyEncoder(a, desc)
			for i := 0; i+1 < a.Len(); i++ {
				c := bytes.Compare(enc(nil, i), enc(nil, i+1))
				if (!desc && c >= 0) || (desc && c <= 0) {
					t.Errorf("%s desc=%v: row %d vs %d compare %d", a.DataType(), desc, i, i+1, c)
				}
			}
		}
	}
}

func TestSplitCSV(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{{"a,b,c", []string{"a", "b", "c"}}, {`"x,y",,"say ""hi"""`, []string{"x,y", "", `say "hi"`}}, {"", []string{""}}} {
		got, err := splitCSV(nil, []byte(tc.line))
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("splitCSV(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
	if _, err := splitCSV(nil, []byte(`"open`)); err == nil {
		t.Error("unterminated quote: no error")
	}
}

// TestCell checks show()'s cells by the column's logical type: a DATE as
// yyyy-MM-dd, a TIMESTAMP as yyyy-MM-dd HH:mm:ss even at midnight (with its
// fraction when it has one), a decimal with its scale's digits.
func TestCell(t *testing.T) {
	midnight := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	db := array.NewDate32Builder(mem)
	db.Append(arrow.Date32FromTime(midnight))
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"})
	tb.Append(arrow.Timestamp(midnight.UnixMicro()))
	tb.Append(arrow.Timestamp(midnight.Add(37*time.Second + time.Microsecond).UnixMicro()))
	tb.AppendNull()
	decType := &arrow.Decimal128Type{Precision: 12, Scale: 2}
	xb := array.NewDecimal128Builder(mem, decType)
	xb.Append(decimal128.FromI64(1230))
	xb.Append(decimal128.FromI64(-5))
	for _, tc := range []struct {
		a    arrow.Array
		want []string
	}{
		{db.NewArray(), []string{"2024-01-01"}},
		{tb.NewArray(), []string{"2024-01-01 00:00:00", "2024-01-01 00:00:37.000001", "null"}},
		{xb.NewArray(), []string{"12.30", "-0.05"}},
	} {
		for i, w := range tc.want {
			if got := Cell(tc.a, i); got != w {
				t.Errorf("%s row %d: %q, want %q", tc.a.DataType(), i, got, w)
			}
		}
	}
}
