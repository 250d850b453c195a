package spindle

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/spindle-engine/spindle/conf"
)

// newTestSession starts a local session with 4 slots; kv are extra key=value pairs.
func newTestSession(t testing.TB, kv ...string) *Session {
	t.Helper()
	c := conf.New()
	settings := append([]string{"spindle.master", "local[4]", "spindle.local.dir", t.TempDir()}, kv...)
	for i := 0; i+1 < len(settings); i += 2 {
		if err := c.Set(settings[i], settings[i+1]); err != nil {
			t.Fatalf("conf %s=%s: %v", settings[i], settings[i+1], err)
		}
	}
	s, err := NewSession(context.Background(), c)
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// skewedPairs makes n pairs whose keys follow a Zipf distribution over nkeys keys, so
// that a few keys are very frequent (skew) and many are rare.
func skewedPairs(seed uint64, n, nkeys int) []KV[string, int] {
	rng := rand.New(rand.NewPCG(seed, 1))
	z := rand.NewZipf(rng, 1.3, 1, uint64(nkeys-1))
	out := make([]KV[string, int], n)
	for i := range out {
		out[i] = KV[string, int]{Key: fmt.Sprintf("k%05d", z.Uint64()), Value: rng.IntN(1000) - 300}
	}
	return out
}

func collect[T any](t testing.TB, d Dataset[T]) []T {
	t.Helper()
	out, err := Collect(context.Background(), d)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return out
}

// sortedKVs sorts pairs by key then value, for order-insensitive comparison.
func sortedKVs[K cmp.Ordered, V cmp.Ordered](in []KV[K, V]) []KV[K, V] {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b KV[K, V]) int {
		if c := cmp.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return cmp.Compare(a.Value, b.Value)
	})
	return out
}

func sumByKey(in []KV[string, int]) []KV[string, int] {
	m := map[string]int{}
	for _, kv := range in {
		m[kv.Key] += kv.Value
	}
	var out []KV[string, int]
	for k, v := range m {
		out = append(out, KV[string, int]{k, v})
	}
	return sortedKVs(out)
}

// countingFn counts how often its functions run, across tasks.
type countingFn struct{ n atomic.Int64 }

func (c *countingFn) double(x int) int { c.n.Add(1); return 2 * x }
