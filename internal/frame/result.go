package frame

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"path"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/internal/engine"
)

// Output formats of Save.
const (
	FormatParquet = "parquet"
	FormatCSV     = "csv"
)

// result is a frame node's task side of an action.
func (c *compiler) result(nd node, a *engine.Action) (engine.ResultFunc, error) {
	switch a.Kind {
	case engine.ActionCollect:
		return collectResult(nd, a.Limit), nil
	case engine.ActionCount:
		return countResult(nd), nil
	case engine.ActionSave:
		return saveResult(c.g.FS(), nd, a)
	case engine.ActionSample:
		f := c.samples[a.Shuffle]
		if f == nil {
			return nil, fmt.Errorf("sample: no OrderBy shuffle %d in the plan", a.Shuffle)
		}
		return func(tc *engine.TaskContext, part int) ([]byte, error) { return f(tc, part, a.Limit) }, nil
	}
	return nil, fmt.Errorf("frames do not run action %q", a.Kind)
}

// collectResult encodes up to limit rows of a partition (all when negative) as
// length-prefixed batches.
func collectResult(nd node, limit int) engine.ResultFunc {
	return func(tc *engine.TaskContext, part int) ([]byte, error) {
		in, err := seqOf(nd.n, tc, part)
		if err != nil {
			return nil, err
		}
		if limit >= 0 {
			inner := in
			in = func(yield func(arrow.RecordBatch) bool) error {
				return writeFirst(inner, int64(limit), func(b arrow.RecordBatch) error {
					if !yield(b) {
						return errStop
					}
					return nil
				})
			}
		}
		var out []byte
		err = in(func(b arrow.RecordBatch) bool {
			var data []byte
			if data, err = encodeBatch(b); err != nil {
				return false
			}
			out = binary.AppendUvarint(out, uint64(len(data)))
			out = append(out, data...)
			return true
		})
		if err == errStop {
			err = nil
		}
		return out, err
	}
}

// decodeBatches decodes a collect result.
func decodeBatches(data []byte) ([]arrow.RecordBatch, error) {
	var out []arrow.RecordBatch
	for len(data) > 0 {
		l, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < l {
			return nil, fmt.Errorf("corrupt collect result")
		}
		b, err := decodeBatch(data[k : k+int(l)])
		if err != nil {
			return nil, err
		}
		out = append(out, b)
		data = data[k+int(l):]
	}
	return out, nil
}

func countResult(nd node) engine.ResultFunc {
	return func(tc *engine.TaskContext, part int) ([]byte, error) {
		in, err := seqOf(nd.n, tc, part)
		if err != nil {
			return nil, err
		}
		var n int64
		err = in(func(b arrow.RecordBatch) bool { n += b.NumRows(); return true })
		return binary.AppendUvarint(nil, uint64(n)), err
	}
}

// Collect runs the plan and returns up to limit rows of each partition (all when
// limit < 0), in partition order; parts, when set, are the partitions to run.
func Collect(ctx context.Context, drv Driver, cp *Compiled, name string, parts []int, limit int) ([][]arrow.RecordBatch, error) {
	out := make([][]arrow.RecordBatch, cp.Node.NumParts)
	a := &engine.Action{Kind: engine.ActionCollect, Limit: limit}
	res, err := cp.Node.Result(a)
	if err != nil {
		return nil, err
	}
	err = drv.RunJob(ctx, cp.Node, parts, name, a, res, func(part int, data []byte) error {
		bs, err := decodeBatches(data)
		out[part] = bs
		return err
	})
	return out, err
}

// Take returns the first n rows as Spark's take finds them: the first partition,
// then up to four times as many partitions at a time, until it has n.
func Take(ctx context.Context, drv Driver, cp *Compiled, name string, n int) ([]arrow.RecordBatch, error) {
	var out []arrow.RecordBatch
	have, scanned, total := 0, 0, cp.Node.NumParts
	for have < n && scanned < total {
		try := 1
		if scanned > 0 {
			try = scanned * 4
			if have > 0 {
				try = min(max(int(1.5*float64(n)*float64(scanned)/float64(have))-scanned, 1), scanned*4)
			}
		}
		var parts []int
		for p := scanned; p < min(scanned+try, total); p++ {
			parts = append(parts, p)
		}
		got, err := Collect(ctx, drv, cp, name, parts, n-have)
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			for _, b := range got[p] {
				if have >= n {
					break
				}
				if int(b.NumRows()) > n-have {
					b = b.NewSlice(0, int64(n-have))
				}
				out = append(out, b)
				have += int(b.NumRows())
			}
		}
		scanned += len(parts)
	}
	return out, nil
}

// Count runs the plan and returns its row count.
func Count(ctx context.Context, drv Driver, cp *Compiled, name string) (int64, error) {
	a := &engine.Action{Kind: engine.ActionCount}
	res, err := cp.Node.Result(a)
	if err != nil {
		return 0, err
	}
	var total int64
	err = drv.RunJob(ctx, cp.Node, nil, name, a, res, func(_ int, data []byte) error {
		n, k := binary.Uvarint(data)
		if k <= 0 {
			return fmt.Errorf("corrupt count result")
		}
		total += int64(n)
		return nil
	})
	return total, err
}

// SaveOptions say where and how Save writes.
type SaveOptions struct {
	Path      string
	Format    string // FormatParquet or FormatCSV
	Overwrite bool
	// Compression is the Parquet codec: snappy, zstd, gzip or none.
	Compression string
}

// Save runs the plan with every task writing its partition as one file through
// the output committer.
func Save(ctx context.Context, drv Driver, fss Filesystems, cp *Compiled, name string, o SaveOptions) error {
	fsys, inner, err := fss.Resolve(ctx, o.Path)
	if err != nil {
		return err
	}
	codec := o.Compression
	if codec == "" {
		codec = "snappy"
	}
	a := &engine.Action{Kind: engine.ActionSave, Path: o.Path, JobTag: drv.NewJobTag(), Format: o.Format + ":" + codec, Overwrite: o.Overwrite}
	res, err := cp.Node.Result(a)
	if err != nil {
		return err
	}
	c := hdfs.NewCommitter(fsys, inner, a.JobTag, a.Overwrite)
	if err := c.SetupJob(ctx); err != nil {
		return err
	}
	if err := drv.RunJob(ctx, cp.Node, nil, name, a, res, func(int, []byte) error { return nil }); err != nil {
		if aerr := c.AbortJob(context.WithoutCancel(ctx)); aerr != nil {
			err = fmt.Errorf("%w (and its output was not cleaned up: %w)", err, aerr)
		}
		return err
	}
	if err := c.CommitJob(ctx, cp.Node.NumParts, "."+o.Format); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func saveResult(fss Filesystems, nd node, a *engine.Action) (engine.ResultFunc, error) {
	format, codec, _ := cutColon(a.Format)
	var write func(w io.Writer, in Seq) error
	switch format {
	case FormatParquet:
		if _, err := parquetCodec(codec); err != nil {
			return nil, err
		}
		write = func(w io.Writer, in Seq) error { return writeParquet(w, nd.out, in, codec) }
	case FormatCSV:
		write = func(w io.Writer, in Seq) error { return writeCSV(w, nd.out, in) }
	default:
		return nil, fmt.Errorf("unknown frame output format %q", a.Format)
	}
	return func(tc *engine.TaskContext, part int) ([]byte, error) {
		fsys, inner, err := fss.Resolve(tc.Ctx, a.Path)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", a.Path, err)
		}
		c := hdfs.NewCommitter(fsys, inner, a.JobTag, a.Overwrite)
		in, err := seqOf(nd.n, tc, part)
		if err != nil {
			return nil, err
		}
		w, name, err := c.TaskWriter(tc.Ctx, part, tc.Task.Attempt, "."+format)
		if err != nil {
			return nil, err
		}
		err = write(w, in)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = c.AbortTask(context.WithoutCancel(tc.Ctx), part, tc.Task.Attempt)
			return nil, fmt.Errorf("write %s: %w", path.Join(a.Path, name), err)
		}
		return nil, c.CommitTask(tc.Ctx, part, tc.Task.Attempt)
	}, nil
}

func cutColon(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
