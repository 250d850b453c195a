package spindle

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/spindle-engine/spindle/hdfs"
)

// Collect runs d and returns all its elements, in partition order, to the driver.
// Keep the result small: it is held in the driver's memory.
func Collect[T any](ctx context.Context, d Dataset[T]) ([]T, error) {
	return collectFirst(ctx, d, -1, "Collect"+callSite())
}

// collectFirst runs d and returns up to limit elements of each partition (all when
// limit < 0), in partition order.
func collectFirst[T any](ctx context.Context, d Dataset[T], limit int, name string) ([]T, error) {
	parts := make([][]T, d.n.nparts)
	result := func(tc *taskContext, part int) ([]byte, error) {
		in, err := d.iter(tc, part)
		if err != nil {
			return nil, err
		}
		var buf []byte
		k := 0
		err = in(func(t T) bool {
			if k == limit {
				return false
			}
			buf = d.codec.Append(buf, t)
			k++
			return k != limit
		})
		return buf, err
	}
	onResult := func(part int, data []byte) error {
		var vals []T
		if err := decodeSeq(d.codec, data)(func(t T) bool { vals = append(vals, t); return true }); err != nil {
			return err
		}
		parts[part] = vals
		return nil
	}
	if err := d.s.runJob(ctx, d.n, name, result, onResult); err != nil {
		return nil, err
	}
	var out []T
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}

// Count runs d and returns how many elements it has.
func Count[T any](ctx context.Context, d Dataset[T]) (int64, error) {
	var total int64
	result := func(tc *taskContext, part int) ([]byte, error) {
		in, err := d.iter(tc, part)
		if err != nil {
			return nil, err
		}
		var n uint64
		err = in(func(T) bool { n++; return true })
		return binary.AppendUvarint(nil, n), err
	}
	onResult := func(_ int, data []byte) error {
		n, k := binary.Uvarint(data)
		if k <= 0 {
			return fmt.Errorf("corrupt count result")
		}
		total += int64(n)
		return nil
	}
	err := d.s.runJob(ctx, d.n, "Count"+callSite(), result, onResult)
	return total, err
}

// Take returns the first n elements of d, in partition order. Each task stops after
// n elements of its partition.
func Take[T any](ctx context.Context, d Dataset[T], n int) ([]T, error) {
	out, err := collectFirst(ctx, d, max(0, n), "Take"+callSite())
	if err != nil {
		return nil, err
	}
	return out[:min(len(out), max(0, n))], nil
}

// SaveAsText writes d as text files into the directory path, one line per element
// (strings as they are, other values as fmt.Print formats them; a KV as
// "key<TAB>value"), one part file per partition. Output goes through a committer:
// tasks write under path/_temporary, the job moves committed files into place and
// writes _SUCCESS last, so a failed job leaves nothing that looks complete. An existing
// path fails the job before it runs, unless spindle.output.overwrite is true.
func SaveAsText[T any](ctx context.Context, d Dataset[T], path string) error {
	return saveFiles(ctx, d, path, "SaveAsText", "", func(w io.Writer, in seq[T]) error {
		bw := bufio.NewWriterSize(w, 256<<10)
		var werr error
		if err := in(func(t T) bool {
			werr = writeTextLine(bw, t)
			return werr == nil
		}); err != nil {
			return err
		}
		if werr != nil {
			return werr
		}
		return bw.Flush()
	})
}

func writeTextLine(w *bufio.Writer, v any) error {
	switch v := v.(type) {
	case string:
		w.WriteString(v)
	case []byte:
		w.Write(v)
	default:
		if _, err := fmt.Fprint(w, v); err != nil {
			return err
		}
	}
	return w.WriteByte('\n')
}

// saveFiles runs d with every task writing its partition through the committer.
func saveFiles[T any](ctx context.Context, d Dataset[T], path, op, ext string, write func(io.Writer, seq[T]) error) error {
	s := d.s
	fsys, inner, err := hdfs.Resolve(path, s.fsOptions())
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	c := hdfs.NewCommitter(fsys, inner, s.newJobTag(), s.conf.Bool("spindle.output.overwrite"))
	if err := c.SetupJob(ctx); err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	result := func(tc *taskContext, part int) ([]byte, error) {
		attempt := tc.task.Attempt
		in, err := d.iter(tc, part)
		if err != nil {
			return nil, err
		}
		w, _, err := c.TaskWriter(tc.ctx, part, attempt, ext)
		if err != nil {
			return nil, err
		}
		err = write(w, in)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = c.AbortTask(context.WithoutCancel(tc.ctx), part, attempt)
			return nil, err
		}
		return nil, c.CommitTask(tc.ctx, part, attempt)
	}
	if err := s.runJob(ctx, d.n, op+callSite(), result, func(int, []byte) error { return nil }); err != nil {
		if aerr := c.AbortJob(context.WithoutCancel(ctx)); aerr != nil {
			s.log.Warn().Err(aerr).Str("path", path).Msg("abort output")
		}
		return err
	}
	if err := c.CommitJob(ctx); err != nil {
		return fmt.Errorf("%s %s: commit: %w", op, path, err)
	}
	return nil
}

// ErrEmpty is returned by Reduce on a dataset without elements.
var ErrEmpty = errors.New("spindle: empty dataset")

// Reduce folds all elements of d with f, which must be associative and commutative:
// each task folds its partition, the driver folds the partial results.
func Reduce[T any](ctx context.Context, d Dataset[T], f func(T, T) T) (T, error) {
	var acc T
	have := false
	result := func(tc *taskContext, part int) ([]byte, error) {
		in, err := d.iter(tc, part)
		if err != nil {
			return nil, err
		}
		var p T
		some := false
		err = in(func(t T) bool {
			if some {
				p = f(p, t)
			} else {
				p, some = t, true
			}
			return true
		})
		if err != nil || !some {
			return nil, err
		}
		return d.codec.Append(nil, p), nil
	}
	onResult := func(_ int, data []byte) error {
		if len(data) == 0 {
			return nil
		}
		p, err := decodeWhole(d.codec, data)
		if err != nil {
			return err
		}
		if have {
			acc = f(acc, p)
		} else {
			acc, have = p, true
		}
		return nil
	}
	if err := d.s.runJob(ctx, d.n, "Reduce"+callSite(), result, onResult); err != nil {
		return acc, err
	}
	if !have {
		return acc, ErrEmpty
	}
	return acc, nil
}

// CountByKey counts the elements of each key and returns the counts to the driver.
// Keep the number of keys small: the map is held in the driver's memory.
func CountByKey[K comparable, V any](ctx context.Context, d Dataset[KV[K, V]]) (map[K]int64, error) {
	ones := MapValues(d, func(V) int64 { return 1 })
	counts, err := Collect(ctx, ReduceByKey(ones, func(a, b int64) int64 { return a + b }))
	if err != nil {
		return nil, err
	}
	out := make(map[K]int64, len(counts))
	for _, kv := range counts {
		out[kv.Key] = kv.Value
	}
	return out, nil
}
