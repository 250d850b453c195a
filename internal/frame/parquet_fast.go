package frame

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pgo "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
)

// The fast scan decodes flat columns of the common physical types with
// parquet-go's page reader and builds the Arrow arrays itself: dictionary pages
// become dictionary indices (the grouper aggregates on them), INT64 decimals are
// widened straight from the page values, and nothing is allocated per row. On the
// benchmark file it reads region and revenue in 1.6 CPU-s against pqarrow's 2.8
// (scripts/bench/parquetcmp). Columns it does not handle (nested, FLOAT, BOOLEAN,
// FIXED_LEN_BYTE_ARRAY, timestamps) send the whole split to pqarrow.

// fastCol is one output column the fast scan can read: its leaf, its levels and
// the Arrow type frames read it as.
type fastCol struct {
	name   string
	leaf   int
	maxDef int
	phys   parquet.Type
	out    arrow.DataType
}

// fastColumns returns how the fast scan reads out's columns from a file, or false
// if one of them needs pqarrow.
func fastColumns(md *metadata.FileMetaData, out *Schema) ([]fastCol, bool) {
	as, err := pqarrow.FromParquet(md.Schema, nil, md.KeyValueMetadata())
	if err != nil {
		return nil, false
	}
	cols := make([]fastCol, len(out.Fields))
	for i, f := range out.Fields {
		ci := md.Schema.ColumnIndexByName(f.Name)
		idx := as.FieldIndices(f.Name)
		if ci < 0 || len(idx) != 1 {
			return nil, false
		}
		d := md.Schema.Column(ci)
		if d.MaxRepetitionLevel() != 0 || d.MaxDefinitionLevel() > 1 || len(d.ColumnPath()) != 1 {
			return nil, false
		}
		at := as.Field(idx[0]).Type
		var ot arrow.DataType
		switch phys := d.PhysicalType(); {
		case phys == parquet.Types.Int32 && (at.ID() == arrow.INT32 || at.ID() == arrow.INT16 || at.ID() == arrow.INT8):
			ot = arrow.PrimitiveTypes.Int32
		case phys == parquet.Types.Int32 && at.ID() == arrow.DATE32:
			ot = arrow.FixedWidthTypes.Date32
		case phys == parquet.Types.Int64 && at.ID() == arrow.INT64:
			ot = arrow.PrimitiveTypes.Int64
		case phys == parquet.Types.Double && at.ID() == arrow.FLOAT64:
			ot = arrow.PrimitiveTypes.Float64
		case phys == parquet.Types.ByteArray && at.ID() == arrow.STRING:
			ot = arrow.BinaryTypes.String
		case (phys == parquet.Types.Int32 || phys == parquet.Types.Int64) &&
			(at.ID() == arrow.DECIMAL128 || at.ID() == arrow.DECIMAL64 || at.ID() == arrow.DECIMAL32):
			dt := at.(arrow.DecimalType)
			ot = &arrow.Decimal128Type{Precision: dt.GetPrecision(), Scale: dt.GetScale()}
		default:
			return nil, false
		}
		if name, ok := TypeName(ot); !ok || name != f.Type {
			return nil, false
		}
		cols[i] = fastCol{name: f.Name, leaf: ci, maxDef: int(d.MaxDefinitionLevel()), phys: d.PhysicalType(), out: ot}
	}
	return cols, true
}

// scanFast reads row groups groups of the file at ra (size bytes, footer md) as
// batches of out's columns.
// The column chunks' buffers are accounted to mem (nil: not accounted). The scan
// cannot spill, so a refused grant does not stop it; the task's other consumers
// then spill sooner.
func scanFast(ctx context.Context, path string, ra io.ReaderAt, size int64, md *metadata.FileMetaData, groups []int, out *Schema, cols []fastCol, mem Memory, yield func(arrow.RecordBatch) bool) (err error) {
	pf, err := openFast(path, ra, size)
	if err != nil {
		return err
	}
	rgs := pf.RowGroups()
	res := &reservation{m: mem}
	readers := make([]*pageColumn, len(cols))
	for i := range cols {
		readers[i] = &pageColumn{fastCol: cols[i], res: res}
	}
	defer func() {
		for _, r := range readers {
			r.close()
		}
		res.reset()
	}()
	arrs := make([]arrow.Array, len(cols))
	for _, rg := range groups {
		if rg >= len(rgs) {
			return &ParquetError{Path: path, Err: fmt.Errorf("has %d row groups, the plan reads row group %d: the file changed", len(rgs), rg)}
		}
		chunks := rgs[rg].ColumnChunks()
		for i, r := range readers {
			if cols[i].leaf >= len(chunks) {
				return &ParquetError{Path: path, Column: cols[i].name, Err: fmt.Errorf("row group %d has %d columns", rg, len(chunks))}
			}
			if err := r.load(ctx, ra, md, rg, chunks[cols[i].leaf]); err != nil {
				return &ParquetError{Path: path, Column: cols[i].name, Err: fmt.Errorf("row group %d: %w", rg, err)}
			}
		}
		rows := rgs[rg].NumRows()
		for lo := int64(0); lo < rows; lo += batchRows {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := int(min(batchRows, rows-lo))
			for i, r := range readers {
				a, err := r.read(n)
				if err != nil {
					return &ParquetError{Path: path, Column: cols[i].name, Err: fmt.Errorf("row group %d: %w", rg, err)}
				}
				arrs[i] = a
			}
			if !yield(newBatch(out, slices.Clone(arrs), n)) {
				return nil
			}
		}
		for _, r := range readers {
			r.close()
		}
	}
	return nil
}

// openFast opens a file with parquet-go, naming the file when it is not one.
func openFast(path string, ra io.ReaderAt, size int64) (pf *pgo.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &ParquetError{Path: path, Err: fmt.Errorf("not a readable Parquet file: %v", p)}
		}
	}()
	// Pages are read whole; the buffer size matters for the reads between them
	// (page headers), which on HDFS are round trips.
	pf, err = pgo.OpenFile(ra, size, pgo.SkipPageIndex(true), pgo.SkipBloomFilters(true), pgo.ReadBufferSize(256<<10))
	if err != nil {
		return nil, &ParquetError{Path: path, Err: fmt.Errorf("not a readable Parquet file: %w", err)}
	}
	return pf, nil
}

// pageColumn reads one column chunk's pages into arrays of a given row count,
// carrying a page's rest over to the next array.
type pageColumn struct {
	fastCol
	pages pgo.Pages
	page  pgo.Page
	rows  int // the page's rows (levels)
	pos   int // next row of the page
	vpos  int // next value of the page (nulls have none)
	defs  []byte
	vals  encoding.Values
	// dict is the page's dictionary (nil for a plain page); its values, decoded
	// once per dictionary, are in one of the dict* fields.
	dict    pgo.Dictionary
	curDict pgo.Dictionary
	dictStr *array.String
	dictI32 []int32
	dictI64 []int64
	dictF64 []float64
	// scratch holds a batch's INT64 values before they are widened to decimals.
	scratch []int64
	// buf holds the current column chunk's bytes; pages are decoded out of it.
	buf []byte
	// res accounts buf, shared by the scan's columns.
	res *reservation
}

// load reads the column chunk of row group rg in one read and starts on its
// pages. One read per chunk, as pqarrow does, matters on HDFS: the pages of the
// columns are read in turns, and a seek between them is a new block read.
func (c *pageColumn) load(ctx context.Context, ra io.ReaderAt, md *metadata.FileMetaData, rg int, chunk pgo.ColumnChunk) error {
	c.close()
	fcc, ok := chunk.(*pgo.FileColumnChunk)
	if !ok {
		c.pages = chunk.Pages()
		return nil
	}
	cc, err := md.RowGroup(rg).ColumnChunk(c.leaf)
	if err != nil {
		return err
	}
	// The chunk's bytes, where parquet-go reads them from (file.go, FilePages.init).
	base := cc.DataPageOffset()
	if cc.HasDictionaryPage() && cc.DictionaryPageOffset() != 0 {
		base = cc.DictionaryPageOffset()
	}
	n := cc.TotalCompressedSize()
	if base < 0 || n < 0 || n > 1<<31 {
		return fmt.Errorf("column chunk at %d of %d bytes", base, n)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if int64(cap(c.buf)) < n {
		c.res.grow(n - int64(cap(c.buf)))
		c.buf = make([]byte, n)
	}
	c.buf = c.buf[:n]
	if _, err := ra.ReadAt(c.buf, base); err != nil {
		return fmt.Errorf("read column chunk at %d (%d bytes): %w", base, n, err)
	}
	c.pages = fcc.PagesFrom(&chunkReaderAt{base: base, data: c.buf})
	return nil
}

// chunkReaderAt serves a column chunk read into memory at its file offsets.
type chunkReaderAt struct {
	base int64
	data []byte
}

func (r *chunkReaderAt) ReadAt(p []byte, off int64) (int, error) {
	i := off - r.base
	if i < 0 || i > int64(len(r.data)) {
		return 0, fmt.Errorf("read at %d outside the column chunk [%d, %d)", off, r.base, r.base+int64(len(r.data)))
	}
	n := copy(p, r.data[i:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (c *pageColumn) close() {
	if c.page != nil {
		pgo.Release(c.page)
		c.page = nil
	}
	if c.pages != nil {
		c.pages.Close()
		c.pages = nil
	}
	c.rows, c.pos, c.vpos = 0, 0, 0
	c.dict, c.curDict = nil, nil
	c.dictStr, c.dictI32, c.dictI64, c.dictF64 = nil, nil, nil, nil
}

// advance moves to the next page; false at the chunk's end.
func (c *pageColumn) advance() (bool, error) {
	if c.page != nil {
		pgo.Release(c.page)
		c.page = nil
	}
	p, err := c.pages.ReadPage()
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	c.page, c.rows, c.pos, c.vpos = p, int(p.NumValues()), 0, 0
	c.defs = p.DefinitionLevels()
	if c.defs != nil && len(c.defs) != c.rows {
		return false, fmt.Errorf("a page has %d definition levels for %d values", len(c.defs), c.rows)
	}
	if c.maxDef == 0 {
		c.defs = nil
	}
	c.vals = p.Data()
	c.dict = p.Dictionary()
	if c.dict != nil && c.dict != c.curDict {
		c.curDict = c.dict
		if err := c.loadDict(); err != nil {
			return false, err
		}
	}
	if nv := c.values(); nv+int(p.NumNulls()) != c.rows {
		return false, fmt.Errorf("a page has %d values and %d nulls for %d rows", nv, p.NumNulls(), c.rows)
	}
	return true, nil
}

// values is how many values (not nulls) the current page holds.
func (c *pageColumn) values() int {
	if c.dict != nil {
		return len(c.vals.Int32())
	}
	switch c.phys {
	case parquet.Types.Int32:
		return len(c.vals.Int32())
	case parquet.Types.Int64:
		return len(c.vals.Int64())
	case parquet.Types.Double:
		return len(c.vals.Double())
	}
	_, offs := c.vals.ByteArray()
	return max(0, len(offs)-1)
}

func (c *pageColumn) loadDict() error {
	dv := c.dict.Page().Data()
	switch c.phys {
	case parquet.Types.Int32:
		c.dictI32 = dv.Int32()
	case parquet.Types.Int64:
		c.dictI64 = dv.Int64()
	case parquet.Types.Double:
		c.dictF64 = dv.Double()
	case parquet.Types.ByteArray:
		data, offs := dv.ByteArray()
		c.dictStr = stringArray(data, offs)
	}
	return nil
}

// stringArray copies byte-array values (offsets as parquet-go gives them, one
// more than the values) into an Arrow string array.
func stringArray(data []byte, offs []uint32) *array.String {
	n := max(0, len(offs)-1)
	o := make([]int32, n+1)
	base := uint32(0)
	if n > 0 {
		base = offs[0]
	}
	for i := range o {
		o[i] = int32(offs[i] - base)
	}
	var vals []byte
	if n > 0 {
		vals = append([]byte(nil), data[base:offs[n]]...)
	}
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(o)), memory.NewBufferBytes(vals)}, nil, 0, 0)
	defer d.Release()
	return array.NewStringData(d)
}

// read returns the next n rows as an array; fewer rows left in the chunk is an
// error (every column of a row group has its rows). parquet-go panics on some
// corrupt pages; that is an error too.
func (c *pageColumn) read(n int) (a arrow.Array, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt page: %v", p)
		}
	}()
	v := newValidity(n)
	switch {
	case c.phys == parquet.Types.ByteArray:
		return c.readStrings(n, v)
	case c.phys == parquet.Types.Int32:
		vals := make([]int32, n)
		if err := gather(c, vals, v, (*encoding.Values).Int32, c.dictI32p); err != nil {
			return nil, err
		}
		if _, ok := c.out.(*arrow.Decimal128Type); ok {
			nums := make([]decimal128.Num, n)
			for i, x := range vals {
				nums[i] = decimal128.FromI64(int64(x))
			}
			return v.array(c.out, n, arrow.Decimal128Traits.CastToBytes(nums)), nil
		}
		return v.array(c.out, n, arrow.Int32Traits.CastToBytes(vals)), nil
	case c.phys == parquet.Types.Int64:
		if _, ok := c.out.(*arrow.Decimal128Type); ok {
			if cap(c.scratch) < n {
				c.scratch = make([]int64, n)
			}
			vals := c.scratch[:n]
			if err := gather(c, vals, v, (*encoding.Values).Int64, c.dictI64p); err != nil {
				return nil, err
			}
			nums := make([]decimal128.Num, n)
			for i, x := range vals {
				nums[i] = decimal128.FromI64(x)
			}
			return v.array(c.out, n, arrow.Decimal128Traits.CastToBytes(nums)), nil
		}
		vals := make([]int64, n)
		if err := gather(c, vals, v, (*encoding.Values).Int64, c.dictI64p); err != nil {
			return nil, err
		}
		return v.array(c.out, n, arrow.Int64Traits.CastToBytes(vals)), nil
	case c.phys == parquet.Types.Double:
		vals := make([]float64, n)
		if err := gather(c, vals, v, (*encoding.Values).Double, c.dictF64p); err != nil {
			return nil, err
		}
		return v.array(c.out, n, arrow.Float64Traits.CastToBytes(vals)), nil
	}
	return nil, fmt.Errorf("physical type %s is not read by the fast scan", c.phys)
}

func (c *pageColumn) dictI32p() []int32   { return c.dictI32 }
func (c *pageColumn) dictI64p() []int64   { return c.dictI64 }
func (c *pageColumn) dictF64p() []float64 { return c.dictF64 }

// gather fills dst with the next len(dst) rows of fixed-width values, nulls as
// zero values marked in v.
func gather[T any](c *pageColumn, dst []T, v *validity, page func(*encoding.Values) []T, dict func() []T) error {
	n := len(dst)
	for got := 0; got < n; {
		if c.pos == c.rows {
			ok, err := c.advance()
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("the column chunk ends after %d of the %d rows asked", got, n)
			}
			continue
		}
		k := min(n-got, c.rows-c.pos)
		out := dst[got : got+k]
		if c.dict != nil {
			idx := c.vals.Int32()
			dv := dict()
			if c.defs == nil {
				for i, j := range idx[c.vpos : c.vpos+k] {
					if uint32(j) >= uint32(len(dv)) {
						return fmt.Errorf("dictionary index %d out of %d entries", j, len(dv))
					}
					out[i] = dv[j]
				}
				c.vpos += k
			} else {
				for i, d := range c.defs[c.pos : c.pos+k] {
					if int(d) != c.maxDef {
						v.null(got + i)
						continue
					}
					j := idx[c.vpos]
					if uint32(j) >= uint32(len(dv)) {
						return fmt.Errorf("dictionary index %d out of %d entries", j, len(dv))
					}
					out[i] = dv[j]
					c.vpos++
				}
			}
		} else {
			pv := page(&c.vals)
			if c.defs == nil {
				copy(out, pv[c.vpos:c.vpos+k])
				c.vpos += k
			} else {
				for i, d := range c.defs[c.pos : c.pos+k] {
					if int(d) != c.maxDef {
						v.null(got + i)
						continue
					}
					out[i] = pv[c.vpos]
					c.vpos++
				}
			}
		}
		c.pos += k
		got += k
	}
	return nil
}

// readStrings reads n rows of strings: as dictionary indices while the pages
// are dictionary-encoded with one dictionary, as plain strings from the first
// page that is not.
func (c *pageColumn) readStrings(n int, v *validity) (arrow.Array, error) {
	codes := make([]int32, n)
	var dict *array.String
	var sb *array.StringBuilder // non-nil once the batch is plain
	toPlain := func(upto int) {
		sb = array.NewStringBuilder(mem)
		sb.Reserve(n)
		for i := 0; i < upto; i++ {
			if v.isNull(i) {
				sb.AppendNull()
			} else {
				sb.Append(dict.Value(int(codes[i])))
			}
		}
	}
	for got := 0; got < n; {
		if c.pos == c.rows {
			ok, err := c.advance()
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("the column chunk ends after %d of the %d rows asked", got, n)
			}
			continue
		}
		k := min(n-got, c.rows-c.pos)
		if sb == nil && c.dict != nil && (dict == nil || dict == c.dictStr) {
			dict = c.dictStr
			idx := c.vals.Int32()
			nd := int32(dict.Len())
			for i := 0; i < k; i++ {
				if c.defs != nil && int(c.defs[c.pos+i]) != c.maxDef {
					v.null(got + i)
					continue
				}
				j := idx[c.vpos]
				if uint32(j) >= uint32(nd) {
					return nil, fmt.Errorf("dictionary index %d out of %d entries", j, nd)
				}
				codes[got+i] = j
				c.vpos++
			}
		} else {
			if sb == nil {
				toPlain(got)
			}
			var data []byte
			var offs []uint32
			if c.dict == nil {
				data, offs = c.vals.ByteArray()
			}
			for i := 0; i < k; i++ {
				if c.defs != nil && int(c.defs[c.pos+i]) != c.maxDef {
					sb.AppendNull()
					continue
				}
				if c.dict != nil {
					j := c.vals.Int32()[c.vpos]
					if uint32(j) >= uint32(c.dictStr.Len()) {
						return nil, fmt.Errorf("dictionary index %d out of %d entries", j, c.dictStr.Len())
					}
					sb.Append(c.dictStr.Value(int(j)))
				} else {
					sb.BinaryBuilder.Append(data[offs[c.vpos]:offs[c.vpos+1]])
				}
				c.vpos++
			}
		}
		c.pos += k
		got += k
	}
	if sb != nil {
		defer sb.Release()
		return sb.NewArray(), nil
	}
	if dict == nil {
		dict = stringArray(nil, nil)
	}
	idx := v.array(arrow.PrimitiveTypes.Int32, n, arrow.Int32Traits.CastToBytes(codes))
	return array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, idx, dict), nil
}

// validity is a batch's null bitmap, made on the first null.
type validity struct {
	n     int
	bits  []byte
	nulls int
}

func newValidity(n int) *validity { return &validity{n: n} }

func (v *validity) null(i int) {
	if v.bits == nil {
		v.bits = make([]byte, bitutil.BytesForBits(int64(v.n)))
		for j := range v.bits {
			v.bits[j] = 0xff
		}
	}
	bitutil.ClearBit(v.bits, i)
	v.nulls++
}

func (v *validity) isNull(i int) bool { return v.bits != nil && !bitutil.BitIsSet(v.bits, i) }

// array makes a fixed-width array of n values from their bytes.
func (v *validity) array(t arrow.DataType, n int, values []byte) arrow.Array {
	var vb *memory.Buffer
	if v.bits != nil {
		vb = memory.NewBufferBytes(v.bits)
	}
	d := array.NewData(t, n, []*memory.Buffer{vb, memory.NewBufferBytes(values)}, nil, v.nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}
