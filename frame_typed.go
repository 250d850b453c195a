package spindle

import (
	"context"
	"fmt"

	"github.com/spindle-engine/spindle/internal/engine"
	"github.com/spindle-engine/spindle/internal/frame"
)

// As turns a frame into a dataset of structs: each exported field of T takes the
// column named by its `parquet:"name"` tag, else by the field's name; a null leaves
// the field zero (a pointer field nil). Decimal columns fit Decimal, float64 and
// string fields. The dataset follows the rules of datasets: to run on a cluster,
// build it inside a registered job.
func As[T any](f Frame) Dataset[T] {
	s := f.s
	if f.err != nil {
		n := s.newNode("As", 1, nil, func(*engine.TaskContext, int) (any, error) { return nil, f.err })
		n.Err = f.err
		return newDataset[T](s, n)
	}
	var cp *frame.Compiled
	var err error
	d, _ := s.driver()
	if d != nil {
		cp, err = frame.Compile(s.g, d, f.p)
	} else {
		cp, err = frame.Compile(s.g, nil, f.p)
	}
	if err != nil {
		n := s.newNode("As", 1, nil, func(*engine.TaskContext, int) (any, error) { return nil, err })
		n.Err = err
		return newDataset[T](s, n)
	}
	if _, err = frame.RowsAs[T](cp.Schema, nil); err != nil {
		n := s.newNode("As", 1, nil, func(*engine.TaskContext, int) (any, error) { return nil, err })
		n.Err = err
		return newDataset[T](s, n)
	}
	n := s.newNode("As", cp.Node.NumParts, []*engine.Node{cp.Node}, func(tc *engine.TaskContext, part int) (any, error) {
		v, err := cp.Node.Compute(tc, part)
		if err != nil {
			return nil, err
		}
		rows, err := frame.RowsAs[T](cp.Schema, v.(frame.Seq))
		if err != nil {
			return nil, err
		}
		return seq[T](rows), nil
	})
	n.Hosts = cp.Node.Hosts
	return newDataset[T](s, n)
}

// FrameOf turns a dataset of structs into a frame: a column per exported field,
// named by its `parquet:"name"` tag or the field's name (bool, integers, floats,
// strings, time.Time as timestamps; pointers for nullable columns). Such a frame
// reads the dataset's closures, so it is not data: on a cluster, build it inside a
// registered job, as the dataset itself must be.
func FrameOf[T any](d Dataset[T]) Frame {
	site := callSite()
	schema, err := frame.SchemaOf[T]()
	if err != nil {
		return Frame{s: d.s, err: fmt.Errorf("FrameOf%s: %w", site, err)}
	}
	p := frame.FromLocal(site, schema, d.n, func(tc *engine.TaskContext, part int) (frame.Seq, error) {
		in, err := d.iter(tc, part)
		if err != nil {
			return nil, err
		}
		return frame.BatchesOf[T](schema, in), nil
	})
	return Frame{s: d.s, p: p}
}

// ReadParquetAs reads Parquet files into a dataset of structs, reading only the
// columns T's fields name (see [As]).
func ReadParquetAs[T any](s *Session, paths ...string) Dataset[T] {
	names, err := frame.FieldNames[T]()
	f := ReadParquet(s, paths...)
	if err != nil && f.err == nil {
		f.err = fmt.Errorf("ReadParquetAs%s: %w", callSite(), err)
	}
	cols := make([]any, len(names))
	for i, n := range names {
		cols[i] = n
	}
	return As[T](f.Select(cols...))
}

// SaveAsParquet writes a dataset of structs as Parquet files, a column per field
// (see [FrameOf] and [Frame.SaveAsParquet]).
func SaveAsParquet[T any](ctx context.Context, d Dataset[T], path string) error {
	return FrameOf(d).SaveAsParquet(ctx, path)
}
