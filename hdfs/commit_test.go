package hdfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// commitParts runs a job of n partitions up to its job commit: each partition's
// attempt 0 writes "p<i>" and commits.
func commitParts(t *testing.T, c *Committer, n int) {
	t.Helper()
	ctx := context.Background()
	for p := range n {
		w, _, err := c.TaskWriter(ctx, p, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		write(t, w, fmt.Sprintf("p%d\n", p))
		if err := c.CommitTask(ctx, p, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCommitJobVerifiesEveryPartition: a partition reported done without its
// committed file fails the job commit, naming it, and nothing becomes visible.
func TestCommitJobVerifiesEveryPartition(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "out")
	c := NewCommitter(Local, out, "job1", false)
	if err := c.SetupJob(ctx); err != nil {
		t.Fatal(err)
	}
	commitParts(t, c, 3)
	err := c.CommitJob(ctx, 4, "")
	var missing *MissingOutputError
	if !errors.As(err, &missing) || missing.Partition != 3 || !strings.Contains(err.Error(), "partition 3") {
		t.Fatalf("CommitJob with partition 3 missing = %v, want a MissingOutputError naming it", err)
	}
	if got := names(t, out); !slices.Equal(got, []string{"_temporary"}) {
		t.Fatalf("a failed job commit left %v visible", got)
	}
}

// failingFS fails the n-th call (from 0) of one operation, as an ApplicationMaster
// killed at that point of a job commit would leave things.
type failingFS struct {
	FS
	op    string // "rename", "create" or "removeAll"
	match string // only calls whose path contains it count
	n     int
	armed bool // from the job commit on
	calls int
}

var errKilled = errors.New("killed")

func (f *failingFS) hit(op, p string) error {
	if !f.armed || op != f.op || !strings.Contains(p, f.match) {
		return nil
	}
	f.calls++
	if f.calls-1 == f.n {
		return errKilled
	}
	return nil
}

func (f *failingFS) Rename(ctx context.Context, from, to string) error {
	if err := f.hit("rename", to); err != nil {
		return err
	}
	return f.FS.Rename(ctx, from, to)
}

func (f *failingFS) Create(ctx context.Context, p string) (io.WriteCloser, error) {
	if err := f.hit("create", p); err != nil {
		return nil, err
	}
	return f.FS.Create(ctx, p)
}

func (f *failingFS) RemoveAll(ctx context.Context, p string) error {
	if err := f.hit("removeAll", p); err != nil {
		return err
	}
	return f.FS.RemoveAll(ctx, p)
}

// TestCommitJobRecoversAfterAnInterruption interrupts a job commit at each of its
// steps; the next application attempt's SetupJob of the same job either finishes
// the commit (ErrCommitted: every file, then _SUCCESS, nothing temporary) or, when
// the commit had not begun, discards the earlier attempt's files so the job runs
// again. Never is partial output visible without _SUCCESS.
func TestCommitJobRecoversAfterAnInterruption(t *testing.T) {
	const parts = 5
	all := []string{"_SUCCESS", "part-00000", "part-00001", "part-00002", "part-00003", "part-00004"}
	for _, tt := range []struct {
		name      string
		overwrite bool
		op, match string
		n         int
		committed bool // the next attempt finds the job committed
	}{
		{"before the manifest", false, "create", manifestName, 0, false},
		{"after the first move", false, "rename", "/part-00001", 0, true},
		{"after every move", false, "create", SuccessMarker, 0, true},
		{"after _SUCCESS, in the clean-up", false, "removeAll", "_temporary", 0, true},
		{"overwrite, after removing the old output", true, "create", manifestName, 0, false},
		{"overwrite, after the first move", true, "rename", "/part-00001", 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			out := filepath.Join(t.TempDir(), "out")
			if tt.overwrite { // an old output, with its own _SUCCESS
				os.MkdirAll(out, 0o755)
				os.WriteFile(filepath.Join(out, "part-00007"), []byte("old\n"), 0o644)
				os.WriteFile(filepath.Join(out, SuccessMarker), nil, 0o644)
			}
			ffs := &failingFS{FS: Local, op: tt.op, match: tt.match, n: tt.n}
			first := NewCommitter(ffs, out, "app_0001_0001", tt.overwrite)
			if err := first.SetupJob(ctx); err != nil {
				t.Fatal(err)
			}
			commitParts(t, first, parts)
			ffs.armed = true
			if err := first.CommitJob(ctx, parts, ""); !errors.Is(err, errKilled) {
				t.Fatalf("CommitJob = %v, want the injected failure", err)
			}
			if got := names(t, out); slices.ContainsFunc(got, func(n string) bool { return strings.HasPrefix(n, "part-") }) &&
				!slices.Contains(got, "_temporary") && !slices.Contains(got, SuccessMarker) {
				t.Fatalf("an interrupted commit left part files without _SUCCESS or its manifest: %v", got)
			}

			next := NewCommitter(Local, out, "app_0001_0001", tt.overwrite)
			err := next.SetupJob(ctx)
			if tt.committed {
				if !errors.Is(err, ErrCommitted) {
					t.Fatalf("SetupJob after %s = %v, want ErrCommitted", tt.name, err)
				}
				if got := names(t, out); !slices.Equal(got, all) {
					t.Fatalf("recovered output = %v, want %v", got, all)
				}
				for p := range parts {
					b, _ := os.ReadFile(filepath.Join(out, fmt.Sprintf("part-%05d", p)))
					if string(b) != fmt.Sprintf("p%d\n", p) {
						t.Fatalf("part %d = %q", p, b)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("SetupJob after %s = %v, want a fresh start", tt.name, err)
			}
			if got := names(t, path.Join(out, "_temporary", "app_0001_0001")); len(got) != 0 {
				t.Fatalf("the fresh start kept the earlier attempt's files: %v", got)
			}
			commitParts(t, next, parts)
			if err := next.CommitJob(ctx, parts, ""); err != nil {
				t.Fatal(err)
			}
			if got := names(t, out); !slices.Equal(got, all) {
				t.Fatalf("rerun output = %v, want %v", got, all)
			}
		})
	}
}
