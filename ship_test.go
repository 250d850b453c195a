package spindle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/scheduler"
)

// Jobs for the shipped-plan tests: their tasks run from payloads only, in an executor
// session that rebuilds the plans.
var (
	shipCounts = Register("test-ship-counts", func(s *Session, in string) Dataset[KV[string, int]] {
		words := FlatMap(ReadText(s, in), strings.Fields)
		ones := Map(words, func(w string) KV[string, int] { return KV[string, int]{w, 1} })
		counts := ReduceByKey(ones, func(a, b int) int { return a + b }, Partitions(3))
		return SortBy(counts, func(kv KV[string, int]) string { return kv.Key }, true, Partitions(4))
	})
	shipJoin = Register("test-ship-join", func(s *Session, n int) Dataset[KV[int, Pair[int, string]]] {
		xs := make([]int, n)
		for i := range xs {
			xs[i] = i
		}
		left := Cache(KeyBy(Parallelize(s, xs, 3), func(x int) int { return x % 10 }))
		names := Parallelize(s, []KV[int, string]{{0, "zero"}, {1, "one"}, {2, "two"}}, 2)
		return Join(left, names)
	})
	// shipDrift builds a different plan each time it runs: executors must refuse it.
	shipDriftRuns atomic.Int64
	shipDrift     = Register("test-ship-drift", func(s *Session, _ int) Dataset[int] {
		n := int(shipDriftRuns.Add(1))
		return Parallelize(s, []int{1, 2, 3, 4}, n)
	})
)

func newShippingSession(t *testing.T) *Session {
	t.Helper()
	c := conf.New()
	for k, v := range map[string]string{"spindle.master": "local[3]", "spindle.local.dir": t.TempDir(), "spindle.task.maxFailures": "2"} {
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewSession(context.Background(), c, func(o *sessionOpts) { o.shipInProcess = true })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestShippedPlansMatchLocal runs every action through payloads alone and compares
// with the same actions on an ordinary local session.
func TestShippedPlansMatchLocal(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	var text strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&text, "w%d w%d w%d\n", i%97, i%13, i%5)
	}
	if err := os.WriteFile(in, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run := func(s *Session, out string) map[string]any {
		got := map[string]any{}
		counts := shipCounts.Build(ctx, s, in)
		var err error
		if got["collect"], err = Collect(ctx, counts); err != nil {
			t.Fatalf("Collect: %v", err)
		}
		if got["take"], err = Take(ctx, counts, 5); err != nil {
			t.Fatalf("Take: %v", err)
		}
		if got["count"], err = Count(ctx, counts); err != nil {
			t.Fatalf("Count: %v", err)
		}
		if got["countByKey"], err = CountByKey(ctx, counts); err != nil {
			t.Fatalf("CountByKey: %v", err)
		}
		if got["reduce"], err = Reduce(ctx, counts, func(a, b KV[string, int]) KV[string, int] { return KV[string, int]{"total", a.Value + b.Value} }); err != nil {
			t.Fatalf("Reduce: %v", err)
		}
		joined, err := Collect(ctx, shipJoin.Build(ctx, s, 50))
		if err != nil {
			t.Fatalf("Collect join: %v", err)
		}
		sort.Slice(joined, func(i, j int) bool { return joined[i].Value.First < joined[j].Value.First })
		got["join"] = joined
		if err := SaveAsText(ctx, counts, out); err != nil {
			t.Fatalf("SaveAsText: %v", err)
		}
		got["saved"] = readParts(t, out)
		if err := SaveAsCSV(ctx, shipCounts.Build(ctx, s, in), out+"-csv"); err != nil {
			t.Fatalf("SaveAsCSV: %v", err)
		}
		got["csv"] = readParts(t, out+"-csv")
		return got
	}
	want := run(newTestSession(t), filepath.Join(dir, "local"))
	got := run(newShippingSession(t), filepath.Join(dir, "shipped"))
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s: shipped plans give\n%v\nlocal gives\n%v", k, got[k], w)
		}
	}
	if n := len(want["collect"].([]KV[string, int])); n != 97 { // w0..w12 are among w0..w96
		t.Errorf("collected %d words, want 97", n)
	}
}

func readParts(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "part-*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no part files in %s: %v", dir, err)
	}
	slices.Sort(files)
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

func TestShippedPlanErrors(t *testing.T) {
	ctx := context.Background()
	s := newShippingSession(t)
	t.Run("outside a registered job", func(t *testing.T) {
		_, err := Count(ctx, Parallelize(s, []int{1, 2}, 1))
		if err == nil || !strings.Contains(err.Error(), "registered job") {
			t.Fatalf("err = %v, want one saying the dataset must come from a registered job", err)
		}
	})
	t.Run("transform after the build", func(t *testing.T) {
		d := Map(shipJoin.Build(ctx, s, 5), func(kv KV[int, Pair[int, string]]) int { return kv.Key })
		_, err := Count(ctx, d)
		if err == nil || !strings.Contains(err.Error(), "registered job") {
			t.Fatalf("err = %v, want one saying the dataset must come from a registered job", err)
		}
	})
	t.Run("builder that drifts", func(t *testing.T) {
		_, err := Collect(ctx, shipDrift.Build(ctx, s, 0))
		if !errors.Is(err, ErrPlanMismatch) {
			t.Fatalf("err = %v, want ErrPlanMismatch", err)
		}
		var tf *scheduler.TaskFailedError
		if !errors.As(err, &tf) || tf.Failures != 1 {
			t.Fatalf("err = %v, want a task failure after one attempt (not retriable)", err)
		}
	})
}
