package frame

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetCodec maps a codec name to Parquet's.
func parquetCodec(name string) (compress.Compression, error) {
	switch strings.ToLower(name) {
	case "snappy", "":
		return compress.Codecs.Snappy, nil
	case "zstd":
		return compress.Codecs.Zstd, nil
	case "gzip":
		return compress.Codecs.Gzip, nil
	case "none", "uncompressed":
		return compress.Codecs.Uncompressed, nil
	}
	return 0, fmt.Errorf("parquet compression %q: want snappy, zstd, gzip or none", name)
}

// rowGroupRows bounds the rows of a written row group.
const rowGroupRows = 1 << 20

// ParquetWriter writes batches of one schema into a Parquet file: dictionary
// encoding, min/max statistics, decimals of up to 18 digits as integers.
type ParquetWriter struct {
	w *pqarrow.FileWriter
	s *arrow.Schema
}

// NewParquetWriter starts a Parquet file of schema s on w with codec.
func NewParquetWriter(w io.Writer, s *Schema, codec string) (*ParquetWriter, error) {
	c, err := parquetCodec(codec)
	if err != nil {
		return nil, err
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(c), parquet.WithDictionaryDefault(true),
		parquet.WithStats(true), parquet.WithStoreDecimalAsInteger(true), parquet.WithMaxRowGroupLength(rowGroupRows),
		parquet.WithCreatedBy("spindle"))
	as := s.Arrow()
	fw, err := pqarrow.NewFileWriter(as, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("parquet writer: %w", err)
	}
	return &ParquetWriter{w: fw, s: as}, nil
}

// Write adds a batch, its dictionaries decoded and its types as the schema's.
func (pw *ParquetWriter) Write(b arrow.RecordBatch) error {
	b = plainBatch(b)
	cols := b.Columns()
	for i, c := range cols {
		if want := pw.s.Field(i).Type; !arrow.TypeEqual(c.DataType(), want) {
			// Same type but another time zone label, say: adopt the schema's.
			cols[i] = array.MakeFromData(array.NewData(want, c.Len(), c.Data().Buffers(), c.Data().Children(), c.NullN(), c.Data().Offset()))
		}
	}
	return pw.w.WriteBuffered(array.NewRecordBatch(pw.s, cols, b.NumRows()))
}

// Close finishes the file and closes the writer it was given if that is an io.Closer.
func (pw *ParquetWriter) Close() error { return pw.w.Close() }

func writeParquet(w io.Writer, s *Schema, in Seq, codec string) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	pw, err := NewParquetWriter(bw, s, codec)
	if err != nil {
		return err
	}
	var werr error
	if err := in(func(b arrow.RecordBatch) bool { werr = pw.Write(b); return werr == nil }); err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	if err := pw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// writeCSV writes a header and the rows, nulls as empty fields.
func writeCSV(w io.Writer, s *Schema, in Seq) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	for i, f := range s.Fields {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(csvQuote(f.Name))
	}
	bw.WriteByte('\n')
	if err := in(func(b arrow.RecordBatch) bool {
		b = plainBatch(b)
		for r := 0; r < int(b.NumRows()); r++ {
			for c := 0; c < int(b.NumCols()); c++ {
				if c > 0 {
					bw.WriteByte(',')
				}
				if col := b.Column(c); col.IsValid(r) {
					bw.WriteString(csvQuote(Cell(col, r)))
				}
			}
			bw.WriteByte('\n')
		}
		return true
	}); err != nil {
		return err
	}
	return bw.Flush()
}

func csvQuote(s string) string {
	if !strings.ContainsAny(s, ",\"\n\r") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// EndRowGroup ends the row group being written: the next batch starts another.
func (pw *ParquetWriter) EndRowGroup() { pw.w.NewBufferedRowGroup() }
