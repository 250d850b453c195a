package spindle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/spindle-engine/spindle/integration/cluster"
)

// TestHDFSPaths runs a word count in local mode with input and output in the real
// MiniDFSCluster.
func TestHDFSPaths(t *testing.T) {
	c := cluster.FromEnv(t)
	ctx := context.Background()
	s := newTestSession(t, "spindle.files.maxPartitionBytes", "16k", "spindle.files.openCostInBytes", "1k")
	base := fmt.Sprintf("%s/tmp/spindle-root-test-%s", c.Info.DefaultFS, s.drv.AppID())
	var lines []string
	for i := range 3000 {
		lines = append(lines, fmt.Sprintf("w%d w%d", i%7, i%3))
	}
	if err := SaveAsText(ctx, Parallelize(s, lines, 3), base+"/in"); err != nil {
		t.Fatalf("SaveAsText to HDFS: %v", err)
	}
	in := ReadText(s, base+"/in")
	if in.NumPartitions() < 3 {
		t.Fatalf("%d partitions over HDFS input", in.NumPartitions())
	}
	words := Map(FlatMap(in, strings.Fields), func(w string) KV[string, int] { return KV[string, int]{w, 1} })
	counts := ReduceByKey(words, func(a, b int) int { return a + b })
	if err := SaveAsText(ctx, counts, base+"/out"); err != nil {
		t.Fatalf("SaveAsText counts: %v", err)
	}
	got := collect(t, ReadText(s, base+"/out"))
	slices.Sort(got)
	want := map[string]int{}
	for _, l := range lines {
		for _, w := range strings.Fields(l) {
			want[w]++
		}
	}
	var wantLines []string
	for w, n := range want {
		wantLines = append(wantLines, fmt.Sprintf("%s\t%d", w, n))
	}
	slices.Sort(wantLines)
	if !slices.Equal(got, wantLines) {
		t.Fatalf("counts from HDFS = %v, want %v", got, wantLines)
	}
	if err := SaveAsText(ctx, counts, base+"/out"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second save to the same HDFS path: %v", err)
	}
}
