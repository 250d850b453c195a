package hdfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Committer writes a job's output with Hadoop's FileOutputCommitter (v1) protocol, so
// that output becomes visible only whole: each task attempt writes under
// <out>/_temporary/<job>/_temporary/<attempt>/, a task commit moves its file to
// <out>/_temporary/<job>/ (the first attempt of a partition to commit wins: a rename
// never overwrites, so exactly one attempt's file is the partition's, and an attempt
// that dies before its rename holds nothing), and the job commit checks that every
// partition has its committed file, records the set in a manifest, moves the files
// into <out>, writes _SUCCESS and removes the temporary directory.
//
// An application attempt that dies during the job commit leaves the manifest: the
// next attempt's SetupJob of the same job finishes the commit from it (moves, then
// _SUCCESS, then the clean-up, whichever were left) and reports ErrCommitted, so that no partial
// output stays visible and no finished job runs twice.
type Committer struct {
	// AfterMove, when set, is called after the job commit moved each file, with
	// the count so far: fault-injection tests kill the committing process there.
	AfterMove func(moved int)

	fs        FS
	out       string
	job       string
	overwrite bool
	created   bool
}

// SuccessMarker is the file a successful job commit writes, after its part files.
const SuccessMarker = "_SUCCESS"

// manifestName is the job commit's record of the committed files, in the job's
// temporary directory, written before any of them moves.
const manifestName = "_COMMITTING"

// ErrCommitted is returned by SetupJob when an earlier attempt of the same job had
// committed its output, and SetupJob finished that commit: the job need not run.
var ErrCommitted = errors.New("the job's output was committed by an earlier attempt")

// MissingOutputError fails a job commit whose partition has no committed file: a
// task reported success without writing it.
type MissingOutputError struct {
	Dir       string
	Partition int
}

func (e *MissingOutputError) Error() string {
	return fmt.Sprintf("partition %d has no committed output in %s: a task reported success without it", e.Partition, e.Dir)
}

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
	if done, err := c.recover(ctx); err != nil || done {
		return err
	}
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
	case c.overwrite:
		// An earlier attempt's uncommitted files for this job are not ours to keep.
		if err := c.fs.RemoveAll(ctx, c.jobTemp()); err != nil {
			return fmt.Errorf("discard an earlier attempt's output in %s: %w", c.out, err)
		}
	}
	return c.fs.MkdirAll(ctx, c.jobTemp(), 0o755)
}

// recover finishes a job commit an earlier attempt of this job began: with its
// manifest, the moves it did not finish, then _SUCCESS; with _SUCCESS written, only
// the clean-up. It reports whether the job is committed now (ErrCommitted).
func (c *Committer) recover(ctx context.Context) (bool, error) {
	manifest := path.Join(c.jobTemp(), manifestName)
	names, err := c.readManifest(ctx, manifest)
	_, succ := c.fs.Stat(ctx, path.Join(c.out, SuccessMarker))
	// Only the manifest says a commit of this job began: an old _SUCCESS beside
	// this job's temporary directory may be an overwritten output's.
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("recover the job commit in %s: %w", c.out, err)
	default:
		for _, n := range names {
			err := c.fs.Rename(ctx, path.Join(c.jobTemp(), n), path.Join(c.out, n))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, fmt.Errorf("recover the job commit in %s: %w", c.out, err)
			}
			if _, err := c.fs.Stat(ctx, path.Join(c.out, n)); err != nil {
				return false, fmt.Errorf("recover the job commit in %s: committed file %s: %w", c.out, n, err)
			}
		}
		if succ != nil {
			if err := c.writeSuccess(ctx); err != nil {
				return false, fmt.Errorf("recover the job commit in %s: %w", c.out, err)
			}
		}
	}
	if err := c.fs.RemoveAll(ctx, path.Join(c.out, "_temporary")); err != nil {
		return false, fmt.Errorf("recover the job commit in %s: %w", c.out, err)
	}
	return true, ErrCommitted
}

func (c *Committer) readManifest(ctx context.Context, p string) ([]string, error) {
	f, err := c.fs.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range strings.Split(string(b), "\n") {
		if n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

func (c *Committer) writeSuccess(ctx context.Context) error {
	w, err := c.fs.Create(ctx, path.Join(c.out, SuccessMarker))
	if err != nil {
		return err
	}
	return w.Close()
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

// CommitTask publishes an attempt's files into the job's committed set. The
// driver lets one attempt per partition commit; should an attempt it let commit
// have died after its rename, the file is that attempt's whole output, and this
// attempt's is discarded.
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

// CommitJob checks that each of the job's partitions 0…partitions-1 has its committed
// file (named with ext), records them in the manifest, moves them into the output
// directory, writes _SUCCESS and removes the temporary directory. With overwrite,
// the output's earlier files are removed first.
func (c *Committer) CommitJob(ctx context.Context, partitions int, ext string) error {
	committed, err := c.fs.List(ctx, c.jobTemp())
	if err != nil {
		return fmt.Errorf("commit job: %w", err)
	}
	have := map[string]bool{}
	for _, f := range committed {
		if !f.IsDir {
			have[path.Base(f.Path)] = true
		}
	}
	names := make([]string, partitions)
	for p := range partitions {
		names[p] = partName(p, ext)
		if !have[names[p]] {
			return fmt.Errorf("commit job: %w", &MissingOutputError{Dir: c.out, Partition: p})
		}
	}
	// Old output goes before the manifest: an attempt that dies between the two
	// runs the job again, as overwrite asked, instead of mixing old and new files.
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
	w, err := c.fs.Create(ctx, path.Join(c.jobTemp(), manifestName))
	if err != nil {
		return fmt.Errorf("commit job: manifest: %w", err)
	}
	_, err = io.WriteString(w, strings.Join(names, "\n")+"\n")
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("commit job: manifest: %w", err)
	}
	for i, n := range names {
		if err := c.fs.Rename(ctx, path.Join(c.jobTemp(), n), path.Join(c.out, n)); err != nil {
			return fmt.Errorf("commit job: %w", err)
		}
		if c.AfterMove != nil {
			c.AfterMove(i + 1)
		}
	}
	// _SUCCESS before the clean-up: an attempt that dies between the two leaves a
	// state the next one recognizes as committed.
	if err := c.writeSuccess(ctx); err != nil {
		return fmt.Errorf("commit job: %w", err)
	}
	// The attempts' leftovers first, the manifest last: until it goes, a next
	// attempt knows this job is committed.
	for _, dir := range []string{path.Join(c.jobTemp(), "_temporary"), path.Join(c.out, "_temporary")} {
		if err := c.fs.RemoveAll(ctx, dir); err != nil {
			return fmt.Errorf("commit job: %w", err)
		}
	}
	return nil
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
