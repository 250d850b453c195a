package spindle

import (
	"cmp"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestKeyedAggregations(t *testing.T) {
	s := newTestSession(t)
	for _, tc := range []struct {
		name          string
		n, nkeys, mps int
		opts          []ShuffleOption
	}{
		{"skewed", 20000, 500, 6, nil},
		{"few keys many partitions", 3000, 3, 4, []ShuffleOption{Partitions(16)}}, // most reduce partitions empty
		{"one partition", 1000, 50, 1, nil},
		{"unique keys", 5000, 1 << 30, 5, []ShuffleOption{Partitions(3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := skewedPairs(7, tc.n, tc.nkeys)
			d := Parallelize(s, in, tc.mps)

			got := sortedKVs(collect(t, ReduceByKey(d, func(a, b int) int { return a + b }, tc.opts...)))
			if want := sumByKey(in); !slices.Equal(got, want) {
				t.Fatalf("ReduceByKey: %d keys, want %d; first diff %d", len(got), len(want), firstDiff(got, want))
			}

			groups := collect(t, GroupByKey(d, tc.opts...))
			wantGroups := map[string][]int{}
			for _, kv := range in {
				wantGroups[kv.Key] = append(wantGroups[kv.Key], kv.Value)
			}
			if len(groups) != len(wantGroups) {
				t.Fatalf("GroupByKey: %d groups, want %d", len(groups), len(wantGroups))
			}
			for _, g := range groups {
				w := slices.Clone(wantGroups[g.Key])
				slices.Sort(w)
				slices.Sort(g.Value)
				if !slices.Equal(g.Value, w) {
					t.Fatalf("GroupByKey[%s] = %v, want %v", g.Key, g.Value, w)
				}
			}

			// A slice accumulator: every key must get its own copy of zero.
			agg := collect(t, AggregateByKey(d, []int(nil),
				func(acc []int, v int) []int { return append(acc, v) },
				func(a, b []int) []int { return append(a, b...) }, tc.opts...))
			for _, kv := range agg {
				w := slices.Clone(wantGroups[kv.Key])
				slices.Sort(w)
				slices.Sort(kv.Value)
				if !slices.Equal(kv.Value, w) {
					t.Fatalf("AggregateByKey[%s] = %v, want %v", kv.Key, kv.Value, w)
				}
			}

			distinct := collect(t, Distinct(Keys(d), tc.opts...))
			slices.Sort(distinct)
			var wantKeys []string
			for k := range wantGroups {
				wantKeys = append(wantKeys, k)
			}
			slices.Sort(wantKeys)
			if !slices.Equal(distinct, wantKeys) {
				t.Fatalf("Distinct: %d keys, want %d", len(distinct), len(wantKeys))
			}
		})
	}
}

func TestJoins(t *testing.T) {
	s := newTestSession(t)
	left := skewedPairs(3, 4000, 200)
	rng := rand.New(rand.NewPCG(9, 9))
	var right []KV[string, string]
	for i := range 700 {
		right = append(right, KV[string, string]{fmt.Sprintf("k%05d", rng.IntN(400)), fmt.Sprint("r", i)})
	}
	l, r := Parallelize(s, left, 5), Parallelize(s, right, 3)

	rightByKey := map[string][]string{}
	for _, kv := range right {
		rightByKey[kv.Key] = append(rightByKey[kv.Key], kv.Value)
	}
	type row struct {
		k  string
		v  int
		w  string
		ok bool
	}
	cmpRow := func(a, b row) int {
		return cmp.Or(cmp.Compare(a.k, b.k), cmp.Compare(a.v, b.v), cmp.Compare(a.w, b.w), cmp.Compare(fmt.Sprint(a.ok), fmt.Sprint(b.ok)))
	}
	var wantInner, wantLeft []row
	for _, kv := range left {
		ws := rightByKey[kv.Key]
		if len(ws) == 0 {
			wantLeft = append(wantLeft, row{kv.Key, kv.Value, "", false})
		}
		for _, w := range ws {
			wantInner = append(wantInner, row{kv.Key, kv.Value, w, true})
			wantLeft = append(wantLeft, row{kv.Key, kv.Value, w, true})
		}
	}
	var gotInner, gotLeft []row
	for _, kv := range collect(t, Join(l, r, Partitions(7))) {
		gotInner = append(gotInner, row{kv.Key, kv.Value.First, kv.Value.Second, true})
	}
	for _, kv := range collect(t, LeftJoin(l, r)) {
		gotLeft = append(gotLeft, row{kv.Key, kv.Value.First, kv.Value.Second.Value, kv.Value.Second.Valid})
	}
	for _, c := range []struct {
		name      string
		got, want []row
	}{{"Join", gotInner, wantInner}, {"LeftJoin", gotLeft, wantLeft}} {
		slices.SortFunc(c.got, cmpRow)
		slices.SortFunc(c.want, cmpRow)
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: %d rows, want %d; first diff %d", c.name, len(c.got), len(c.want), firstDiff(c.got, c.want))
		}
	}
}

func TestSorts(t *testing.T) {
	s := newTestSession(t)
	rng := rand.New(rand.NewPCG(5, 5))
	words := make([]string, 6000)
	for i := range words {
		// Skewed: a third of the words are "same", and some share prefixes.
		switch i % 3 {
		case 0:
			words[i] = "same"
		default:
			words[i] = strings.Repeat("z", rng.IntN(3)) + fmt.Sprint(rng.IntN(100000))
		}
	}
	d := Parallelize(s, words, 6)
	asc := collect(t, SortBy(d, func(w string) string { return w }, true, Partitions(5)))
	want := slices.Clone(words)
	slices.Sort(want)
	if !slices.Equal(asc, want) {
		t.Fatalf("SortBy ascending: first diff at %d", firstDiff(asc, want))
	}
	desc := collect(t, SortBy(d, func(w string) string { return w }, false, Partitions(4)))
	slices.Reverse(want)
	if !slices.Equal(desc, want) {
		t.Fatalf("SortBy descending: first diff at %d", firstDiff(desc, want))
	}

	nums := make([]KV[int64, int], 5000)
	for i := range nums {
		nums[i] = KV[int64, int]{rng.Int64N(2000) - 1000, i}
	}
	byKey := collect(t, SortByKey(Parallelize(s, nums, 4), false))
	if !slices.IsSortedFunc(byKey, func(a, b KV[int64, int]) int { return cmp.Compare(b.Key, a.Key) }) || len(byKey) != len(nums) {
		t.Fatalf("SortByKey descending is not sorted or lost elements (%d of %d)", len(byKey), len(nums))
	}
	floats := []float64{3.5, -1, 0, -0.25, 1e9, -1e9, 2}
	gotF := collect(t, SortBy(Parallelize(s, floats, 3), func(f float64) float64 { return f }, true, Partitions(3)))
	wantF := slices.Clone(floats)
	slices.Sort(wantF)
	if !slices.Equal(gotF, wantF) {
		t.Fatalf("SortBy floats = %v, want %v", gotF, wantF)
	}
}

func TestRepartition(t *testing.T) {
	s := newTestSession(t)
	in := make([]int, 10000)
	for i := range in {
		in[i] = i
	}
	d := Repartition(Parallelize(s, in, 2), 9)
	if d.NumPartitions() != 9 {
		t.Fatalf("NumPartitions = %d", d.NumPartitions())
	}
	got := collect(t, d)
	slices.Sort(got)
	if !slices.Equal(got, in) {
		t.Fatalf("Repartition lost or duplicated elements: %d of %d", len(got), len(in))
	}
	sizes := collect(t, MapPartitions(d, func(seq iter.Seq[int]) iter.Seq[int] {
		return func(yield func(int) bool) {
			n := 0
			for range seq {
				n++
			}
			yield(n)
		}
	}))
	for i, n := range sizes {
		if n < 1000 || n > 1250 {
			t.Errorf("partition %d has %d elements; round robin should give about 1111", i, n)
		}
	}
}

// TestSpill runs aggregations and a sort over data several times larger than the
// execution memory, which forces the map side to spill.
func TestSpill(t *testing.T) {
	// (320 MiB − 300 MiB reserved) × 0.6 ≈ 12 MiB of unified memory for 4 slots.
	s := newTestSession(t, "spindle.driver.memory", "320m")
	const n = 600000
	in := skewedPairs(11, n, 400000)
	for i := range in {
		in[i].Key += strings.Repeat("x", 40) // ~100 MB of map-side state in all
	}
	d := Parallelize(s, in, 4)
	got := sortedKVs(collect(t, ReduceByKey(d, func(a, b int) int { return a + b }, Partitions(6))))
	if want := sumByKey(in); !slices.Equal(got, want) {
		t.Fatalf("ReduceByKey under spill: %d keys, want %d", len(got), len(want))
	}
	sorted := collect(t, SortBy(Keys(d), func(k string) string { return k }, true))
	if len(sorted) != n || !slices.IsSorted(sorted) {
		t.Fatalf("SortBy under spill: %d elements, sorted=%v", len(sorted), slices.IsSorted(sorted))
	}
	if sum := s.Summary(); sum.SpillBytes == 0 {
		t.Fatalf("no spill recorded with 12 MiB of memory: %+v", sum)
	}
}
