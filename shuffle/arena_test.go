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
	acquires   int // calls of Acquire
}

func (m *recordingMemory) Acquire(n int64) int64 {
	m.acquires++
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

// TestBufferSizeBoundsTheRun gives the writer far more memory than BufferSize and
// checks after every write that the run holds at most BufferSize (plus a record
// larger than it, alone in its chunk); that it spilled about once per BufferSize of
// records; that a run spilled for reaching BufferSize leaves its chunks to the next,
// so the writer stops asking the memory manager for more after the first spill
// unless a record outgrows the spare chunks; and that the output is every record,
// sorted.
func TestBufferSizeBoundsTheRun(t *testing.T) {
	const bound = 2 << 20
	tests := []struct {
		name      string
		n         int
		large     int // every large-th record is larger than the bound; 0: none
		reacquire bool
	}{
		{"records of 1-2 KiB", 20000, 0, false},
		{"some records larger than the bound", 6000, 1500, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dirs := []string{t.TempDir()}
			mem := &recordingMemory{budget: budget{free: 1 << 30}}
			w, err := NewWriter(WriterConfig{Dirs: dirs, ShuffleID: i, NumPartitions: 3, Sort: true, Compress: true,
				Memory: mem, BufferSize: bound})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(i), 9))
			want := make([][]kv, 3)
			var total, maxRec int64
			acquiresAtFirstSpill := -1
			for j := range tt.n {
				k := fmt.Sprintf("k%09d", rng.IntN(tt.n))
				v := bytes.Repeat([]byte{byte('a' + j%26)}, 1000+rng.IntN(1000))
				if tt.large > 0 && j%tt.large == tt.large-1 {
					v = bytes.Repeat([]byte("L"), bound+rng.IntN(1000))
				}
				size := int64(len(k) + len(v))
				total += size
				maxRec = max(maxRec, size)
				if err := w.Write(j%3, []byte(k), v); err != nil {
					t.Fatal(err)
				}
				want[j%3] = append(want[j%3], kv{k, string(v)})
				if limit := int64(bound) + maxRec; w.used() > limit {
					t.Fatalf("after %d records the run holds %d bytes, above %d", j+1, w.used(), limit)
				}
				if w.Metrics().Spills == 1 && acquiresAtFirstSpill < 0 {
					acquiresAtFirstSpill = mem.acquires
				}
			}
			// Records and index take 1+24/1500 of their bytes; runs are a little
			// short of the bound where a chunk or the index did not fit.
			if min := int(total/bound) - 1; w.Metrics().Spills < min {
				t.Fatalf("%d spills for %d bytes, want at least %d", w.Metrics().Spills, total, min)
			}
			if again := mem.acquires > acquiresAtFirstSpill; again != tt.reacquire {
				t.Fatalf("asked for memory %d times, %d by the first spill: asked again = %v, want %v",
					mem.acquires, acquiresAtFirstSpill, again, tt.reacquire)
			}
			if mem.peak > 2*bound+maxRec {
				t.Fatalf("granted at most %d bytes with a bound of %d", mem.peak, bound)
			}
			if _, err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			if mem.held != 0 {
				t.Fatalf("%d bytes still granted after Commit", mem.held)
			}
			for p := range 3 {
				got := readPartition(t, dirs, i, 0, p)
				if !slices.IsSortedFunc(got, func(a, b kv) int { return bytes.Compare([]byte(a.k), []byte(b.k)) }) {
					t.Fatalf("partition %d is not sorted", p)
				}
				slices.SortFunc(got, cmpKV)
				slices.SortFunc(want[p], cmpKV)
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
