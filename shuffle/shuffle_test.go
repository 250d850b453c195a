package shuffle

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
)

// budget is a Memory with a fixed number of bytes.
type budget struct {
	mu   sync.Mutex
	free int64
}

func (b *budget) Acquire(n int64) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := min(n, b.free)
	b.free -= g
	return g
}

func (b *budget) Release(n int64) {
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
}

type kv struct{ k, v string }

func randomRecords(seed uint64, n, nkeys int) []kv {
	rng := rand.New(rand.NewPCG(seed, 3))
	out := make([]kv, n)
	for i := range out {
		k := rng.IntN(nkeys)
		if rng.IntN(3) == 0 {
			k = 7 // skew
		}
		out[i] = kv{fmt.Sprintf("key-%06d", k), fmt.Sprint("v", i)}
	}
	return out
}

func readPartition(t *testing.T, dirs []string, shuffle, mapID, p int) []kv {
	t.Helper()
	rc, _, err := OpenSegment(dirs, shuffle, mapID, p)
	if err != nil {
		t.Fatal(err)
	}
	r := NewSegmentReader(rc, "test")
	defer r.Close()
	var out []kv
	for r.Next() {
		out = append(out, kv{string(r.Key()), string(r.Value())})
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		sort, comp bool
		n, parts   int
		mem        int64 // 0 = unlimited
	}{
		{"sorted compressed", true, true, 20000, 7, 0},
		{"sorted plain", true, false, 5000, 3, 0},
		{"unsorted keeps order", false, true, 5000, 4, 0},
		{"many empty partitions", true, true, 50, 200, 0},
		{"spills 10x memory", true, true, 100000, 5, 256 << 10},
		{"spills unsorted", false, false, 50000, 3, 128 << 10},
		{"no memory at all", true, false, 2000, 2, 1},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dirs := []string{t.TempDir(), t.TempDir()}
			var mem Memory
			if tt.mem > 0 {
				mem = &budget{free: tt.mem}
			}
			w, err := NewWriter(WriterConfig{Dirs: dirs, ShuffleID: i, MapID: 3, NumPartitions: tt.parts, Sort: tt.sort, Compress: tt.comp, Memory: mem, BlockSize: 4096})
			if err != nil {
				t.Fatal(err)
			}
			recs := randomRecords(uint64(i), tt.n, tt.n/3+1)
			want := make([][]kv, tt.parts)
			for j, r := range recs {
				p := j % tt.parts
				if err := w.Write(p, []byte(r.k), []byte(r.v)); err != nil {
					t.Fatal(err)
				}
				want[p] = append(want[p], r)
			}
			sizes, err := w.Commit()
			if err != nil {
				t.Fatal(err)
			}
			if tt.mem > 0 && tt.mem < 1<<20 && w.Metrics().Spills == 0 && tt.n > 10000 {
				t.Fatalf("no spill with %d bytes of memory", tt.mem)
			}
			if b, ok := mem.(*budget); ok && b.free != tt.mem {
				t.Fatalf("writer kept %d bytes of memory after Commit", tt.mem-b.free)
			}
			for p := range tt.parts {
				if tt.sort {
					slices.SortStableFunc(want[p], func(a, b kv) int { return bytes.Compare([]byte(a.k), []byte(b.k)) })
				}
				got := readPartition(t, dirs, i, 3, p)
				if tt.sort {
					// Equal keys may come in any order after a spill; compare as multisets.
					slices.SortFunc(got, func(a, b kv) int { return cmpKV(a, b) })
					slices.SortFunc(want[p], func(a, b kv) int { return cmpKV(a, b) })
				}
				if !slices.Equal(got, want[p]) {
					t.Fatalf("partition %d: %d records, want %d", p, len(got), len(want[p]))
				}
				if (sizes[p] == 0) != (len(want[p]) == 0) {
					t.Fatalf("partition %d size %d with %d records", p, sizes[p], len(want[p]))
				}
			}
			// Sorted output is sorted, spill or not.
			if tt.sort {
				for p := range tt.parts {
					rc, _, _ := OpenSegment(dirs, i, 3, p)
					r := NewSegmentReader(rc, "x")
					var prev []byte
					for r.Next() {
						if bytes.Compare(prev, r.Key()) > 0 {
							t.Fatalf("partition %d not sorted", p)
						}
						prev = append(prev[:0], r.Key()...)
					}
					r.Close()
				}
			}
			// No temporary files are left behind.
			for _, d := range dirs {
				entries, _ := os.ReadDir(d)
				for _, e := range entries {
					if n := e.Name(); !bytes.HasSuffix([]byte(n), []byte(".data")) && !bytes.HasSuffix([]byte(n), []byte(".index")) {
						t.Fatalf("left %s", n)
					}
				}
			}
		})
	}
}

func cmpKV(a, b kv) int {
	if c := bytes.Compare([]byte(a.k), []byte(b.k)); c != 0 {
		return c
	}
	return bytes.Compare([]byte(a.v), []byte(b.v))
}

func TestFirstCommitWins(t *testing.T) {
	dirs := []string{t.TempDir()}
	commit := func(attempt int, val string) []int64 {
		w, _ := NewWriter(WriterConfig{Dirs: dirs, ShuffleID: 1, MapID: 0, Attempt: attempt, NumPartitions: 2})
		w.Write(0, []byte("k"), []byte(val))
		sizes, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		return sizes
	}
	first := commit(0, "first")
	second := commit(1, "second-longer")
	if !slices.Equal(first, second) {
		t.Fatalf("second commit reported %v, first %v", second, first)
	}
	if got := readPartition(t, dirs, 1, 0, 0); got[0].v != "first" {
		t.Fatalf("second attempt replaced the first: %v", got)
	}
}

func TestCorruptAndMissing(t *testing.T) {
	dirs := []string{t.TempDir()}
	w, _ := NewWriter(WriterConfig{Dirs: dirs, ShuffleID: 2, MapID: 1, NumPartitions: 1, Compress: true})
	for i := range 1000 {
		w.Write(0, []byte(fmt.Sprint("k", i)), []byte("value value value"))
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	data := DataPath(dirs, 2, 1)
	b, _ := os.ReadFile(data)
	b[len(b)/2] ^= 0xFF
	os.WriteFile(data, b, 0o644)
	rc, _, err := OpenSegment(dirs, 2, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := NewSegmentReader(rc, data)
	for r.Next() {
	}
	if err := r.Err(); !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte(data)) {
		t.Fatalf("corrupt block: %v", err)
	}
	r.Close()
	if _, _, err := OpenSegment(dirs, 2, 9, 0); !errors.Is(err, ErrMissingOutput) {
		t.Fatalf("missing output: %v", err)
	}
	os.WriteFile(IndexPath(dirs, 2, 1), []byte("SPIX\x01garbage"), 0o644)
	if _, _, err := OpenSegment(dirs, 2, 1, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt index: %v", err)
	}
	if err := RemoveShuffle(dirs, 2); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dirs[0]); len(entries) != 0 {
		t.Fatalf("RemoveShuffle left %d files", len(entries))
	}
}

// sliceReader serves sorted records from memory.
type sliceReader struct {
	keys, vals [][]byte
	i          int
}

func newSliceReader(recs []kv) *sliceReader {
	s := &sliceReader{}
	for _, r := range recs {
		s.keys = append(s.keys, []byte(r.k))
		s.vals = append(s.vals, []byte(r.v))
	}
	return s
}

func (s *sliceReader) Next() bool    { s.i++; return s.i <= len(s.keys) }
func (s *sliceReader) Key() []byte   { return s.keys[s.i-1] }
func (s *sliceReader) Value() []byte { return s.vals[s.i-1] }
func (s *sliceReader) Err() error    { return nil }
func (s *sliceReader) Close() error  { return nil }

func TestMergeEqualsSortOfUnion(t *testing.T) {
	var rs []RecordReader
	var all []kv
	for i := range 9 {
		recs := randomRecords(uint64(i), 300*i, 100)
		slices.SortStableFunc(recs, func(a, b kv) int { return bytes.Compare([]byte(a.k), []byte(b.k)) })
		rs = append(rs, newSliceReader(recs))
		all = append(all, recs...)
	}
	slices.SortStableFunc(all, func(a, b kv) int { return bytes.Compare([]byte(a.k), []byte(b.k)) })
	m := Merge(rs)
	var got []kv
	for m.Next() {
		got = append(got, kv{string(m.Key()), string(m.Value())})
	}
	if !slices.Equal(got, all) {
		t.Fatalf("merge of %d records differs from a stable sort of the union (%d)", len(got), len(all))
	}
}

func BenchmarkShuffleRoundTrip(b *testing.B) {
	recs := randomRecords(1, 200000, 50000)
	var bytesPer int64
	for _, r := range recs {
		bytesPer += int64(len(r.k) + len(r.v))
	}
	dirs := []string{b.TempDir()}
	b.SetBytes(bytesPer)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w, _ := NewWriter(WriterConfig{Dirs: dirs, ShuffleID: i, MapID: 0, NumPartitions: 8, Sort: true, Compress: true, Memory: &budget{free: 64 << 20}})
		for j, r := range recs {
			w.Write(j%8, []byte(r.k), []byte(r.v))
		}
		if _, err := w.Commit(); err != nil {
			b.Fatal(err)
		}
		for p := range 8 {
			rc, _, _ := OpenSegment(dirs, i, 0, p)
			r := NewSegmentReader(rc, "b")
			for r.Next() {
			}
			r.Close()
		}
		RemoveShuffle(dirs, i)
	}
}

func BenchmarkMerge(b *testing.B) {
	var runs [][]kv
	var total int64
	for i := range 16 {
		recs := randomRecords(uint64(i), 20000, 100000)
		slices.SortFunc(recs, func(a, c kv) int { return bytes.Compare([]byte(a.k), []byte(c.k)) })
		runs = append(runs, recs)
		for _, r := range recs {
			total += int64(len(r.k) + len(r.v))
		}
	}
	readers := make([]*sliceReader, len(runs))
	for i, r := range runs {
		readers[i] = newSliceReader(r)
	}
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var rs []RecordReader
		for _, r := range readers {
			r.i = 0
			rs = append(rs, r)
		}
		m := Merge(rs)
		for m.Next() {
		}
	}
}

// TestRerunReplacesACorruptOutput: an earlier attempt's output stands only when it
// is whole and every checksum holds; a flipped byte anywhere in its data or index,
// or a truncated data file, makes the re-run's output replace it.
func TestRerunReplacesACorruptOutput(t *testing.T) {
	for _, tt := range []struct {
		name  string
		spoil func(data, index string)
	}{
		{"flipped data byte", func(data, _ string) { flip(t, data, 0.6) }},
		{"flipped data byte in the last segment", func(data, _ string) { flip(t, data, 0.97) }},
		{"flipped index byte", func(_, index string) { flip(t, index, 0.5) }},
		{"truncated data", func(data, _ string) { os.Truncate(data, 100) }},
		{"data gone", func(data, _ string) { os.Remove(data) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dirs := []string{t.TempDir()}
			commit := func(attempt int, val string) {
				w, _ := NewWriter(WriterConfig{Dirs: dirs, ShuffleID: 7, MapID: 1, Attempt: attempt, NumPartitions: 3, Compress: true, BlockSize: 512})
				for i := range 2000 {
					w.Write(i%3, []byte(fmt.Sprint("k", i)), []byte(val))
				}
				if _, err := w.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			commit(0, "first")
			tt.spoil(DataPath(dirs, 7, 1), IndexPath(dirs, 7, 1))
			commit(1, "second")
			for p := range 3 {
				got := readPartition(t, dirs, 7, 1, p)
				if len(got) == 0 || got[0].v != "second" {
					t.Fatalf("partition %d after the re-run: %d records, first %v; want the re-run's output", p, len(got), got[:min(1, len(got))])
				}
			}
		})
	}
}

// flip inverts the byte at fraction at of a file.
func flip(t *testing.T, path string, at float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[int(float64(len(b)-1)*at)] ^= 0xFF
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
