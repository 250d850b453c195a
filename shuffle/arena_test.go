package shuffle

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCompareKeys: the prefix-first comparison orders keys as bytes.Compare does,
// for keys around the 8-byte prefix and with zero bytes, which pad short prefixes.
func TestCompareKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	keys := [][]byte{{}, {0}, {0, 0}, []byte("a"), []byte("a\x00"), []byte("abcdefgh"), []byte("abcdefgh\x00"),
		[]byte("abcdefg"), []byte("abcdefgi"), []byte("abcdefgh\xff"), []byte("\xff\xff\xff\xff\xff\xff\xff\xff")}
	for range 3000 {
		k := make([]byte, rng.IntN(14))
		for i := range k {
			k[i] = []byte{0, 1, 'a', 0xff}[rng.IntN(4)]
		}
		keys = append(keys, k)
	}
	// Two chunks, so that locs name both the chunk and the offset.
	w := &Writer{chunks: [][]byte{allocPage(memChunk), allocPage(memChunk)}}
	defer w.freeRun()
	var recs []rec
	fill := []int{0, 0}
	for i, k := range keys {
		c := i % 2
		copy(w.chunks[c][fill[c]:], k)
		recs = append(recs, rec{prefix: keyPrefix(k), loc: uint32(c<<chunkShift | fill[c]), klen: uint32(len(k))})
		fill[c] += len(k)
	}
	for i := range recs {
		for j := range recs {
			got, want := w.compareKeys(&recs[i], &recs[j]), bytes.Compare(keys[i], keys[j])
			if (got < 0) != (want < 0) || (got == 0) != (want == 0) {
				t.Fatalf("compare(%q, %q) = %d, bytes.Compare = %d", keys[i], keys[j], got, want)
			}
		}
	}
}

// recordingMemory is a budget that also records the most the writer was granted.
type recordingMemory struct {
	budget
	peak, held int64
}

func (m *recordingMemory) Acquire(n int64) int64 {
	g := m.budget.Acquire(n)
	m.held += g
	m.peak = max(m.peak, m.held)
	return g
}

func (m *recordingMemory) Release(n int64) {
	m.held -= n
	m.budget.Release(n)
}

// TestArenaStaysWithinItsGrant writes far more records than memory holds, of sizes
// that straddle chunk boundaries and one larger than any chunk, and checks after
// every write that the arena holds at most its grant plus the unaccounted first
// steps of a run below minRun; that it spilled, merging its spill files when they
// reach maxSpills; and that the output is every record, sorted.
func TestArenaStaysWithinItsGrant(t *testing.T) {
	tests := []struct {
		name  string
		mem   int64
		n     int
		large int // every large-th record is larger than a chunk
	}{
		{"tight memory, many spills merged", 2 << 20, 50000, 0},
		{"records larger than a chunk", 8 << 20, 3000, 500},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dirs := []string{t.TempDir()}
			mem := &recordingMemory{budget: budget{free: tt.mem}}
			w, err := NewWriter(WriterConfig{Dirs: dirs, ShuffleID: i, MapID: 0, NumPartitions: 3, Sort: true, Memory: mem, BlockSize: 64 << 10})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			want := make([][]kv, 3)
			var maxRec int64
			for j := range tt.n {
				k := fmt.Sprintf("key-%07d", rng.IntN(tt.n))
				v := bytes.Repeat([]byte{byte('a' + j%26)}, 700+rng.IntN(1200))
				if tt.large > 0 && j%tt.large == 0 {
					v = bytes.Repeat([]byte("L"), maxChunk+rng.IntN(1000))
				}
				maxRec = max(maxRec, int64(len(k)+len(v)))
				if err := w.Write(j%3, []byte(k), v); err != nil {
					t.Fatal(err)
				}
				want[j%3] = append(want[j%3], kv{k, string(v)})
				if over := w.used() - w.granted; over > minRun+max(memChunk, maxRec) {
					t.Fatalf("after %d records the run holds %d bytes, %d beyond its grant", j+1, w.used(), over)
				}
				if len(w.spills) > maxSpills {
					t.Fatalf("%d spill files kept", len(w.spills))
				}
			}
			if _, err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			if mem.peak > tt.mem || mem.free != tt.mem {
				t.Fatalf("granted at most %d of %d, %d back after Commit", mem.peak, tt.mem, mem.free)
			}
			if tt.large == 0 && w.Metrics().Spills <= maxSpills {
				t.Fatalf("%d spills: the test needs more than %d to merge spill files", w.Metrics().Spills, maxSpills)
			}
			if tt.large > 0 && w.Metrics().Spills == 0 {
				t.Fatal("no spill")
			}
			for p := range 3 {
				got := readPartition(t, dirs, i, 0, p)
				slices.SortFunc(want[p], cmpKV)
				if !slices.IsSortedFunc(got, func(a, b kv) int { return bytes.Compare([]byte(a.k), []byte(b.k)) }) {
					t.Fatalf("partition %d is not sorted", p)
				}
				slices.SortFunc(got, cmpKV)
				if !slices.Equal(got, want[p]) {
					t.Fatalf("partition %d: %d records, want %d", p, len(got), len(want[p]))
				}
			}
		})
	}
}

// BenchmarkWriterArena buffers and sorts 8-byte-keyed records, as a join's or a
// word count's map side does, without spilling: the arena takes the records without
// growing by copying and without garbage.
func BenchmarkWriterArena(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 200000
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "%08d", rng.IntN(n))
	}
	val := []byte("value-of-twenty-bytes")
	b.SetBytes(int64(n * (8 + len(val))))
	b.ReportAllocs()
	dirs := []string{b.TempDir()}
	for b.Loop() {
		w, _ := NewWriter(WriterConfig{Dirs: dirs, NumPartitions: 8, Sort: true, Memory: &budget{free: 64 << 20}})
		for j, k := range keys {
			if err := w.Write(j%8, k, val); err != nil {
				b.Fatal(err)
			}
		}
		w.sortRecs()
		if err := w.Abort(); err != nil {
			b.Fatal(err)
		}
	}
}
