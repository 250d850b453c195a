package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spindle-engine/spindle"
	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/examples/datagen"
)

// TestSortLines sorts generated text with little memory, so the shuffle spills, and
// checks that the part files, read in name order, are the input's lines sorted.
//
// 310m of driver memory leaves 6 MiB of unified memory, at most 3 MiB per task of
// local[2]. A line is its own sort key and is buffered once, so a map task must read
// more than its share, 4 MiB, to have to spill.
func TestSortLines(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	f, _ := os.Create(in)
	if err := datagen.Text(f, 16<<20, 100000, 3); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c := conf.New()
	for k, v := range map[string]string{"spindle.master": "local[2]", "spindle.local.dir": dir,
		"spindle.driver.memory": "310m", "spindle.files.maxPartitionBytes": "4m"} {
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	s, err := spindle.NewSession(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := filepath.Join(dir, "out")
	if err := spindle.SaveAsText(context.Background(), SortLines.Build(context.Background(), s, in), out); err != nil {
		t.Fatal(err)
	}
	parts, _ := filepath.Glob(filepath.Join(out, "part-*"))
	slices.Sort(parts)
	var got []string
	for _, p := range parts {
		b, _ := os.ReadFile(p)
		if len(b) > 0 {
			got = append(got, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
		}
	}
	raw, _ := os.ReadFile(in)
	want := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("sorted output has %d lines, want %d; sorted=%v", len(got), len(want), slices.IsSorted(got))
	}
	if len(parts) < 4 {
		t.Fatalf("only %d part files", len(parts))
	}
	if s.Summary().SpillBytes == 0 {
		t.Fatal("no spill with 6 MiB of unified memory")
	}
}
