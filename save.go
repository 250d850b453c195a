package spindle

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"unsafe"

	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/internal/csvrow"
	"github.com/spindle-engine/spindle/internal/engine"
)

// SaveAsText writes d as text files into the directory path, one line per element
// (strings and byte slices as they are, a KV as "key<TAB>value", a Pair as "(a,b)",
// other values as fmt.Print formats them: a float64 in the shortest form that reads
// back exactly, in exponent form from 1e6 up, as 4.1834044722999783e+09; to choose
// the form, map the values to strings first, e.g. with strconv.FormatFloat(v, 'f',
// 2, 64)), one part file per partition. Output goes through a committer:
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

// writeText writes one line per element, formatted by textFormat.
func writeText[T any](w io.Writer, in seq[T]) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	format := textFormat[T]()
	// The element is copied into one cell for the whole partition: passing the
	// address of each to the formatter would move each to the heap.
	cell := new(T)
	var line []byte
	var werr error
	if err := in(func(t T) bool {
		*cell = t
		line = append(format(line[:0], unsafe.Pointer(cell)), '\n')
		_, werr = bw.Write(line)
		return werr == nil
	}); err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	return bw.Flush()
}

// saveFiles runs d with every task writing its partition through the committer.
func saveFiles[T any](ctx context.Context, d Dataset[T], path, op, format string) error {
	drv, err := d.s.driver()
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	fsys, inner, err := d.s.g.FS().Resolve(ctx, path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	a := &engine.Action{Kind: engine.ActionSave, Path: path, JobTag: drv.NewJobTag(), Format: format, Overwrite: d.s.Conf().Bool("spindle.output.overwrite")}
	result, err := d.saveResult(a)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	c := hdfs.NewCommitter(fsys, inner, a.JobTag, a.Overwrite)
	if n := d.s.Conf().Int("spindle.testing.killInJobCommit"); n > 0 && drv.AppAttempt() == 1 {
		c.AfterMove = func(moved int) {
			if moved == n {
				drv.Logger().Warn().Int("moved", moved).Msg("spindle.testing.killInJobCommit: killing this process in the job commit")
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
	}
	if err := c.SetupJob(ctx); errors.Is(err, hdfs.ErrCommitted) {
		// An earlier attempt of this application died in the job commit, after
		// every partition was committed: SetupJob finished its commit.
		drv.Logger().Info().Str("path", path).Msg("output committed by an earlier application attempt; the job is not run again")
		return nil
	} else if err != nil {
		return fmt.Errorf("%s %s: %w", op, path, err)
	}
	if err := drv.RunJob(ctx, d.n, nil, op+callSite(), a, result, func(int, []byte) error { return nil }); err != nil {
		if aerr := c.AbortJob(context.WithoutCancel(ctx)); aerr != nil {
			err = fmt.Errorf("%w (and its output was not cleaned up: %w)", err, aerr)
		}
		return err
	}
	if err := c.CommitJob(ctx, d.n.NumParts, formatExt(format)); err != nil {
		return fmt.Errorf("%s %s: commit: %w", op, path, err)
	}
	return nil
}

// formatExt is the extension of a format's part files.
func formatExt(format string) string {
	if format == formatCSV {
		return ".csv"
	}
	return ""
}

// saveResult is a save's task side: write the partition into the task attempt's
// file and commit it.
func (d Dataset[T]) saveResult(a *engine.Action) (engine.ResultFunc, error) {
	var write func(io.Writer, seq[T]) error
	ext := formatExt(a.Format)
	switch a.Format {
	case formatText:
		write = writeText[T]
	case formatCSV:
		enc, err := csvrow.NewEncoder[T]()
		if err != nil {
			return nil, err
		}
		write = func(w io.Writer, in seq[T]) error { return writeCSV(w, enc, in) }
	default:
		return nil, fmt.Errorf("unknown output format %q", a.Format)
	}
	fs := d.s.g.FS()
	return func(tc *engine.TaskContext, part int) ([]byte, error) {
		fsys, inner, err := fs.Resolve(tc.Ctx, a.Path)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", a.Path, err)
		}
		c := hdfs.NewCommitter(fsys, inner, a.JobTag, a.Overwrite)
		attempt := tc.Task.Attempt
		in, err := d.iter(tc, part)
		if err != nil {
			return nil, err
		}
		w, _, err := c.TaskWriter(tc.Ctx, part, attempt, ext)
		if err != nil {
			return nil, err
		}
		err = write(w, in)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = tc.AuthorizeCommit()
		}
		if err != nil {
			_ = c.AbortTask(context.WithoutCancel(tc.Ctx), part, attempt)
			return nil, err
		}
		return nil, c.CommitTask(tc.Ctx, part, attempt)
	}, nil
}
