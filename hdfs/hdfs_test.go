package hdfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSplitsReadEveryLineOnce cuts files of many shapes into splits of many sizes
// and checks that the splits' lines, in order, are the file's lines.
func TestSplitsReadEveryLineOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name  string
		lines int
		maxLn int
		crlf  bool
		final bool // trailing newline
	}{
		{"short lines", 3000, 10, false, true},
		{"long lines", 200, 3000, false, true},
		{"crlf", 1000, 50, true, true},
		{"no final newline", 500, 40, false, false},
		{"empty lines", 800, 1, false, true},
		{"one line", 1, 100, false, false},
	}
	for _, tt := range tests {
		var want []string
		var b strings.Builder
		for i := range tt.lines {
			line := strings.Repeat(string(rune('a'+i%26)), rng.IntN(tt.maxLn+1))
			want = append(want, line)
			b.WriteString(line)
			if tt.crlf {
				b.WriteString("\r")
			}
			if tt.final || i < tt.lines-1 {
				b.WriteString("\n")
			}
		}
		p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		st, _ := Local.Stat(ctx, p)
		for _, size := range []int64{max(1, st.Size/400), 7, 64, 1000, 4096, 1 << 20} {
			t.Run(fmt.Sprintf("%s/split%d", tt.name, size), func(t *testing.T) {
				splits, err := PlanSplits(ctx, Local, []FileInfo{st}, size)
				if err != nil {
					t.Fatal(err)
				}
				got := readSplits(t, Local, splits)
				if !slices.Equal(got, want) {
					t.Fatalf("%d splits read %d lines, want %d; first diff %d", len(splits), len(got), len(want), firstDiff(got, want))
				}
			})
		}
	}
}

// readSplits reads the lines of every split, in order.
func readSplits(t *testing.T, fsys FS, splits []Split) []string {
	t.Helper()
	var got []string
	for _, s := range splits {
		r, err := NewLineReader(context.Background(), fsys, s)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			got = append(got, string(r.Line()))
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	return got
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestLineNumberAt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("a\nbb\n\nccc\n"), 0o644)
	for off, want := range map[int64]int64{0: 1, 2: 2, 5: 3, 6: 4} {
		if got, err := LineNumberAt(context.Background(), Local, p, off); err != nil || got != want {
			t.Errorf("LineNumberAt(%d) = %d, %v; want %d", off, got, err, want)
		}
	}
}

func TestExpandPaths(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, f := range []string{"a/1.txt", "a/2.txt", "a/_SUCCESS", "a/.x.crc", "b/3.txt", "b/4.csv"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x\n"), 0o644)
	}
	tests := []struct {
		pattern string
		want    []string
		err     bool
	}{
		{"a", []string{"a/1.txt", "a/2.txt"}, false},
		{"a/1.txt", []string{"a/1.txt"}, false},
		{"*/*.txt", []string{"a/1.txt", "a/2.txt", "b/3.txt"}, false},
		{"[ab]/[34].*", []string{"b/3.txt", "b/4.csv"}, false},
		{"c", nil, true},
		{"*/*.parquet", nil, true},
	}
	for _, tt := range tests {
		files, err := ExpandPaths(ctx, Local, []string{filepath.Join(dir, tt.pattern)})
		if tt.err {
			if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), tt.pattern) {
				t.Errorf("%s: error %v, want ErrNotExist naming the pattern", tt.pattern, err)
			}
			continue
		}
		var got []string
		for _, f := range files {
			rel, _ := filepath.Rel(dir, f.Path)
			got = append(got, rel)
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, %v; want %v", tt.pattern, got, err, tt.want)
		}
	}
}

func write(t *testing.T, w io.WriteCloser, s string) {
	t.Helper()
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func names(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestCommitter(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "out")
	c := NewCommitter(Local, out, "job1", false)
	if err := c.SetupJob(ctx); err != nil {
		t.Fatal(err)
	}
	// Partition 0: two attempts both finish; the first to commit wins.
	for attempt, text := range []string{"first\n", "second\n"} {
		w, name, err := c.TaskWriter(ctx, 0, attempt, ".txt")
		if err != nil || name != "part-00000.txt" {
			t.Fatalf("TaskWriter: %q, %v", name, err)
		}
		write(t, w, text)
	}
	for attempt := range 2 {
		if err := c.CommitTask(ctx, 0, attempt); err != nil {
			t.Fatal(err)
		}
	}
	// Partition 1: one attempt aborted, the next commits.
	w, _, _ := c.TaskWriter(ctx, 1, 0, ".txt")
	write(t, w, "aborted\n")
	c.AbortTask(ctx, 1, 0)
	w, _, _ = c.TaskWriter(ctx, 1, 1, ".txt")
	write(t, w, "ok\n")
	c.CommitTask(ctx, 1, 1)
	if slices.Contains(names(t, out), SuccessMarker) {
		t.Fatal("_SUCCESS before job commit")
	}
	if err := c.CommitJob(ctx, 2, ".txt"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, out); !slices.Equal(got, []string{"_SUCCESS", "part-00000.txt", "part-00001.txt"}) {
		t.Fatalf("output = %v", got)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "part-00000.txt")); string(b) != "first\n" {
		t.Fatalf("part 0 = %q, want the first committed attempt", b)
	}

	// Exists without overwrite: an error naming the path.
	err := NewCommitter(Local, out, "job2", false).SetupJob(ctx)
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), out) {
		t.Fatalf("SetupJob on existing output: %v", err)
	}
	// Overwrite replaces the old files.
	c3 := NewCommitter(Local, out, "job3", true)
	if err := c3.SetupJob(ctx); err != nil {
		t.Fatal(err)
	}
	w, _, _ = c3.TaskWriter(ctx, 0, 0, "")
	write(t, w, "new\n")
	c3.CommitTask(ctx, 0, 0)
	if err := c3.CommitJob(ctx, 1, ""); err != nil {
		t.Fatal(err)
	}
	if got := names(t, out); !slices.Equal(got, []string{"_SUCCESS", "part-00000"}) {
		t.Fatalf("after overwrite: %v", got)
	}

	// Abort leaves nothing, and removes an output directory it created.
	fresh := filepath.Join(t.TempDir(), "fresh")
	c4 := NewCommitter(Local, fresh, "job4", false)
	c4.SetupJob(ctx)
	w, _, _ = c4.TaskWriter(ctx, 0, 0, "")
	write(t, w, "x\n")
	c4.CommitTask(ctx, 0, 0)
	if err := c4.AbortJob(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("aborted job left %s (%v)", fresh, err)
	}
}

func TestLocalRenameNeverOverwrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("a"), 0o644)
	os.WriteFile(b, []byte("b"), 0o644)
	if err := Local.Rename(ctx, a, b); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Rename onto an existing file: %v", err)
	}
	if got, _ := os.ReadFile(b); string(got) != "b" {
		t.Fatal("Rename overwrote its target")
	}
}

func TestMaxSplitBytes(t *testing.T) {
	const mb = 1 << 20
	for _, tt := range []struct {
		total int64
		par   int
		want  int64
	}{{200 * mb, 2, 100 * mb}, {10 * mb, 8, 4 * mb}, {10000 * mb, 4, 128 * mb}} {
		if got := MaxSplitBytes(tt.total, tt.par, 128*mb, 4*mb); got != tt.want {
			t.Errorf("MaxSplitBytes(%d, %d) = %d, want %d", tt.total, tt.par, got, tt.want)
		}
	}
}

// TestCommitterDiscardsAnEarlierAttempt: an AM attempt that died mid-job left only
// its _temporary/<job>; the next attempt of the same job takes the path over, while
// any other content (another job's temporary files, committed output) still fails.
func TestCommitterDiscardsAnEarlierAttempt(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		leftover []string
		wantErr  bool
	}{
		{"same job's temporary files", []string{"_temporary/app_0001/_temporary/attempt_00000_0/part-00000"}, false},
		{"another job's temporary files", []string{"_temporary/app_0002/x"}, true},
		{"committed output", []string{"_temporary/app_0001/x", "part-00000"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			for _, f := range tt.leftover {
				p := filepath.Join(out, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := NewCommitter(Local, out, "app_0001", false).SetupJob(ctx)
			if tt.wantErr != (err != nil) {
				t.Fatalf("SetupJob = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr {
				if got := names(t, out); !slices.Equal(got, []string{"_temporary"}) {
					t.Fatalf("after setup %s holds %v, want only a fresh _temporary", out, got)
				}
			}
		})
	}
}
