package spindle

import (
	"context"
	"errors"
	"iter"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestNarrowTransforms(t *testing.T) {
	s := newTestSession(t)
	in := skewedPairs(1, 5000, 300)
	base := Parallelize(s, in, 7)
	tests := []struct {
		name string
		got  Dataset[KV[string, int]]
		want func() []KV[string, int]
	}{
		{"Map", Map(base, func(kv KV[string, int]) KV[string, int] {
			return KV[string, int]{strings.ToUpper(kv.Key), kv.Value * 2}
		}),
			func() []KV[string, int] {
				var out []KV[string, int]
				for _, kv := range in {
					out = append(out, KV[string, int]{strings.ToUpper(kv.Key), kv.Value * 2})
				}
				return out
			}},
		{"Filter", Filter(base, func(kv KV[string, int]) bool { return kv.Value%3 == 0 }),
			func() []KV[string, int] {
				var out []KV[string, int]
				for _, kv := range in {
					if kv.Value%3 == 0 {
						out = append(out, kv)
					}
				}
				return out
			}},
		{"FlatMap", FlatMap(base, func(kv KV[string, int]) []KV[string, int] {
			if kv.Value < 0 {
				return nil
			}
			return []KV[string, int]{kv, {kv.Key + "!", 1}}
		}), func() []KV[string, int] {
			var out []KV[string, int]
			for _, kv := range in {
				if kv.Value >= 0 {
					out = append(out, kv, KV[string, int]{kv.Key + "!", 1})
				}
			}
			return out
		}},
		{"MapPartitions", MapPartitions(base, func(seq iter.Seq[KV[string, int]]) iter.Seq[KV[string, int]] {
			return func(yield func(KV[string, int]) bool) {
				for kv := range seq {
					if !yield(KV[string, int]{kv.Key, kv.Value + 1}) {
						return
					}
				}
			}
		}), func() []KV[string, int] {
			var out []KV[string, int]
			for _, kv := range in {
				out = append(out, KV[string, int]{kv.Key, kv.Value + 1})
			}
			return out
		}},
		{"Union", Union(base, Filter(base, func(kv KV[string, int]) bool { return kv.Value > 600 })),
			func() []KV[string, int] {
				out := slices.Clone(in)
				for _, kv := range in {
					if kv.Value > 600 {
						out = append(out, kv)
					}
				}
				return out
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Narrow transforms keep order within and across partitions.
			if got, want := collect(t, tt.got), tt.want(); !slices.Equal(got, want) {
				t.Fatalf("got %d elements, want %d; first diff at %d", len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

func firstDiff[T comparable](a, b []T) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestKeyBy(t *testing.T) {
	s := newTestSession(t)
	got := collect(t, KeyBy(Parallelize(s, []string{"a", "bb", "ccc"}, 2), func(w string) int { return len(w) }))
	want := []KV[int, string]{{1, "a"}, {2, "bb"}, {3, "ccc"}}
	if !slices.Equal(got, want) {
		t.Fatalf("KeyBy = %v, want %v", got, want)
	}
}

func TestCountAndTake(t *testing.T) {
	s := newTestSession(t)
	data := make([]int, 1000)
	for i := range data {
		data[i] = i
	}
	d := Parallelize(s, data, 9)
	ctx := context.Background()
	n, err := Count(ctx, d)
	if err != nil || n != 1000 {
		t.Fatalf("Count = %d, %v; want 1000", n, err)
	}
	first, err := Take(ctx, d, 150)
	if err != nil || !slices.Equal(first, data[:150]) {
		t.Fatalf("Take(150) = %v..., %v", first[:min(5, len(first))], err)
	}
	// Empty partitions: more slices than elements.
	small := Parallelize(s, []int{1, 2}, 8)
	if n, err := Count(ctx, Filter(small, func(int) bool { return false })); err != nil || n != 0 {
		t.Fatalf("Count(empty) = %d, %v", n, err)
	}
}

func TestCacheReusesPartitions(t *testing.T) {
	s := newTestSession(t)
	var calls countingFn
	d := Cache(Map(Parallelize(s, []int{1, 2, 3, 4, 5, 6}, 3), calls.double))
	for range 3 {
		got := collect(t, d)
		if !slices.Equal(got, []int{2, 4, 6, 8, 10, 12}) {
			t.Fatalf("cached Collect = %v", got)
		}
	}
	if n := calls.n.Load(); n != 6 {
		t.Fatalf("map function ran %d times over three actions, want 6 (computed once, then cached)", n)
	}
}

func TestMapValuesReduceCountByKey(t *testing.T) {
	s := newTestSession(t)
	ctx := context.Background()
	in := skewedPairs(12, 4000, 60)
	d := Parallelize(s, in, 6)
	doubled := collect(t, MapValues(d, func(v int) int { return 2 * v }))
	for i, kv := range doubled {
		if kv.Key != in[i].Key || kv.Value != 2*in[i].Value {
			t.Fatalf("MapValues[%d] = %v, want %v doubled", i, kv, in[i])
		}
	}
	sum, err := Reduce(ctx, Values(d), func(a, b int) int { return a + b })
	want := 0
	for _, kv := range in {
		want += kv.Value
	}
	if err != nil || sum != want {
		t.Fatalf("Reduce = %d, %v; want %d", sum, err, want)
	}
	// More partitions than elements: empty partitions contribute nothing.
	if m, err := Reduce(ctx, Parallelize(s, []int{5, 9, 2}, 8), func(a, b int) int { return max(a, b) }); err != nil || m != 9 {
		t.Fatalf("Reduce max = %d, %v", m, err)
	}
	if _, err := Reduce(ctx, Filter(Values(d), func(int) bool { return false }), func(a, b int) int { return a + b }); !errors.Is(err, ErrEmpty) {
		t.Fatalf("Reduce of nothing: %v", err)
	}
	counts, err := CountByKey(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := map[string]int64{}
	for _, kv := range in {
		wantCounts[kv.Key]++
	}
	if !maps.Equal(counts, wantCounts) {
		t.Fatalf("CountByKey: %d keys, want %d", len(counts), len(wantCounts))
	}
}

// TestTakeScansFewPartitions checks that Take computes the first partition alone when
// it holds enough, and grows the scan over empty partitions until it has n.
func TestTakeScansFewPartitions(t *testing.T) {
	s := newTestSession(t)
	ctx := context.Background()
	xs := make([]int, 100)
	for i := range xs {
		xs[i] = i
	}
	var c countingFn
	d := Map(Parallelize(s, xs, 10), c.double)
	got, err := Take(ctx, d, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int{0, 2, 4}) {
		t.Fatalf("Take(3) = %v", got)
	}
	if n := c.n.Load(); n > 10 {
		t.Fatalf("Take(3) computed %d elements, want at most the first partition's 10", n)
	}
	// Only the last two partitions hold elements: the scan grows 1, 4, then the rest.
	late := Filter(Parallelize(s, xs, 10), func(x int) bool { return x >= 80 })
	got, err = Take(ctx, late, 15)
	if err != nil {
		t.Fatal(err)
	}
	want := xs[80:95]
	if !slices.Equal(got, want) {
		t.Fatalf("Take(15) = %v, want %v", got, want)
	}
	if got, _ := Take(ctx, late, 1000); len(got) != 20 {
		t.Fatalf("Take(1000) of 20 elements gave %d", len(got))
	}
}
