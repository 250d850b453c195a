package spindle

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/spindle-engine/spindle/codec"
)

// recordSink is a RecordWriter that keeps what it is given.
type recordSink struct {
	parts      []int
	keys, vals [][]byte
}

func (r *recordSink) Write(p int, k, v []byte) error {
	r.parts = append(r.parts, p)
	r.keys = append(r.keys, slices.Clone(k))
	r.vals = append(r.vals, slices.Clone(v))
	return nil
}

// combineAll folds keys (with value 1 each, or the index for the []int values) through
// a combiner, flushing every flushEvery records (0: only at the end), and decodes what
// it wrote back into one map, merging the flushes' values with mergeC. It also checks
// that each record went to the partition the shuffle's hash gives.
func combineAll[K comparable, C any](t *testing.T, keys []K, create func(int) C, merge func(C, int) C, mergeC func(C, C) C, flushEvery int) map[K]C {
	t.Helper()
	const nparts = 7
	c := newCombiner[K](create, merge)
	sink := &recordSink{}
	for i, k := range keys {
		c.add(k, i)
		if flushEvery > 0 && (i+1)%flushEvery == 0 {
			if err := c.flush(sink, nparts); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.flush(sink, nparts); err != nil {
		t.Fatal(err)
	}
	if c.used != 0 || c.count != 0 || len(c.slots) != 0 {
		t.Fatalf("flushed combiner still holds %d bytes, %d keys", c.used, c.count)
	}
	kc, vc := mustKeyCodec[K](), mustCodec[C]()
	got := map[K]C{}
	for i := range sink.keys {
		if want := int(codec.Hash(sink.keys[i]) % nparts); sink.parts[i] != want {
			t.Fatalf("record %d went to partition %d, its key hashes to %d", i, sink.parts[i], want)
		}
		k, err := decodeWhole(kc, sink.keys[i])
		if err != nil {
			t.Fatalf("decode key %q: %v", sink.keys[i], err)
		}
		v, err := decodeWhole(vc, sink.vals[i])
		if err != nil {
			t.Fatal(err)
		}
		if old, ok := got[k]; ok {
			if flushEvery == 0 {
				t.Fatalf("key %v written twice by one flush", k)
			}
			v = mergeC(old, v)
		}
		got[k] = v
	}
	return got
}

type compositeKey struct {
	Region string
	Year   int
}

// TestCombiner folds records through the map-side combiner's table and checks the
// flushed records against a Go map's counts: keys of every length around the 8-byte
// prefix (empty, zero bytes, one longer than a key chunk), integer and struct keys,
// values with and without pointers, and flushes in the middle.
func TestCombiner(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	var strKeys []string
	for i := range 30000 {
		var k string
		switch i % 6 {
		case 0:
			k = fmt.Sprint(rng.IntN(50)) // short, frequent
		case 1:
			k = fmt.Sprintf("word%05d", rng.IntN(5000)) // 9 bytes: past the prefix
		case 2:
			k = strings.Repeat("\x00", rng.IntN(12)) // zero bytes pad prefixes too
		case 3:
			k = fmt.Sprintf("%08d", rng.IntN(300)) // exactly 8
		case 4:
			k = fmt.Sprintf("a-much-longer-key-%d-%s", rng.IntN(2000), strings.Repeat("y", rng.IntN(40)))
		default:
			k = ""
		}
		strKeys = append(strKeys, k)
	}
	huge := strings.Repeat("h", 1<<keyChunkShift+100)
	strKeys = append(strKeys, huge, "after-huge-key-1", huge, "after-huge-key-1")

	count := func(int) int { return 1 }
	inc := func(c, _ int) int { return c + 1 }
	add := func(a, b int) int { return a + b }
	countKeys := func(keys []string) map[string]int {
		m := map[string]int{}
		for _, k := range keys {
			m[k]++
		}
		return m
	}
	for _, flushEvery := range []int{0, 1, 777} {
		t.Run(fmt.Sprintf("string keys, flush every %d", flushEvery), func(t *testing.T) {
			got := combineAll(t, strKeys, count, inc, add, flushEvery)
			if want := countKeys(strKeys); !maps.Equal(got, want) {
				t.Fatalf("%d keys, want %d", len(got), len(want))
			}
		})
	}
	t.Run("int keys", func(t *testing.T) {
		keys := make([]int64, 20000)
		want := map[int64]int{}
		for i := range keys {
			keys[i] = rng.Int64N(3000) - 1500
			want[keys[i]]++
		}
		if got := combineAll(t, keys, count, inc, add, 0); !maps.Equal(got, want) {
			t.Fatalf("%d keys, want %d", len(got), len(want))
		}
	})
	t.Run("struct keys", func(t *testing.T) {
		keys := make([]compositeKey, 10000)
		want := map[compositeKey]int{}
		for i := range keys {
			keys[i] = compositeKey{fmt.Sprint("region-", rng.IntN(20)), 2000 + rng.IntN(30)}
			want[keys[i]]++
		}
		if got := combineAll(t, keys, count, inc, add, 0); !maps.Equal(got, want) {
			t.Fatalf("%d keys, want %d", len(got), len(want))
		}
	})
	t.Run("slice values", func(t *testing.T) {
		one := func(i int) []int { return []int{i} }
		push := func(c []int, i int) []int { return append(c, i) }
		cat := func(a, b []int) []int { return append(a, b...) }
		got := combineAll(t, strKeys, one, push, cat, 0)
		want := map[string][]int{}
		for i, k := range strKeys {
			want[k] = append(want[k], i)
		}
		if !maps.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("%d keys, want %d", len(got), len(want))
		}
	})
}

// TestCombinerAccountsMemory checks that the table's accounted memory covers its
// slots and the key bytes copied past the prefixes, and so grows with distinct keys
// but not with repeated ones.
func TestCombinerAccountsMemory(t *testing.T) {
	c := newCombiner[string](func(v int) int { return v }, func(a, b int) int { return a + b })
	for i := range 5000 {
		c.add(fmt.Sprintf("distinct-key-%06d", i), 1)
	}
	slotBytes := int64(len(c.slots)) * int64(unsafe.Sizeof(c.slots[0]))
	keyBytes := int64(5000 * (len("distinct-key-000000") - 8))
	if c.used != slotBytes+keyBytes {
		t.Fatalf("accounted %d bytes for %d slots and %d key bytes", c.used, len(c.slots), keyBytes)
	}
	before := c.used
	for range 10 {
		for i := range 5000 {
			c.add(fmt.Sprintf("distinct-key-%06d", i), 1)
		}
	}
	if c.used != before {
		t.Fatalf("repeated keys grew the accounted memory from %d to %d", before, c.used)
	}
}

// BenchmarkCombiner folds word-like keys with a Zipf skew, as a word count's map side
// does (the bench's text: "w" and a base-36 number below 100,000, s = 1.1): one probe
// per record and no allocation per record. The stream is 1 Mi words and the table
// holds most of the 100,000 keys, so that, as in the real job, it outgrows the
// caches and the probes' misses count.
func BenchmarkCombiner(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	z := rand.NewZipf(rng, 1.1, 1, 99999)
	words := make([]string, 1<<20)
	for i := range words {
		words[i] = "w" + strconv.FormatUint(z.Uint64(), 36)
	}
	add := func(a, b int) int { return a + b }
	b.ReportAllocs()
	c := newCombiner[string](func(v int) int { return v }, add)
	i := 0
	for b.Loop() {
		c.add(words[i&(len(words)-1)], 1)
		i++
	}
}

// growingValue is an accumulator the combiner can size only by encoding it.
type growingValue struct {
	Names []string
}

// TestCombinerAccountsValueGrowth merges many values into few keys with accumulators
// that grow with every merge, and checks that the accounted memory follows the
// values' real size (within the estimate's slack) and that add reports the growth,
// so the caller asks for memory or flushes: a slice of plain elements is sized by
// its capacity at every merge, other values by encoding them, sampled.
func TestCombinerAccountsValueGrowth(t *testing.T) {
	const keys, merges = 10, 20000
	tests := []struct {
		name string
		run  func() (used, real int64, grew int)
	}{
		{"slice of ints", func() (int64, int64, int) {
			c := newCombiner[string](func(v int) []int { return []int{v} }, func(a []int, v int) []int { return append(a, v) })
			grew := 0
			for i := range merges {
				if c.add(fmt.Sprint("k", i%keys), i) {
					grew++
				}
			}
			var real int64
			for _, s := range c.slots {
				real += int64(cap(s.val)) * 8
			}
			return c.used - int64(len(c.slots))*int64(unsafe.Sizeof(c.slots[0])), real, grew
		}},
		{"struct of strings", func() (int64, int64, int) {
			c := newCombiner[string](func(v int) growingValue { return growingValue{[]string{fmt.Sprint("name-", v)}} },
				func(a growingValue, v int) growingValue {
					a.Names = append(a.Names, fmt.Sprint("name-", v))
					return a
				})
			grew := 0
			for i := range merges {
				if c.add(fmt.Sprint("k", i%keys), i) {
					grew++
				}
			}
			var real int64
			for _, s := range c.slots {
				if s.klen != 0 {
					real += int64(len(c.vc.Append(nil, s.val)))
				}
			}
			return c.used - int64(len(c.slots))*int64(unsafe.Sizeof(c.slots[0])), real, grew
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			used, real, grew := tt.run()
			// The keys are at most 8 bytes: all of the extra is the values'.
			if used < real/2 || used > 2*real {
				t.Fatalf("accounted %d bytes for values of %d bytes", used, real)
			}
			// Beyond the keys' inserts: a slice's capacity grows by doubling, so
			// a few dozen times; a sampled estimate at every merge.
			if grew <= 2*keys {
				t.Fatalf("add reported growth %d times in %d merges", grew, merges)
			}
		})
	}
}
