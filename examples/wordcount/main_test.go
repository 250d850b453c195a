package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spindle-engine/spindle"
	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/examples/datagen"
)

// TestWordCount runs the job over generated Zipf text and compares its output files
// with a plain Go count.
func TestWordCount(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := datagen.Text(f, 3<<20, 5000, 7); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want := map[string]int{}
	text, _ := os.ReadFile(in)
	for _, w := range strings.Fields(string(text)) {
		want[w]++
	}

	c := conf.New()
	for k, v := range map[string]string{"spindle.master": "local[3]", "spindle.local.dir": dir, "spindle.files.maxPartitionBytes": "512k"} {
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
	if err := spindle.SaveAsText(context.Background(), WordCount.Build(context.Background(), s, in), out); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	parts, _ := filepath.Glob(filepath.Join(out, "part-*"))
	for _, p := range parts {
		b, _ := os.ReadFile(p)
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			w, n, _ := strings.Cut(line, "\t")
			got[w], _ = strconv.Atoi(n)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d words, want %d", len(got), len(want))
	}
	for w, n := range want {
		if got[w] != n {
			t.Fatalf("count of %q = %d, want %d", w, got[w], n)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "_SUCCESS")); err != nil {
		t.Fatal("no _SUCCESS")
	}
	if len(parts) < 2 || !slices.IsSorted(parts) {
		t.Fatalf("part files %v", parts)
	}
}
