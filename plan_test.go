package spindle

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spindle-engine/spindle/internal/engine"
)

var update = flag.Bool("update", false, "rewrite golden files")

// describePlan prints a compiled job's stages with ids relative to its first stage
// and call sites removed, so the golden file survives unrelated edits.
func describePlan(s *Session, final *engine.Node) (string, error) {
	job, err := s.drv.Compile(context.Background(), final, "golden", &engine.Action{Kind: engine.ActionCount}, func(*engine.TaskContext, int) ([]byte, error) { return nil, nil })
	if err != nil {
		return "", err
	}
	base := job.Stages[0].ID
	for _, st := range job.Stages {
		base = min(base, st.ID)
	}
	site := regexp.MustCompile(` at \S+:\d+`)
	var b strings.Builder
	for _, st := range job.Stages {
		kind := "result"
		if st.ShuffleID >= 0 {
			kind = "shuffle-map"
		}
		var parents []string
		for _, p := range st.Parents {
			parents = append(parents, fmt.Sprint(p-base))
		}
		fmt.Fprintf(&b, "stage %d %-11s %-14s tasks=%-3d parents=[%s]\n", st.ID-base, kind, site.ReplaceAllString(st.Name, ""), st.NumTasks, strings.Join(parents, " "))
	}
	return b.String(), nil
}

// TestPlanCut checks where a multi-shuffle job is cut into stages: a join of two
// aggregations, re-keyed and aggregated again, then sorted.
func TestPlanCut(t *testing.T) {
	s := newTestSession(t)
	a := ReduceByKey(Parallelize(s, skewedPairs(1, 10, 5), 3), func(x, y int) int { return x + y }, Partitions(4))
	b := Map(Parallelize(s, skewedPairs(2, 10, 5), 2), func(kv KV[string, int]) KV[string, string] { return KV[string, string]{kv.Key, "x"} })
	joined := Join(a, b, Partitions(5))
	rekeyed := Map(joined, func(kv KV[string, Pair[int, string]]) KV[int, int] { return KV[int, int]{kv.Value.First % 3, 1} })
	again := ReduceByKey(rekeyed, func(x, y int) int { return x + y }, Partitions(2))
	final := Map(again, func(kv KV[int, int]) int { return kv.Value })
	got, err := describePlan(s, final.n)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "plan_cut.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestPlanCut -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("plan changed:\n%s\nwant:\n%s", got, want)
	}
	// And it runs.
	if _, err := Collect(context.Background(), final); err != nil {
		t.Fatalf("running the plan: %v", err)
	}
}
