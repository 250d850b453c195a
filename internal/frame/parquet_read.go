package frame

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/spindle-engine/spindle/hdfs"
)

// ParquetScan is a Parquet read as data: the files, and the splits the driver cut
// them into, each a run of whole row groups of one file with the hosts that hold
// most of its bytes.
type ParquetScan struct {
	Files  []ParquetFile  `json:"files"`
	Splits []ParquetSplit `json:"splits"`
}

// ParquetFile is one input file: Input is the path the user gave (it names the
// filesystem), Path the file within it.
type ParquetFile struct {
	Input string `json:"input"`
	Path  string `json:"path"`
	Size  int64  `json:"size"`
}

// ParquetSplit is the row groups of one file that one task reads.
type ParquetSplit struct {
	File      int      `json:"file"`
	RowGroups []int    `json:"rowGroups"`
	Bytes     int64    `json:"bytes"`
	Hosts     []string `json:"hosts,omitempty"`
}

// Filesystems resolves a path to its filesystem; *hdfs.FileSystems is one.
type Filesystems interface {
	Resolve(ctx context.Context, path string) (hdfs.FS, string, error)
}

// PlanParquet lists the Parquet files of paths, reads their footers, takes the
// schema of the first and checks that the others agree, and cuts the row groups into
// splits of about maxSplit bytes.
func PlanParquet(ctx context.Context, fss Filesystems, paths []string, maxSplit func(total int64) int64) (*ParquetScan, *Schema, error) {
	if len(paths) == 0 {
		return nil, nil, errors.New("no input path given")
	}
	type footer struct {
		fs   hdfs.FS
		file ParquetFile
		md   *metadata.FileMetaData
	}
	var footers []footer
	var total int64
	var schema *Schema
	for _, p := range paths {
		fsys, inner, err := fss.Resolve(ctx, p)
		if err != nil {
			return nil, nil, fmt.Errorf("input %s: %w", p, err)
		}
		files, err := hdfs.ExpandPaths(ctx, fsys, []string{inner})
		if err != nil {
			return nil, nil, fmt.Errorf("input %s: %w", p, err)
		}
		for _, f := range files {
			pf := ParquetFile{Input: p, Path: f.Path, Size: f.Size}
			md, err := readFooter(ctx, fsys, f.Path)
			if err != nil {
				return nil, nil, err
			}
			s, err := fileSchema(f.Path, md)
			if err != nil {
				return nil, nil, err
			}
			if schema == nil {
				schema = s
			} else if err := sameSchema(f.Path, schema, s); err != nil {
				return nil, nil, err
			}
			footers = append(footers, footer{fsys, pf, md})
			total += f.Size
		}
	}
	scan := &ParquetScan{}
	limit := maxSplit(total)
	for i, ft := range footers {
		scan.Files = append(scan.Files, ft.file)
		var cur *ParquetSplit
		var start, end int64
		flush := func() error {
			if cur == nil {
				return nil
			}
			hosts, err := splitHosts(ctx, ft.fs, ft.file.Path, start, end-start)
			if err != nil {
				return fmt.Errorf("%s: block locations: %w", ft.file.Path, err)
			}
			cur.Hosts = hosts
			scan.Splits = append(scan.Splits, *cur)
			cur = nil
			return nil
		}
		for rg := 0; rg < ft.md.NumRowGroups(); rg++ {
			lo, hi := rowGroupRange(ft.md.RowGroup(rg))
			if cur != nil && cur.Bytes+(hi-lo) > limit {
				if err := flush(); err != nil {
					return nil, nil, err
				}
			}
			if cur == nil {
				cur, start = &ParquetSplit{File: i}, lo
			}
			cur.RowGroups = append(cur.RowGroups, rg)
			cur.Bytes += hi - lo
			end = max(end, hi)
		}
		if err := flush(); err != nil {
			return nil, nil, err
		}
	}
	return scan, schema, nil
}

// rowGroupRange is the bytes a row group's column chunks span.
func rowGroupRange(rg *metadata.RowGroupMetaData) (lo, hi int64) {
	lo = -1
	for c := 0; c < rg.NumColumns(); c++ {
		cc, err := rg.ColumnChunk(c)
		if err != nil {
			continue
		}
		start := cc.DataPageOffset()
		if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 {
			start = min(start, cc.DictionaryPageOffset())
		}
		if lo < 0 || start < lo {
			lo = start
		}
		hi = max(hi, start+cc.TotalCompressedSize())
	}
	return max(lo, 0), hi
}

// splitHosts are the hosts holding most of a byte range, most first.
func splitHosts(ctx context.Context, fsys hdfs.FS, path string, start, length int64) ([]string, error) {
	blocks, err := fsys.Blocks(ctx, path, start, length)
	if err != nil {
		return nil, err
	}
	bytes := map[string]int64{}
	for _, b := range blocks {
		lo, hi := max(b.Offset, start), min(b.Offset+b.Length, start+length)
		for _, h := range b.Hosts {
			bytes[h] += max(0, hi-lo)
		}
	}
	hosts := make([]string, 0, len(bytes))
	for h := range bytes {
		hosts = append(hosts, h)
	}
	sort.Slice(hosts, func(i, j int) bool {
		if bytes[hosts[i]] != bytes[hosts[j]] {
			return bytes[hosts[i]] > bytes[hosts[j]]
		}
		return hosts[i] < hosts[j]
	})
	return hosts[:min(3, len(hosts))], nil
}

// readerAt gives a file random access: HDFS and local files have it, others seek.
func readerAt(f hdfs.File) parquet.ReaderAtSeeker {
	if ra, ok := f.(parquet.ReaderAtSeeker); ok {
		return ra
	}
	return &seekReaderAt{f: f}
}

type seekReaderAt struct {
	mu sync.Mutex
	f  hdfs.File
}

func (s *seekReaderAt) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.f.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.ReadFull(s.f, p)
}

func (s *seekReaderAt) Seek(off int64, whence int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f.Seek(off, whence)
}

// ParquetError is a Parquet input that cannot be read: a malformed file, or a
// column missing or of a type frames do not read. It names the file and the column.
type ParquetError struct {
	Path   string
	Column string
	Err    error
}

func (e *ParquetError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("%s: column %q: %v", e.Path, e.Column, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Path, e.Err)
}

func (e *ParquetError) Unwrap() error { return e.Err }

func readFooter(ctx context.Context, fsys hdfs.FS, path string) (*metadata.FileMetaData, error) {
	f, err := fsys.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	r, err := openParquet(path, f)
	if err != nil {
		return nil, err
	}
	return r.MetaData(), nil
}

// openParquet opens a Parquet reader, naming the file when it is not one.
func openParquet(path string, f hdfs.File) (r *file.Reader, err error) {
	defer func() {
		// The footer parser panics on some corrupt inputs.
		if p := recover(); p != nil {
			err = &ParquetError{Path: path, Err: fmt.Errorf("not a readable Parquet file: %v", p)}
		}
	}()
	r, err = file.NewParquetReader(readerAt(f))
	if err != nil {
		return nil, &ParquetError{Path: path, Err: fmt.Errorf("not a readable Parquet file: %w", err)}
	}
	return r, nil
}

// fileSchema is a Parquet file's columns as frame types.
func fileSchema(path string, md *metadata.FileMetaData) (*Schema, error) {
	as, err := pqarrow.FromParquet(md.Schema, nil, md.KeyValueMetadata())
	if err != nil {
		return nil, &ParquetError{Path: path, Err: fmt.Errorf("schema: %w", err)}
	}
	s := &Schema{}
	for _, f := range as.Fields() {
		t := f.Type
		if w, ok := widen(t); ok {
			t = w
		}
		name, ok := TypeName(t)
		if !ok {
			return nil, &ParquetError{Path: path, Column: f.Name, Err: fmt.Errorf("type %s is not supported by frames", f.Type)}
		}
		s.Fields = append(s.Fields, Field{Name: f.Name, Type: name, Nullable: f.Nullable})
	}
	return s, nil
}

func sameSchema(path string, want, got *Schema) error {
	for _, f := range want.Fields {
		i := got.Index(f.Name)
		if i < 0 {
			return &ParquetError{Path: path, Column: f.Name, Err: fmt.Errorf("missing (the first input file has it; this one has %v)", got.Names())}
		}
		if got.Fields[i].Type != f.Type {
			return &ParquetError{Path: path, Column: f.Name, Err: fmt.Errorf("is %s here but %s in the first input file", got.Fields[i].Type, f.Type)}
		}
	}
	return nil
}

// scanParquet reads one split's row groups, only the columns of out, skipping row
// groups whose statistics show that no row passes preds. It reports the row groups
// skipped.
func scanParquet(ctx context.Context, fss Filesystems, scan *ParquetScan, sp ParquetSplit, out *Schema, preds []*Expr, metrics *ScanMetrics, mem Memory, yield func(arrow.RecordBatch) bool) error {
	pf := scan.Files[sp.File]
	fsys, _, err := fss.Resolve(ctx, pf.Input)
	if err != nil {
		return fmt.Errorf("input %s: %w", pf.Input, err)
	}
	f, err := fsys.Open(ctx, pf.Path)
	if err != nil {
		return fmt.Errorf("open %s: %w", pf.Path, err)
	}
	defer f.Close()
	r, err := openParquet(pf.Path, f)
	if err != nil {
		return err
	}
	md := r.MetaData()
	cols := make([]int, len(out.Fields))
	props := pqarrow.ArrowReadProperties{BatchSize: batchRows}
	for i, fld := range out.Fields {
		ci := md.Schema.ColumnIndexByName(fld.Name)
		if ci < 0 {
			return &ParquetError{Path: pf.Path, Column: fld.Name, Err: &MissingColumnError{Column: fld.Name, Have: leafNames(md), File: pf.Path}}
		}
		cols[i] = ci
		if fld.Type == TString {
			props.SetReadDict(ci, true)
		}
	}
	var groups []int
	for _, rg := range sp.RowGroups {
		if rg >= md.NumRowGroups() {
			return &ParquetError{Path: pf.Path, Err: fmt.Errorf("has %d row groups, the plan reads row group %d: the file changed", md.NumRowGroups(), rg)}
		}
		if md.RowGroup(rg).NumRows() == 0 {
			continue
		}
		if mayMatch(md, rg, out, preds) {
			groups = append(groups, rg)
		} else if metrics != nil {
			metrics.RowGroupsSkipped++
		}
	}
	if metrics != nil {
		metrics.RowGroupsRead += len(groups)
	}
	if len(groups) == 0 {
		return nil
	}
	if len(cols) == 0 {
		// Only a row count is needed (Count of a scan): batches of no columns.
		for _, rg := range groups {
			n := md.RowGroup(rg).NumRows()
			for lo := int64(0); lo < n; lo += batchRows {
				if !yield(array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, min(batchRows, n-lo))) {
					return nil
				}
			}
		}
		return nil
	}
	if fc, ok := fastColumns(md, out); ok {
		return scanFast(ctx, pf.Path, readerAt(f), pf.Size, md, groups, out, fc, mem, yield)
	}
	return scanArrow(ctx, pf.Path, r, props, cols, groups, out, yield)
}

// scanArrow reads row groups with pqarrow: the columns the fast scan does not
// handle.
func scanArrow(ctx context.Context, path string, r *file.Reader, props pqarrow.ArrowReadProperties, cols, groups []int, out *Schema, yield func(arrow.RecordBatch) bool) error {
	fr, err := pqarrow.NewFileReader(r, props, mem)
	if err != nil {
		return &ParquetError{Path: path, Err: err}
	}
	sorted := slices.Clone(cols)
	slices.Sort(sorted)
	rr, err := fr.GetRecordReader(ctx, sorted, groups)
	if err != nil {
		return &ParquetError{Path: path, Err: err}
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		b, err := conform(ctx, path, rec, out)
		if err != nil {
			return err
		}
		if !yield(b) {
			return nil
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return &ParquetError{Path: path, Err: err}
	}
	return nil
}

// ScanMetrics counts what scans read and skipped.
type ScanMetrics struct {
	RowGroupsRead, RowGroupsSkipped int
}

func leafNames(md *metadata.FileMetaData) []string {
	var out []string
	for i := 0; i < md.Schema.NumColumns(); i++ {
		out = append(out, md.Schema.Column(i).Name())
	}
	return out
}

// conform orders a read batch's columns as out's and widens the types frames read
// as wider ones, naming the file and column of a type that does not fit.
func conform(ctx context.Context, path string, rec arrow.RecordBatch, out *Schema) (arrow.RecordBatch, error) {
	rec.Retain()
	cols := make([]arrow.Array, len(out.Fields))
	rs := rec.Schema()
	for i, f := range out.Fields {
		idx := rs.FieldIndices(f.Name)
		if len(idx) == 0 {
			return nil, &ParquetError{Path: path, Column: f.Name, Err: errors.New("missing from the batch read")}
		}
		c := rec.Column(idx[0])
		if w, ok := widen(c.DataType()); ok {
			var err error
			if c, err = compute.CastToType(ctx, plain(c), w); err != nil {
				return nil, &ParquetError{Path: path, Column: f.Name, Err: err}
			}
		}
		name, ok := TypeName(c.DataType())
		if !ok || name != f.Type {
			return nil, &ParquetError{Path: path, Column: f.Name, Err: fmt.Errorf("is %s in this file, the frame expects %s", c.DataType(), f.Type)}
		}
		cols[i] = c
	}
	return newBatch(out, cols, int(rec.NumRows())), nil
}

// mayMatch reports whether row group rg can hold a row that passes every
// comparison of a column with a literal in preds, by the column chunks' min/max
// statistics.
func mayMatch(md *metadata.FileMetaData, rg int, out *Schema, preds []*Expr) bool {
	g := md.RowGroup(rg)
	for _, p := range preds {
		col, op, lit, ok := comparison(p)
		if !ok {
			continue
		}
		fi := out.Index(col)
		if fi < 0 {
			continue
		}
		t := out.Fields[fi].Type
		ci := md.Schema.ColumnIndexByName(col)
		if ci < 0 {
			continue
		}
		cc, err := g.ColumnChunk(ci)
		if err != nil {
			continue
		}
		st, err := cc.Statistics()
		if err != nil || st == nil {
			continue
		}
		if st.HasNullCount() && st.NullCount() == g.NumRows() && g.NumRows() > 0 {
			return false // all null: no comparison is true
		}
		if !st.HasMinMax() {
			continue
		}
		if !rangeMayMatch(st, t, op, lit) {
			return false
		}
	}
	return true
}

// comparison splits "col op literal" (or "literal op col", flipped).
func comparison(e *Expr) (col, op string, lit *Literal, ok bool) {
	if e.Kind != KCall || len(e.Args) != 2 {
		return "", "", nil, false
	}
	flip := map[string]string{"eq": "eq", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
	if _, ok := flip[e.Name]; !ok {
		return "", "", nil, false
	}
	a, b := e.Args[0], e.Args[1]
	switch {
	case a.Kind == KCol && b.Kind == KLit && b.Lit.Type != "null":
		return a.Name, e.Name, b.Lit, true
	case b.Kind == KCol && a.Kind == KLit && a.Lit.Type != "null":
		return b.Name, flip[e.Name], a.Lit, true
	}
	return "", "", nil, false
}

// rangeMayMatch compares a literal with a column chunk's [min, max].
func rangeMayMatch(st metadata.TypedStatistics, t, op string, lit *Literal) bool {
	var c func(x float64) int
	var cs func(x string) int
	switch s := st.(type) {
	case *metadata.Int32Statistics:
		if t != TInt32 {
			return true
		}
		lo, hi := float64(s.Min()), float64(s.Max())
		c = func(x float64) int { return rangeCmp(lo, hi, x) }
	case *metadata.Int64Statistics:
		if t != TInt64 {
			return true // a decimal's statistics are unscaled
		}
		lo, hi := float64(s.Min()), float64(s.Max())
		c = func(x float64) int { return rangeCmp(lo, hi, x) }
	case *metadata.Float64Statistics:
		lo, hi := s.Min(), s.Max()
		c = func(x float64) int { return rangeCmp(lo, hi, x) }
	case *metadata.ByteArrayStatistics:
		if t != TString {
			return true
		}
		lo, hi := string(s.Min()), string(s.Max())
		cs = func(x string) int {
			switch {
			case x < lo:
				return -1
			case x > hi:
				return 1
			}
			return 0
		}
	default:
		return true
	}
	// pos is where the literal lies against the range: -1 below min, 0 within, 1
	// above max.
	pos := 0
	switch {
	case cs != nil:
		var x string
		if lit.Type != TString || json.Unmarshal(lit.Value, &x) != nil {
			return true
		}
		pos = cs(x)
	default:
		var x float64
		if !isNumeric(lit.Type) || json.Unmarshal(lit.Value, &x) != nil {
			return true
		}
		pos = c(x)
	}
	switch op {
	case "eq":
		return pos == 0
	case "lt", "le": // col < x: some value below x exists unless x is below min
		return pos >= 0
	case "gt", "ge":
		return pos <= 0
	}
	return true
}

func rangeCmp(lo, hi, x float64) int {
	switch {
	case x < lo:
		return -1
	case x > hi:
		return 1
	}
	return 0
}
