package spindle

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeLines writes n random lines over several files in dir, including an empty file,
// CRLF endings and a file without a final newline; it returns all lines.
func writeLines(t *testing.T, dir string, n int) []string {
	t.Helper()
	rng := rand.New(rand.NewPCG(2, 2))
	var all []string
	for f := range 4 {
		var b strings.Builder
		for i := range n / 4 {
			line := strings.Repeat(fmt.Sprint(rng.IntN(10)), rng.IntN(200))
			all = append(all, line)
			b.WriteString(line)
			if f == 1 {
				b.WriteString("\r")
			}
			if f != 2 || i < n/4-1 {
				b.WriteString("\n")
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%d.txt", f)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"empty.txt", "_SUCCESS", ".hidden"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return all
}

func TestReadTextSplitsEveryLineOnce(t *testing.T) {
	dir := t.TempDir()
	want := writeLines(t, dir, 40000)
	// Small partitions force many splits, most starting mid-line.
	s := newTestSession(t, "spindle.files.maxPartitionBytes", "64k", "spindle.files.openCostInBytes", "1k")
	d := ReadText(s, dir)
	if d.NumPartitions() < 20 {
		t.Fatalf("only %d partitions for ~4 MB with 64k splits", d.NumPartitions())
	}
	got := collect(t, d)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("read %d lines, want %d; first diff %d", len(got), len(want), firstDiff(got, want))
	}
	// A glob reads the matching files only.
	n, err := Count(context.Background(), ReadText(s, filepath.Join(dir, "part-[01].txt")))
	if err != nil || n != 20000 {
		t.Fatalf("glob Count = %d, %v; want 20000", n, err)
	}
}

func TestSaveAsTextCommitsAtomically(t *testing.T) {
	ctx := context.Background()
	s := newTestSession(t)
	out := filepath.Join(t.TempDir(), "out")
	counts := ReduceByKey(Parallelize(s, skewedPairs(4, 3000, 40), 3), func(a, b int) int { return a + b }, Partitions(4))
	if err := SaveAsText(ctx, counts, out); err != nil {
		t.Fatalf("SaveAsText: %v", err)
	}
	lines := readDirLines(t, out)
	want := sumByKey(skewedPairs(4, 3000, 40))
	var wantLines []string
	for _, kv := range want {
		wantLines = append(wantLines, fmt.Sprintf("%s\t%d", kv.Key, kv.Value))
	}
	slices.Sort(lines)
	slices.Sort(wantLines)
	if !slices.Equal(lines, wantLines) {
		t.Fatalf("output has %d lines, want %d", len(lines), len(wantLines))
	}
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Contains(names, "_SUCCESS") || slices.Contains(names, "_temporary") || len(names) != 5 {
		t.Fatalf("output dir holds %v; want 4 part files and _SUCCESS", names)
	}

	// The same path again fails before running, naming the path.
	before := s.Summary().Tasks
	err := SaveAsText(ctx, counts, out)
	if err == nil || !strings.Contains(err.Error(), out) || !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second SaveAsText: %v; want an error naming %s", err, out)
	}
	if s.Summary().Tasks != before {
		t.Fatal("tasks ran although the output path exists")
	}

	// A failing job leaves no visible output.
	failing := Map(Parallelize(s, []int{1, 2, 3}, 3), func(x int) int {
		if x == 3 {
			panic("no")
		}
		return x
	})
	failedOut := filepath.Join(t.TempDir(), "failed")
	if err := SaveAsText(ctx, failing, failedOut); err == nil {
		t.Fatal("failing job reported success")
	}
	if _, err := os.Stat(filepath.Join(failedOut, "_SUCCESS")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("failed job left _SUCCESS (%v)", err)
	}
	if parts, _ := filepath.Glob(filepath.Join(failedOut, "part-*")); len(parts) != 0 {
		t.Fatalf("failed job left part files %v", parts)
	}
}

func TestOverwrite(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "part-00099"), []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestSession(t, "spindle.output.overwrite", "true")
	if err := SaveAsText(ctx, Parallelize(s, []string{"fresh"}, 1), out); err != nil {
		t.Fatalf("SaveAsText with overwrite: %v", err)
	}
	if got := readDirLines(t, out); !slices.Equal(got, []string{"fresh"}) {
		t.Fatalf("after overwrite the output holds %v", got)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newTestSession(t)
	rows := []sale{{"north", 1.25, 3}, {"south, far", 2.5, 1}, {`quo"te`, 1e-7, 0}, {"east", 100, 7}}
	out := filepath.Join(t.TempDir(), "csv")
	if err := SaveAsCSV(ctx, Parallelize(s, rows, 2), out); err != nil {
		t.Fatalf("SaveAsCSV: %v", err)
	}
	got := collect(t, ReadCSV[sale](s, out))
	if !slices.Equal(got, rows) {
		t.Fatalf("read back %+v, want %+v", got, rows)
	}
}

func readDirLines(t *testing.T, dir string) []string {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(dir, "part-*"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
	}
	return lines
}
