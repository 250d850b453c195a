package frame

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Seq is a partition's batches, pushed to yield until it returns false. Batches are
// immutable and live as long as they are referenced (the Go allocator backs them),
// so a consumer may keep one past the call.
type Seq func(yield func(arrow.RecordBatch) bool) error

var mem = memory.DefaultAllocator

// batchRows is how many rows operators put in the batches they make.
const batchRows = 64 << 10

// newBatch makes a batch of cols under schema s; every column must have n rows.
func newBatch(s *Schema, cols []arrow.Array, n int) arrow.RecordBatch {
	fs := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fs[i] = arrow.Field{Name: s.Fields[i].Name, Type: c.DataType(), Nullable: true}
	}
	return array.NewRecordBatch(arrow.NewSchema(fs, nil), cols, int64(n))
}

// plain returns a as a plain array: a dictionary's values are taken out.
func plain(a arrow.Array) arrow.Array {
	d, ok := a.(*array.Dictionary)
	if !ok {
		return a
	}
	out, err := compute.TakeArray(context.Background(), d.Dictionary(), d.Indices())
	if err != nil {
		panic(fmt.Sprintf("frame: decode dictionary: %v", err)) // Take on valid indices cannot fail
	}
	return out
}

// plainBatch decodes b's dictionary columns.
func plainBatch(b arrow.RecordBatch) arrow.RecordBatch {
	cols := b.Columns()
	changed := false
	out := make([]arrow.Array, len(cols))
	for i, c := range cols {
		out[i] = plain(c)
		changed = changed || out[i] != c
	}
	if !changed {
		return b
	}
	fs := make([]arrow.Field, len(cols))
	for i, c := range out {
		fs[i] = arrow.Field{Name: b.ColumnName(i), Type: c.DataType(), Nullable: true}
	}
	return array.NewRecordBatch(arrow.NewSchema(fs, nil), out, b.NumRows())
}

// takeRows returns the rows idx of b (a null index gives a null row).
func takeRows(b arrow.RecordBatch, idx arrow.Array) arrow.RecordBatch {
	cols := make([]arrow.Array, b.NumCols())
	for i, c := range b.Columns() {
		t, err := compute.TakeArray(context.Background(), plain(c), idx)
		if err != nil {
			panic(fmt.Sprintf("frame: take: %v", err))
		}
		cols[i] = t
	}
	return array.NewRecordBatch(schemaOf(b.Schema(), cols), cols, int64(idx.Len()))
}

// schemaOf renames cols' types into s's field names.
func schemaOf(s *arrow.Schema, cols []arrow.Array) *arrow.Schema {
	fs := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fs[i] = arrow.Field{Name: s.Field(i).Name, Type: c.DataType(), Nullable: true}
	}
	return arrow.NewSchema(fs, nil)
}

// concatBatches concatenates batches of one schema into one, dictionaries decoded.
func concatBatches(s *Schema, bs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(bs) == 1 {
		return plainBatch(bs[0]), nil
	}
	cols := make([]arrow.Array, len(s.Fields))
	n := 0
	for _, b := range bs {
		n += int(b.NumRows())
	}
	for i, f := range s.Fields {
		parts := make([]arrow.Array, 0, len(bs))
		for _, b := range bs {
			parts = append(parts, plain(b.Column(i)))
		}
		if len(parts) == 0 {
			t, _ := ArrowType(f.Type)
			cols[i] = array.MakeArrayOfNull(mem, t, 0)
			continue
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, fmt.Errorf("concatenate column %s: %w", f.Name, err)
		}
		cols[i] = c
	}
	return newBatch(s, cols, n), nil
}

// emptyBatch is a batch of s without rows.
func emptyBatch(s *Schema) arrow.RecordBatch {
	cols := make([]arrow.Array, len(s.Fields))
	for i, f := range s.Fields {
		t, _ := ArrowType(f.Type)
		cols[i] = array.MakeArrayOfNull(mem, t, 0)
	}
	return newBatch(s, cols, 0)
}

// batchBytes estimates the memory a batch holds.
func batchBytes(b arrow.RecordBatch) int64 {
	var n int64
	for _, c := range b.Columns() {
		n += dataBytes(c.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, buf := range d.Buffers() {
		if buf != nil {
			n += int64(buf.Len())
		}
	}
	for _, c := range d.Children() {
		if c, ok := c.(*array.Data); ok && c != nil {
			n += dataBytes(c)
		}
	}
	if dict, ok := d.Dictionary().(*array.Data); ok && dict != nil {
		n += dataBytes(dict)
	}
	return n
}

// int32Array makes an Int32 array of vals.
func int32Array(vals []int32) arrow.Array {
	b := array.NewInt32Builder(mem)
	b.AppendValues(vals, nil)
	return b.NewArray()
}
