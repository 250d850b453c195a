package shuffle

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestSortRecs: the radix sort with its tie fix orders a run as sorting by
// partition and then key bytes does, and, without Sort, keeps the write order
// within a partition; around radixMin, for keys shorter and longer than the
// prefix, with many ties, and with partition numbers past one byte.
func TestSortRecs(t *testing.T) {
	cases := []struct {
		n, parts, keyLen, alphabet int
		base                       byte // the alphabet's first byte
	}{
		{n: 10, parts: 3, keyLen: 12, base: '0', alphabet: 62},
		{n: radixMin - 1, parts: 7, keyLen: 12, base: '0', alphabet: 62},
		{n: radixMin, parts: 7, keyLen: 12, base: '0', alphabet: 62},
		{n: 20000, parts: 1, keyLen: 10, base: '0', alphabet: 62},    // the benchmark's records
		{n: 20000, parts: 300, keyLen: 4, base: '0', alphabet: 3},    // short keys, mostly ties
		{n: 20000, parts: 70000, keyLen: 16, base: '0', alphabet: 2}, // parts in three bytes
		{n: 20000, parts: 3, keyLen: 16, base: '0', alphabet: 2},     // long keys, equal prefixes
		{n: 20000, parts: 2, keyLen: 10, alphabet: 2},                // zero bytes, which pad short prefixes
		{n: 20000, parts: 5, keyLen: 0, base: '0', alphabet: 1},      // every key empty
	}
	for _, c := range cases {
		for _, sorted := range []bool{true, false} {
			t.Run(fmt.Sprintf("n=%d,parts=%d,keyLen=%d,alphabet=%d,sort=%v", c.n, c.parts, c.keyLen, c.alphabet, sorted), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(c.n), uint64(c.parts)))
				w, err := NewWriter(WriterConfig{Dirs: []string{t.TempDir()}, NumPartitions: c.parts, Sort: sorted})
				if err != nil {
					t.Fatal(err)
				}
				defer w.Abort()
				type want struct {
					part int
					key  []byte
					seq  int
				}
				var ws []want
				for i := range c.n {
					k := make([]byte, rng.IntN(c.keyLen+1))
					for j := range k {
						k[j] = c.base + byte(rng.IntN(c.alphabet))
					}
					p := rng.IntN(c.parts)
					if err := w.Write(p, k, fmt.Appendf(nil, "%d", i)); err != nil {
						t.Fatal(err)
					}
					ws = append(ws, want{p, k, i})
				}
				w.sortRecs()
				got := make([]want, len(w.recs))
				for i := range w.recs {
					r := &w.recs[i]
					var seq int
					fmt.Sscan(string(w.value(r)), &seq)
					got[i] = want{int(r.part), w.key(r), seq}
				}
				for i := 1; i < len(got); i++ {
					a, b := got[i-1], got[i]
					c := cmp.Compare(a.part, b.part)
					if c == 0 && sorted {
						c = bytes.Compare(a.key, b.key)
					}
					if c == 0 && !sorted {
						c = cmp.Compare(a.seq, b.seq) // stable: write order
						if c == 0 {
							c = -1
						}
					}
					if c > 0 {
						t.Fatalf("records %d and %d out of order: %+v then %+v", i-1, i, a, b)
					}
				}
				seen := make([]bool, c.n)
				for _, g := range got {
					if seen[g.seq] || !bytes.Equal(g.key, ws[g.seq].key) || g.part != ws[g.seq].part {
						t.Fatalf("record %+v is not the one written (%+v) or is there twice", g, ws[g.seq])
					}
					seen[g.seq] = true
				}
				if len(got) != c.n {
					t.Fatalf("%d records after sorting, want %d", len(got), c.n)
				}
			})
		}
	}
}

// BenchmarkSortRecs sorts a run of the sort benchmark's records: 10-byte random
// keys into 12 range partitions.
func BenchmarkSortRecs(b *testing.B) {
	const n = 200000
	rng := rand.New(rand.NewPCG(1, 2))
	w, err := NewWriter(WriterConfig{Dirs: []string{b.TempDir()}, NumPartitions: 12, Sort: true})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Abort()
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	k := make([]byte, 10)
	for range n {
		for j := range k {
			k[j] = alnum[rng.IntN(len(alnum))]
		}
		if err := w.Write(int(k[0])%12, k, nil); err != nil {
			b.Fatal(err)
		}
	}
	orig := append([]rec(nil), w.recs...)
	b.ResetTimer()
	for range b.N {
		copy(w.recs, orig)
		w.sortRecs()
	}
}
