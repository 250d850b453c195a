package spindle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/scheduler"
)

// Parallelize distributes data over numSlices partitions (the default parallelism
// when numSlices < 1).
func Parallelize[T any](s *Session, data []T, numSlices int) Dataset[T] {
	if numSlices < 1 {
		numSlices = s.slots()
	}
	numSlices = max(1, min(numSlices, max(1, len(data))))
	n := s.newNode("Parallelize", numSlices, nil, func(tc *taskContext, part int) (any, error) {
		lo, hi := part*len(data)/numSlices, (part+1)*len(data)/numSlices
		return seq[T](func(yield func(T) bool) error {
			for _, t := range data[lo:hi] {
				tc.metrics.RecordsRead++
				if !yield(t) {
					return nil
				}
			}
			return nil
		}), nil
	})
	return newDataset[T](s, n)
}

// inputSplit is a split with the filesystem that holds it.
type inputSplit struct {
	hdfs.Split
	fs hdfs.FS
	// input is the path the user gave, which names the filesystem.
	input string
}

// ReadText reads the lines of text files: each path is a file, a directory (its files
// whose names do not start with "_" or "."), or a glob. Paths are local ("/data",
// "file:///data") or in HDFS ("hdfs://nn:8020/data", or relative to fs.defaultFS).
// Files are split as Hadoop splits them, each line read by exactly one task. A path
// that matches nothing fails the first action, before any task runs.
func ReadText(s *Session, paths ...string) Dataset[string] {
	splits, err := s.planInput(paths)
	n := s.newNode("ReadText", max(1, len(splits)), nil, func(tc *taskContext, part int) (any, error) {
		return seq[string](func(yield func(string) bool) error {
			if part >= len(splits) {
				return nil
			}
			return readLines(tc, splits[part], func(line []byte, _ int64) bool { return yield(string(line)) })
		}), nil
	})
	n.err = err
	n.hosts = splitHosts(splits)
	return newDataset[string](s, n)
}

func splitHosts(splits []inputSplit) func(int) []string {
	return func(part int) []string {
		if part >= len(splits) {
			return nil
		}
		return splits[part].Hosts
	}
}

// planInput expands the input paths and cuts them into splits sized as Spark sizes
// file partitions, so that small inputs still use every slot. In a build, the splits
// are a fact: executors get the driver's instead of listing the files again.
func (s *Session) planInput(paths []string) ([]inputSplit, error) {
	type shipped struct {
		Input string
		hdfs.Split
	}
	var splits []inputSplit
	data, err := s.fact(func() ([]byte, error) {
		var err error
		if splits, err = s.listInput(paths); err != nil {
			return nil, err
		}
		out := make([]shipped, len(splits))
		for i, sp := range splits {
			out[i] = shipped{sp.input, sp.Split}
		}
		return json.Marshal(out)
	})
	if err != nil || splits != nil {
		return splits, err
	}
	var in []shipped
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("input splits from the driver: %w", err)
	}
	for _, sp := range in {
		fsys, _, err := hdfs.Resolve(sp.Input, s.fsOptions())
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", sp.Input, err)
		}
		splits = append(splits, inputSplit{Split: sp.Split, fs: fsys, input: sp.Input})
	}
	return splits, nil
}

// listInput lists and splits the input paths.
func (s *Session) listInput(paths []string) ([]inputSplit, error) {
	if len(paths) == 0 {
		return nil, errors.New("no input path given")
	}
	ctx := s.ctx
	type fileIn struct {
		fs    hdfs.FS
		files []hdfs.FileInfo
		input string
	}
	var inputs []fileIn
	var total int64
	for _, p := range paths {
		fsys, inner, err := hdfs.Resolve(p, s.fsOptions())
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		files, err := hdfs.ExpandPaths(ctx, fsys, []string{inner})
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		for _, f := range files {
			total += f.Size
		}
		inputs = append(inputs, fileIn{fsys, files, p})
	}
	maxSplit := hdfs.MaxSplitBytes(total, s.slots(), s.conf.Size("spindle.files.maxPartitionBytes"), s.conf.Size("spindle.files.openCostInBytes"))
	var out []inputSplit
	for _, in := range inputs {
		splits, err := hdfs.PlanSplits(ctx, in.fs, in.files, maxSplit)
		if err != nil {
			return nil, fmt.Errorf("split input: %w", err)
		}
		for _, sp := range splits {
			out = append(out, inputSplit{sp, in.fs, in.input})
		}
	}
	return out, nil
}

// readLines calls f with every line of the split and its byte offset in the file.
func readLines(tc *taskContext, sp inputSplit, f func(line []byte, offset int64) bool) error {
	r, err := hdfs.NewLineReader(tc.ctx, sp.fs, sp.Split)
	if err != nil {
		return fmt.Errorf("read %s: %w", sp.Path, err)
	}
	defer r.Close()
	for r.Next() {
		tc.metrics.RecordsRead++
		if !f(r.Line(), r.Offset()) {
			return nil
		}
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("read %s: %w", sp.Path, err)
	}
	return nil
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
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %q", e.Column)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

// Is makes the scheduler treat bad input as not worth retrying.
func (e *InputError) Is(target error) bool { return target == scheduler.ErrNotRetriable }

// lineOf finds the line number of a line that begins at offset, for an error message.
func lineOf(ctx context.Context, sp inputSplit, offset int64) int64 {
	n, err := hdfs.LineNumberAt(ctx, sp.fs, sp.Path, offset)
	if err != nil {
		return 0
	}
	return n
}
