package frame

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// fastTestSchema has every type the fast scan reads: nullable and required
// columns, a string with few values (dictionary pages throughout) and one with
// many (the writer falls back to plain pages mid-chunk), decimals stored as INT32
// and INT64, and a narrow integer read as int32.
var fastTestSchema = arrow.NewSchema([]arrow.Field{
	{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "req", Type: arrow.PrimitiveTypes.Int64, Nullable: false},
	{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "few", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "many", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "d64", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}, Nullable: true},
	{Name: "d32", Type: &arrow.Decimal128Type{Precision: 9, Scale: 2}, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "i16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
	{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

// writeFastTestFile writes rows random rows in row groups of rgRows with small
// pages, so that pages, batches and row groups end at different rows.
func writeFastTestFile(t *testing.T, path string, rows, rgRows int, nullRate float64, version parquet.DataPageVersion, seed uint64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	props := parquet.NewWriterProperties(parquet.WithDictionaryDefault(true), parquet.WithDataPageSize(8<<10),
		parquet.WithDictionaryPageSizeLimit(16<<10), parquet.WithStoreDecimalAsInteger(true),
		parquet.WithMaxRowGroupLength(int64(rgRows)), parquet.WithDataPageVersion(version),
		parquet.WithCompressionFor("f64", 0))
	w, err := pqarrow.NewFileWriter(fastTestSchema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	b := array.NewRecordBuilder(mem, fastTestSchema)
	defer b.Release()
	null := func() bool { return rng.Float64() < nullRate }
	for r := 0; r < rows; r++ {
		for i, fb := range b.Fields() {
			if fastTestSchema.Field(i).Nullable && null() {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.Int32Builder:
				fb.Append(rng.Int32() - 1<<30)
			case *array.Int64Builder:
				if i == 2 {
					fb.Append(int64(r)) // req: the row number, to line rows up
				} else {
					fb.Append(rng.Int64N(1000) - 500)
				}
			case *array.Float64Builder:
				fb.Append(rng.NormFloat64())
			case *array.StringBuilder:
				if i == 4 {
					fb.Append(fmt.Sprintf("region-%d", rng.IntN(7)))
				} else {
					fb.Append(fmt.Sprintf("order-%d", rng.IntN(rows)))
				}
			case *array.Decimal128Builder:
				fb.Append(decimal128.FromI64(rng.Int64N(2_000_000) - 1_000_000))
			case *array.Date32Builder:
				fb.Append(arrow.Date32(rng.IntN(20000)))
			case *array.Int16Builder:
				fb.Append(int16(rng.IntN(60000) - 30000))
			case *array.BooleanBuilder:
				fb.Append(rng.IntN(2) == 0)
			}
		}
		if (r+1)%10_000 == 0 || r == rows-1 {
			rec := b.NewRecordBatch()
			if err := w.WriteBuffered(rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// readAllRows reads a file's columns out with scan and renders each row's cells.
func readAllRows(t *testing.T, path string, out *Schema, scan func(r *file.Reader, f *os.File, size int64, groups, cols []int, props pqarrow.ArrowReadProperties, yield func(arrow.RecordBatch) bool) error) (rows [][]string, dictBatches int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	r, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatal(err)
	}
	md := r.MetaData()
	var groups, cols []int
	for rg := 0; rg < md.NumRowGroups(); rg++ {
		groups = append(groups, rg)
	}
	props := pqarrow.ArrowReadProperties{BatchSize: batchRows}
	for _, fld := range out.Fields {
		ci := md.Schema.ColumnIndexByName(fld.Name)
		cols = append(cols, ci)
		if fld.Type == TString {
			props.SetReadDict(ci, true)
		}
	}
	err = scan(r, f, st.Size(), groups, cols, props, func(b arrow.RecordBatch) bool {
		if int(b.NumCols()) != len(out.Fields) {
			t.Fatalf("batch has %d columns, want %d", b.NumCols(), len(out.Fields))
		}
		for c := 0; c < int(b.NumCols()); c++ {
			if _, ok := b.Column(c).(*array.Dictionary); ok {
				dictBatches++
			}
			if name, _ := TypeName(b.Column(c).DataType()); name != out.Fields[c].Type {
				t.Fatalf("column %s is %s, want %s", out.Fields[c].Name, name, out.Fields[c].Type)
			}
		}
		pcols := make([]arrow.Array, b.NumCols())
		for c := range pcols {
			pcols[c] = plain(b.Column(c))
		}
		for i := 0; i < int(b.NumRows()); i++ {
			row := make([]string, b.NumCols())
			for c := range row {
				col := pcols[c]
				if col.IsNull(i) {
					row[c] = "null"
				} else {
					row[c] = col.ValueStr(i)
				}
			}
			rows = append(rows, row)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows, dictBatches
}

// TestFastScanMatchesPqarrow reads the same files with the fast scan and with
// pqarrow and wants the same rows, cell for cell.
func TestFastScanMatchesPqarrow(t *testing.T) {
	cases := []struct {
		name     string
		rows     int
		rgRows   int
		nullRate float64
		version  parquet.DataPageVersion
		// wantDict: the writer keeps "few" dictionary-encoded (it writes plain
		// pages where a dictionary would not pay).
		wantDict bool
	}{
		{"v1 nulls, row groups across batches", 150_000, 70_000, 0.1, parquet.DataPageV1, true},
		{"v2 nulls", 90_000, 50_000, 0.2, parquet.DataPageV2, true},
		{"no nulls", 70_000, 1 << 20, 0, parquet.DataPageV1, true},
		{"all null", 3_000, 1_000, 1, parquet.DataPageV1, false},
		{"one row", 1, 1, 0, parquet.DataPageV2, false},
	}
	ctx := context.Background()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.parquet")
			writeFastTestFile(t, path, tc.rows, tc.rgRows, tc.nullRate, tc.version, uint64(i))
			r, err := file.OpenParquetFile(path, false)
			if err != nil {
				t.Fatal(err)
			}
			full, err := fileSchema(path, r.MetaData())
			if err != nil {
				t.Fatal(err)
			}
			// Every column the fast scan reads, in an order unlike the file's.
			out := &Schema{}
			for _, n := range []string{"many", "d64", "i32", "req", "f64", "few", "d32", "day", "i16", "i64"} {
				out.Fields = append(out.Fields, full.Fields[full.Index(n)])
			}
			fc, ok := fastColumns(r.MetaData(), out)
			if !ok {
				t.Fatal("the fast scan does not read the test columns")
			}
			if _, ok := fastColumns(r.MetaData(), &Schema{Fields: []Field{full.Fields[full.Index("flag")]}}); ok {
				t.Fatal("the fast scan claims a boolean column, which it does not read")
			}
			r.Close()
			want, _ := readAllRows(t, path, out, func(r *file.Reader, _ *os.File, _ int64, groups, cols []int, props pqarrow.ArrowReadProperties, yield func(arrow.RecordBatch) bool) error {
				return scanArrow(ctx, path, r, props, cols, groups, out, yield)
			})
			got, dicts := readAllRows(t, path, out, func(r *file.Reader, f *os.File, size int64, groups, _ []int, _ pqarrow.ArrowReadProperties, yield func(arrow.RecordBatch) bool) error {
				return scanFast(ctx, path, f, size, r.MetaData(), groups, out, fc, nil, yield)
			})
			if len(got) != tc.rows || len(want) != tc.rows {
				t.Fatalf("fast scan read %d rows, pqarrow %d, the file has %d", len(got), len(want), tc.rows)
			}
			for r := range want {
				for c := range want[r] {
					if got[r][c] != want[r][c] {
						t.Fatalf("row %d column %s: fast scan %q, pqarrow %q", r, out.Fields[c].Name, got[r][c], want[r][c])
					}
				}
			}
			// A file that only seeks (HDFS's) is read a column chunk at a time:
			// one read per chunk besides the footer's.
			sf := &seekOnlyFile{path: path}
			seeked, _ := readAllRows(t, path, out, func(r *file.Reader, f *os.File, size int64, groups, _ []int, _ pqarrow.ArrowReadProperties, yield func(arrow.RecordBatch) bool) error {
				sf.f = f
				// The chunk buffers are accounted while the scan runs and given
				// back when it ends.
				mem := &heldMemory{}
				var biggest int64
				for _, g := range groups {
					for _, c := range fc {
						cc, err := r.MetaData().RowGroup(g).ColumnChunk(c.leaf)
						if err != nil {
							return err
						}
						biggest = max(biggest, cc.TotalCompressedSize())
					}
				}
				if err := scanFast(ctx, path, readerAt(sf), size, r.MetaData(), groups, out, fc, mem, yield); err != nil {
					return err
				}
				if mem.peak < biggest || mem.held != 0 {
					t.Errorf("scan accounted a peak of %d bytes (largest column chunk %d) and holds %d after it ended", mem.peak, biggest, mem.held)
				}
				if limit := 4 + len(groups)*len(out.Fields); sf.reads > limit {
					t.Errorf("%d reads for %d row groups of %d columns, want at most %d", sf.reads, len(groups), len(out.Fields), limit)
				}
				return nil
			})
			if fmt.Sprint(seeked) != fmt.Sprint(got) {
				t.Error("reading through Seek gives other rows than through ReadAt")
			}
			if tc.wantDict && dicts == 0 {
				t.Error("no batch kept a string column as dictionary indices")
			}
		})
	}
}

// TestFastScanCorruptPage names the file and column of a page that does not
// decode.
func TestFastScanCorruptPage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.parquet")
	writeFastTestFile(t, path, 20_000, 1<<20, 0.1, parquet.DataPageV1, 9)
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	md := r.MetaData()
	full, err := fileSchema(path, md)
	if err != nil {
		t.Fatal(err)
	}
	out := &Schema{Fields: []Field{full.Fields[full.Index("f64")]}}
	fc, ok := fastColumns(md, out)
	if !ok {
		t.Fatal("the fast scan does not read f64")
	}
	cc, err := md.RowGroup(0).ColumnChunk(fc[0].leaf)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// f64 is uncompressed: overwrite its pages' bytes after the first header
	// with garbage so that headers and values no longer parse.
	start := cc.DataPageOffset() + 64
	for i := start; i < start+cc.TotalCompressedSize()-128; i++ {
		data[i] = 0xff
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = scanFast(context.Background(), path, f, int64(len(data)), md, []int{0}, out, fc, nil, func(arrow.RecordBatch) bool { return true })
	var pe *ParquetError
	if !asParquetError(err, &pe) || pe.Path != path || pe.Column != "f64" {
		t.Fatalf("corrupt page: got %v, want a ParquetError naming %s and column f64", err, path)
	}
}

func asParquetError(err error, pe **ParquetError) bool {
	p, ok := err.(*ParquetError)
	*pe = p
	return ok
}

// writeSalesLike writes rows of the benchmark's two columns: region, a string of
// 24 values (dictionary pages), and revenue, a decimal(18,2) stored as INT64.
func writeSalesLike(b *testing.B, path string, rows int) *Schema {
	b.Helper()
	s := &Schema{Fields: []Field{{Name: "region", Type: TString, Nullable: true}, {Name: "revenue", Type: DecimalType(18, 2), Nullable: true}}}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	pw, err := NewParquetWriter(f, s, "snappy")
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rb := array.NewStringBuilder(mem)
	vb := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 18, Scale: 2})
	for lo := 0; lo < rows; lo += batchRows {
		n := min(batchRows, rows-lo)
		for i := 0; i < n; i++ {
			rb.Append(fmt.Sprintf("region-%02d", rng.IntN(24)))
			vb.Append(decimal128.FromI64(rng.Int64N(10_000_000)))
		}
		if err := pw.Write(newBatch(s, []arrow.Array{rb.NewArray(), vb.NewArray()}, n)); err != nil {
			b.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkParquetScan reads and sums revenue by region over 1 M rows with the
// fast scan and with pqarrow, through the partial aggregate frames runs.
func BenchmarkParquetScan(b *testing.B) {
	const rows = 1 << 20
	path := filepath.Join(b.TempDir(), "sales.parquet")
	s := writeSalesLike(b, path, rows)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	r, err := file.NewParquetReader(f)
	if err != nil {
		b.Fatal(err)
	}
	md := r.MetaData()
	var groups []int
	for rg := 0; rg < md.NumRowGroups(); rg++ {
		groups = append(groups, rg)
	}
	fc, ok := fastColumns(md, s)
	if !ok {
		b.Fatal("the fast scan does not read region and revenue")
	}
	props := pqarrow.ArrowReadProperties{BatchSize: batchRows}
	props.SetReadDict(0, true)
	specs := []aggSpec{{kind: accSumDec, col: 1, in: DecimalType(18, 2), out: DecimalType(38, 2)}}
	state := &Schema{Fields: []Field{s.Fields[0], {Name: "_s0", Type: DecimalType(38, 2), Nullable: true}}}
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		scan func(yield func(arrow.RecordBatch) bool) error
	}{
		{"fast", func(yield func(arrow.RecordBatch) bool) error {
			return scanFast(ctx, path, f, st.Size(), md, groups, s, fc, nil, yield)
		}},
		{"pqarrow", func(yield func(arrow.RecordBatch) bool) error {
			return scanArrow(ctx, path, r, props, []int{0, 1}, groups, s, yield)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(rows * 16) // 8 bytes of value and about 8 of key a row
			for b.Loop() {
				h, err := newHashAgg([]int{0}, specs, state, nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := bc.scan(func(rb arrow.RecordBatch) bool { h.add(rb); return true }); err != nil {
					b.Fatal(err)
				}
				if h.g.n != 24 {
					b.Fatalf("%d groups, want 24", h.g.n)
				}
			}
		})
	}
}

// seekOnlyFile is a file without ReadAt, as HDFS's are, counting its reads.
type seekOnlyFile struct {
	path  string
	f     *os.File
	reads int
}

func (s *seekOnlyFile) Read(p []byte) (int, error) {
	s.reads++
	return s.f.Read(p)
}

func (s *seekOnlyFile) Seek(off int64, whence int) (int64, error) { return s.f.Seek(off, whence) }
func (s *seekOnlyFile) Close() error                              { return nil }

// heldMemory grants everything and records what is held.
type heldMemory struct{ held, peak int64 }

func (m *heldMemory) Acquire(n int64) int64 {
	m.held += n
	m.peak = max(m.peak, m.held)
	return n
}

func (m *heldMemory) Release(n int64) { m.held -= n }
