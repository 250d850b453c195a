package spindle

import (
	"bytes"
	"errors"
	"fmt"
	"unsafe"

	"github.com/spindle-engine/spindle/internal/csvrow"
	"github.com/spindle-engine/spindle/internal/engine"
	"github.com/spindle-engine/spindle/scheduler"
)

// Parallelize distributes data over numSlices partitions (the default parallelism
// when numSlices < 1).
func Parallelize[T any](s *Session, data []T, numSlices int) Dataset[T] {
	if numSlices < 1 {
		numSlices = s.g.Slots()
	}
	numSlices = max(1, min(numSlices, max(1, len(data))))
	n := s.newNode("Parallelize", numSlices, nil, func(tc *engine.TaskContext, part int) (any, error) {
		lo, hi := part*len(data)/numSlices, (part+1)*len(data)/numSlices
		return seq[T](func(yield func(T) bool) error {
			for _, t := range data[lo:hi] {
				tc.Metrics.RecordsRead++
				if !yield(t) {
					return nil
				}
			}
			return nil
		}), nil
	})
	return newDataset[T](s, n)
}

// ReadText reads the lines of text files: each path is a file, a directory (its files
// whose names do not start with "_" or "."), or a glob. Paths are local ("/data",
// "file:///data") or in HDFS ("hdfs://nn:8020/data", or relative to fs.defaultFS).
// Files are split as Hadoop splits them, each line read by exactly one task. A path
// that matches nothing fails the first action, before any task runs. Inside a job's
// Build the files are listed under the build's context, else under the session's.
func ReadText(s *Session, paths ...string) Dataset[string] {
	splits, err := s.g.PlanInput(paths)
	n := s.newNode("ReadText", max(1, len(splits)), nil, func(tc *engine.TaskContext, part int) (any, error) {
		return seq[string](func(yield func(string) bool) error {
			if part >= len(splits) {
				return nil
			}
			var a stringArena
			return engine.ReadLines(tc, splits[part], func(line []byte, _ int64) bool { return yield(a.String(line)) })
		}), nil
	})
	n.Err = err
	n.Hosts = engine.SplitHosts(splits)
	n.Bytes = splitBytes(splits)
	return newDataset[string](s, n)
}

// splitBytes is the size of the input: a source's size estimate.
func splitBytes(splits []engine.InputSplit) int64 {
	var n int64
	for _, sp := range splits {
		n += sp.Length
	}
	return n
}

// textBlock is the size of the blocks that ReadText copies lines into.
const textBlock = 32 << 10

// stringArena makes strings of lines read into a reused buffer by copying them into
// shared, never rewritten blocks: one copy per line, as string(line) makes, but one
// allocation per block instead of one per line. A string kept by the user keeps its
// block alive, as a substring keeps its string alive.
type stringArena struct{ buf []byte }

// String returns a string with b's bytes.
func (a *stringArena) String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > cap(a.buf)-len(a.buf) {
		if len(b) > textBlock/4 {
			return string(b)
		}
		a.buf = make([]byte, 0, textBlock)
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return unsafe.String(&a.buf[start], len(b))
}

// InputError is bad input data found by a task, such as a malformed CSV row. It names
// the file, line and column, and fails the job at once: retrying cannot mend the data.
type InputError struct {
	Path   string
	Line   int64  // 1-based; 0 when unknown
	Column string // column name, when the error is in one field
	Err    error
}

func (e *InputError) Error() string {
	var b bytes.Buffer
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	// A field's error names its column (and index) itself.
	var fe *csvrow.FieldError
	if e.Column != "" && !errors.As(e.Err, &fe) {
		fmt.Fprintf(&b, ": column %q", e.Column)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

// Is makes the scheduler treat bad input as not worth retrying.
func (e *InputError) Is(target error) bool { return target == scheduler.ErrNotRetriable }
