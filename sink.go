package spindle

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"

	"github.com/spindle-engine/spindle/codec"
	"github.com/spindle-engine/spindle/internal/csvrow"

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
	onResult := func(part int, data []byte) error {
		var vals []T
		if err := decodeSeq(d.codec, data)(func(t T) bool { vals = append(vals, t); return true }); err != nil {
			return err
		}
		parts[part] = vals
		return nil
	}
	a := &actionSpec{Kind: actionCollect, Limit: limit}
	if err := d.s.runJob(ctx, d.n, name, a, d.collectResult(limit), onResult); err != nil {
		return nil, err
	}
	var out []T
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}

// resultMaker turns an action's spec into its task side; Dataset[T] implements it,
// so an executor holding only the node can compute a typed action.
type resultMaker interface {
	resultFor(a *actionSpec) (resultFunc, error)
}

func (d Dataset[T]) resultFor(a *actionSpec) (resultFunc, error) {
	switch a.Kind {
	case actionCollect:
		return d.collectResult(a.Limit), nil
	case actionCount:
		return d.countResult(), nil
	case actionSave:
		return d.saveResult(a)
	case actionCountByKey:
		return d.countByKeyResult(), nil
	case actionSample:
		b := d.n.build
		if b == nil || b.shuffles[a.Shuffle] == nil || b.shuffles[a.Shuffle].sample == nil {
			return nil, fmt.Errorf("sample: no SortBy shuffle %d in the plan", a.Shuffle)
		}
		sample := b.shuffles[a.Shuffle].sample
		return func(tc *taskContext, part int) ([]byte, error) { return sample(tc, part, a.Limit) }, nil
	}
	return nil, fmt.Errorf("unknown action %q", a.Kind)
}

// collectResult encodes up to limit elements of a partition (all when limit < 0).
func (d Dataset[T]) collectResult(limit int) resultFunc {
	return func(tc *taskContext, part int) ([]byte, error) {
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
}

func (d Dataset[T]) countResult() resultFunc {
	return func(tc *taskContext, part int) ([]byte, error) {
		in, err := d.iter(tc, part)
		if err != nil {
			return nil, err
		}
		var n uint64
		err = in(func(T) bool { n++; return true })
		return binary.AppendUvarint(nil, n), err
	}
}

// Count runs d and returns how many elements it has.
func Count[T any](ctx context.Context, d Dataset[T]) (int64, error) {
	var total int64
	onResult := func(_ int, data []byte) error {
		n, k := binary.Uvarint(data)
		if k <= 0 {
			return fmt.Errorf("corrupt count result")
		}
		total += int64(n)
		return nil
	}
	err := d.s.runJob(ctx, d.n, "Count"+callSite(), &actionSpec{Kind: actionCount}, d.countResult(), onResult)
	return total, err
}

// Take returns the first n elements of d, in partition order. Like Spark's take, it
// computes the first partition alone, then up to four times as many partitions at a
// time, guided by how many elements the partitions so far held, until it has n.
func Take[T any](ctx context.Context, d Dataset[T], n int) ([]T, error) {
	if n <= 0 {
		return nil, nil
	}
	name := "Take" + callSite()
	total := d.n.nparts
	var out []T
	scanned := 0
	for len(out) < n && scanned < total {
		try := 1
		if scanned > 0 {
			try = scanned * 4
			if len(out) > 0 {
				try = min(max(int(1.5*float64(n)*float64(scanned)/float64(len(out)))-scanned, 1), scanned*4)
			}
		}
		parts := make([]int, 0, try)
		for p := scanned; p < min(scanned+try, total); p++ {
			parts = append(parts, p)
		}
		got := make([][]T, total)
		onResult := func(part int, data []byte) error {
			return decodeSeq(d.codec, data)(func(t T) bool { got[part] = append(got[part], t); return true })
		}
		limit := n - len(out)
		a := &actionSpec{Kind: actionCollect, Limit: limit}
		if err := d.s.runJobOn(ctx, d.n, parts, name, a, d.collectResult(limit), onResult); err != nil {
			return nil, err
		}
		for _, p := range parts {
			out = append(out, got[p]...)
		}
		scanned += len(parts)
	}
	return out[:min(len(out), n)], nil
}

// SaveAsText writes d as text files into the directory path, one line per element
// (strings as they are, other values as fmt.Print formats them; a KV as
// "key<TAB>value"), one part file per partition. Output goes through a committer:
// tasks write under path/_temporary, the job moves committed files into place and
// writes _SUCCESS last, so a failed job leaves nothing that looks complete. An existing
// path fails the job before it runs, unless spindle.output.overwrite is true.
func SaveAsText[T any](ctx context.Context, d Dataset[T], path string) error {
	return saveFiles(ctx, d, path, "SaveAsText", formatText)
}

// Output formats of saveFiles.
const (
	formatText = "text"
	formatCSV  = "csv"
)

// writeText writes one line per element.
func writeText[T any](w io.Writer, in seq[T]) error {
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
func saveFiles[T any](ctx context.Context, d Dataset[T], path, op, format string) error {
	s := d.s
	fsys, inner, err := hdfs.Resolve(path, s.fsOptions())
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	a := &actionSpec{Kind: actionSave, Path: path, JobTag: s.newJobTag(), Format: format, Overwrite: s.conf.Bool("spindle.output.overwrite")}
	result, err := d.saveResult(a)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	c := hdfs.NewCommitter(fsys, inner, a.JobTag, a.Overwrite)
	if err := c.SetupJob(ctx); err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	if err := s.runJob(ctx, d.n, op+callSite(), a, result, func(int, []byte) error { return nil }); err != nil {
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

// saveResult is a save's task side: write the partition into the task attempt's
// file and commit it.
func (d Dataset[T]) saveResult(a *actionSpec) (resultFunc, error) {
	var write func(io.Writer, seq[T]) error
	ext := ""
	switch a.Format {
	case formatText:
		write = writeText[T]
	case formatCSV:
		enc, err := csvrow.NewEncoder[T]()
		if err != nil {
			return nil, err
		}
		write = func(w io.Writer, in seq[T]) error { return writeCSV(w, enc, in) }
		ext = ".csv"
	default:
		return nil, fmt.Errorf("unknown output format %q", a.Format)
	}
	s := d.s
	return func(tc *taskContext, part int) ([]byte, error) {
		fsys, inner, err := hdfs.Resolve(a.Path, s.fsOptions())
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", a.Path, err)
		}
		c := hdfs.NewCommitter(fsys, inner, a.JobTag, a.Overwrite)
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
	}, nil
}

// ErrEmpty is returned by Reduce on a dataset without elements.
var ErrEmpty = errors.New("spindle: empty dataset")

// Reduce folds all elements of d with f, which must be associative and commutative.
// In-process, each task folds its partition and the driver folds the partial results.
// Remote executors cannot run f, a function given on the driver after the plan was
// built: there each partition's elements are sent to the driver and folded there as
// they arrive, which moves the data but never holds more than one partition.
func Reduce[T any](ctx context.Context, d Dataset[T], f func(T, T) T) (T, error) {
	var acc T
	have := false
	fold := func(t T) {
		if have {
			acc = f(acc, t)
		} else {
			acc, have = t, true
		}
	}
	// The local task side folds, and sends its one partial result in collect's
	// encoding, so that the driver reads both the same way.
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
		return decodeSeq(d.codec, data)(func(t T) bool { fold(t); return true })
	}
	if err := d.s.runJob(ctx, d.n, "Reduce"+callSite(), &actionSpec{Kind: actionCollect, Limit: -1}, result, onResult); err != nil {
		return acc, err
	}
	if !have {
		return acc, ErrEmpty
	}
	return acc, nil
}

// CountByKey counts the elements of each key and returns the counts to the driver.
// Each task counts its partition's keys; the driver adds the counts up. Keep the number
// of keys small: the map is held in the driver's memory.
func CountByKey[K comparable, V any](ctx context.Context, d Dataset[KV[K, V]]) (map[K]int64, error) {
	kc := mustKeyCodec[K]()
	out := map[K]int64{}
	onResult := func(_ int, data []byte) error {
		for len(data) > 0 {
			l, m := binary.Uvarint(data)
			if m <= 0 || uint64(len(data)-m) < l {
				return fmt.Errorf("corrupt key count")
			}
			k, err := decodeWhole(kc, data[m:m+int(l)])
			if err != nil {
				return fmt.Errorf("decode key count: %w", err)
			}
			data = data[m+int(l):]
			c, m := binary.Uvarint(data)
			if m <= 0 {
				return fmt.Errorf("corrupt key count")
			}
			out[k] += int64(c)
			data = data[m:]
		}
		return nil
	}
	if err := d.s.runJob(ctx, d.n, "CountByKey"+callSite(), &actionSpec{Kind: actionCountByKey}, d.countByKeyResult(), onResult); err != nil {
		return nil, err
	}
	return out, nil
}

// keyedElement is implemented by KV: it appends the encoded key, which lets the
// untyped task side of CountByKey count keys of any KV type.
type keyedElement interface {
	appendKey(dst []byte) []byte
}

func (kv KV[K, V]) appendKey(dst []byte) []byte { return keyCodecOf[K]().Append(dst, kv.Key) }

var keyCodecs sync.Map // reflect.Type → codec.Codec[K]

func keyCodecOf[K any]() codec.Codec[K] {
	t := reflect.TypeFor[K]()
	if c, ok := keyCodecs.Load(t); ok {
		return c.(codec.Codec[K])
	}
	c := mustKeyCodec[K]()
	keyCodecs.Store(t, c)
	return c
}

// countByKeyResult counts a partition's elements by encoded key and encodes the
// counts as (uvarint key length, key, uvarint count): key encodings need not be
// self-delimiting.
func (d Dataset[T]) countByKeyResult() resultFunc {
	return func(tc *taskContext, part int) ([]byte, error) {
		in, err := d.iter(tc, part)
		if err != nil {
			return nil, err
		}
		counts := map[string]uint64{}
		var kb []byte
		var bad error
		err = in(func(t T) bool {
			ke, ok := any(t).(keyedElement)
			if !ok {
				bad = fmt.Errorf("CountByKey on %T, which is not a KV", t)
				return false
			}
			kb = ke.appendKey(kb[:0])
			counts[string(kb)]++
			return true
		})
		if err == nil {
			err = bad
		}
		if err != nil {
			return nil, err
		}
		var out []byte
		for k, c := range counts {
			out = binary.AppendUvarint(out, uint64(len(k)))
			out = append(out, k...)
			out = binary.AppendUvarint(out, c)
		}
		return out, nil
	}
}
