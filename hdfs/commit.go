package hdfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
)

// Committer writes a job's output with Hadoop's FileOutputCommitter (v1) protocol, so
// that output becomes visible only whole: each task attempt writes under
// <out>/_temporary/<job>/_temporary/<attempt>/, a task commit moves its file to
// <out>/_temporary/<job>/ (the first attempt of a partition to commit wins), and the
// job commit moves every committed file into <out> and writes _SUCCESS last.
type Committer struct {
	fs        FS
	out       string
	job       string
	overwrite bool
	created   bool
}

// SuccessMarker is the file a successful job commit writes last.
const SuccessMarker = "_SUCCESS"

// NewCommitter prepares to write a job's output into outDir. jobID must be unique
// among the jobs writing there, e.g. the application id and a job number.
func NewCommitter(fsys FS, outDir, jobID string, overwrite bool) *Committer {
	return &Committer{fs: fsys, out: path.Clean(outDir), job: jobID, overwrite: overwrite}
}

func (c *Committer) jobTemp() string { return path.Join(c.out, "_temporary", c.job) }

func (c *Committer) attemptDir(partition, attempt int) string {
	return path.Join(c.jobTemp(), "_temporary", fmt.Sprintf("attempt_%05d_%d", partition, attempt))
}

func partName(partition int, ext string) string { return fmt.Sprintf("part-%05d%s", partition, ext) }

// SetupJob checks the output path and creates the job's temporary directory. An
// existing output path is an error unless overwrite is set, or unless all it holds is
// this very job's temporary directory: an earlier attempt of the application (YARN
// retrying the AM) that died before committing, whose output is discarded.
func (c *Committer) SetupJob(ctx context.Context) error {
	_, err := c.fs.Stat(ctx, c.out)
	if err == nil && !c.overwrite && c.earlierAttempt(ctx) {
		if err := c.fs.RemoveAll(ctx, c.out); err != nil {
			return fmt.Errorf("discard an earlier attempt's output in %s: %w", c.out, err)
		}
		err = fs.ErrNotExist
	}
	switch {
	case err == nil && !c.overwrite:
		return fmt.Errorf("output path %s already exists (set spindle.output.overwrite=true to replace it): %w", c.out, fs.ErrExist)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("output path %s: %w", c.out, err)
	case err != nil:
		c.created = true
	}
	return c.fs.MkdirAll(ctx, c.jobTemp(), 0o755)
}

// earlierAttempt reports whether the output directory holds nothing but
// _temporary/<this job's id>: names are unique per application and job, so only an
// attempt of the same job made it.
func (c *Committer) earlierAttempt(ctx context.Context) bool {
	top, err := c.fs.List(ctx, c.out)
	if err != nil || len(top) != 1 || path.Base(top[0].Path) != "_temporary" {
		return false
	}
	jobs, err := c.fs.List(ctx, path.Join(c.out, "_temporary"))
	return err == nil && len(jobs) == 1 && path.Base(jobs[0].Path) == c.job
}

// TaskWriter creates the file a task attempt writes its partition to, and returns
// the name the file will have in the output.
func (c *Committer) TaskWriter(ctx context.Context, partition, attempt int, ext string) (io.WriteCloser, string, error) {
	name := partName(partition, ext)
	w, err := c.fs.Create(ctx, path.Join(c.attemptDir(partition, attempt), name))
	if err != nil {
		return nil, "", fmt.Errorf("create output of partition %d attempt %d: %w", partition, attempt, err)
	}
	return w, name, nil
}

// CommitTask publishes an attempt's files into the job's committed set. If another
// attempt of the partition committed first, this attempt's output is discarded.
func (c *Committer) CommitTask(ctx context.Context, partition, attempt int) error {
	dir := c.attemptDir(partition, attempt)
	files, err := c.fs.List(ctx, dir)
	if err != nil {
		return fmt.Errorf("commit task %d attempt %d: %w", partition, attempt, err)
	}
	for _, f := range files {
		err := c.fs.Rename(ctx, f.Path, path.Join(c.jobTemp(), path.Base(f.Path)))
		if errors.Is(err, fs.ErrExist) {
			continue // an earlier attempt won
		}
		if err != nil {
			return fmt.Errorf("commit task %d attempt %d: %w", partition, attempt, err)
		}
	}
	return c.fs.RemoveAll(ctx, dir)
}

// AbortTask removes an attempt's files.
func (c *Committer) AbortTask(ctx context.Context, partition, attempt int) error {
	return c.fs.RemoveAll(ctx, c.attemptDir(partition, attempt))
}

// CommitJob moves the committed files into the output directory, removes the
// temporary directory and writes _SUCCESS last. With overwrite, the output's
// earlier files are removed first.
func (c *Committer) CommitJob(ctx context.Context) error {
	if c.overwrite && !c.created {
		old, err := c.fs.List(ctx, c.out)
		if err != nil {
			return fmt.Errorf("commit job: %w", err)
		}
		for _, f := range old {
			if path.Base(f.Path) == "_temporary" {
				continue
			}
			if err := c.fs.RemoveAll(ctx, f.Path); err != nil {
				return fmt.Errorf("commit job: remove old output: %w", err)
			}
		}
	}
	files, err := c.fs.List(ctx, c.jobTemp())
	if err != nil {
		return fmt.Errorf("commit job: %w", err)
	}
	for _, f := range files {
		if f.IsDir {
			continue // the attempts' _temporary
		}
		if err := c.fs.Rename(ctx, f.Path, path.Join(c.out, path.Base(f.Path))); err != nil {
			return fmt.Errorf("commit job: %w", err)
		}
	}
	if err := c.fs.RemoveAll(ctx, path.Join(c.out, "_temporary")); err != nil {
		return fmt.Errorf("commit job: %w", err)
	}
	w, err := c.fs.Create(ctx, path.Join(c.out, SuccessMarker))
	if err != nil {
		return fmt.Errorf("commit job: %w", err)
	}
	return w.Close()
}

// AbortJob removes the job's temporary files, and the output directory itself if
// the job created it and it is empty.
func (c *Committer) AbortJob(ctx context.Context) error {
	if err := c.fs.RemoveAll(ctx, path.Join(c.out, "_temporary")); err != nil {
		return fmt.Errorf("abort job: %w", err)
	}
	if c.created {
		if left, err := c.fs.List(ctx, c.out); err == nil && len(left) == 0 {
			return c.fs.RemoveAll(ctx, c.out)
		}
	}
	return nil
}
