package spindle

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// writePairs writes n "key,value" lines with keys drawn from nkeys and returns the
// path and the pairs.
func writePairs(t *testing.T, dir, name string, seed uint64, n, nkeys int) (string, []KV[string, int]) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	var kvs []KV[string, int]
	for i := range n {
		kv := KV[string, int]{fmt.Sprintf("k%04d", rng.IntN(nkeys)), i}
		kvs = append(kvs, kv)
		fmt.Fprintf(&b, "%s,%d\n", kv.Key, kv.Value)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, kvs
}

func readPairs(s *Session, path string) Dataset[KV[string, int]] {
	return Map(ReadText(s, path), func(line string) KV[string, int] {
		k, v, _ := strings.Cut(line, ",")
		n, _ := strconv.Atoi(v)
		return KV[string, int]{k, n}
	})
}

type joinRow struct {
	k     string
	v, w  int
	valid bool
}

func cmpJoinRow(a, b joinRow) int {
	return cmp.Or(cmp.Compare(a.k, b.k), cmp.Compare(a.v, b.v), cmp.Compare(a.w, b.w))
}

// wantJoin is the nested-loop join of l and r; outer keeps l's unmatched rows.
func wantJoin(l, r []KV[string, int], outer bool) []joinRow {
	byKey := map[string][]int{}
	for _, kv := range r {
		byKey[kv.Key] = append(byKey[kv.Key], kv.Value)
	}
	var out []joinRow
	for _, kv := range l {
		ws := byKey[kv.Key]
		if len(ws) == 0 && outer {
			out = append(out, joinRow{kv.Key, kv.Value, 0, false})
		}
		for _, w := range ws {
			out = append(out, joinRow{kv.Key, kv.Value, w, true})
		}
	}
	slices.SortFunc(out, cmpJoinRow)
	return out
}

// TestBroadcastJoin joins a large and a small file-backed side with the threshold
// between their sizes: the small side is broadcast (so only it goes through a
// shuffle) unless it is the left side of a LeftJoin or broadcasting is off, and the
// rows are those of a nested-loop join either way.
func TestBroadcastJoin(t *testing.T) {
	dir := t.TempDir()
	// Keys repeat on both sides, and some keys of each side are missing on the other.
	bigPath, big := writePairs(t, dir, "big.txt", 1, 30000, 600)
	smallPath, small := writePairs(t, dir, "small.txt", 2, 300, 900)
	bigSize, smallSize := fileSize(t, bigPath), fileSize(t, smallPath)
	tests := []struct {
		name          string
		threshold     string
		smallLeft     bool
		outer         bool
		wantBroadcast bool
	}{
		{"Join broadcasts the small right side", "100k", false, false, true},
		{"Join broadcasts the small left side", "100k", true, false, true},
		{"LeftJoin broadcasts the small right side", "100k", false, true, true},
		{"LeftJoin never broadcasts its left side", "100k", true, true, false},
		{"disabled", "-1", false, false, false},
		{"both sides above the threshold", "1k", false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSession(t, "spindle.sql.autoBroadcastJoinThreshold", tt.threshold, "spindle.shuffle.compress", "false")
			b, sm := readPairs(s, bigPath), readPairs(s, smallPath)
			l, r, lw, rw := b, sm, big, small
			if tt.smallLeft {
				l, r, lw, rw = sm, b, small, big
			}
			var got []joinRow
			if tt.outer {
				for _, kv := range collect(t, LeftJoin(l, r, Partitions(3))) {
					got = append(got, joinRow{kv.Key, kv.Value.First, kv.Value.Second.Value, kv.Value.Second.Valid})
				}
			} else {
				for _, kv := range collect(t, Join(l, r, Partitions(3))) {
					got = append(got, joinRow{kv.Key, kv.Value.First, kv.Value.Second, true})
				}
			}
			slices.SortFunc(got, cmpJoinRow)
			want := wantJoin(lw, rw, tt.outer)
			if !slices.Equal(got, want) {
				t.Fatalf("%d rows, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
			}
			written := s.Summary().ShuffleWriteBytes
			if tt.wantBroadcast && written > 2*smallSize {
				t.Fatalf("broadcast join shuffled %d bytes; the small side is %d, the big one %d", written, smallSize, bigSize)
			}
			if !tt.wantBroadcast && written < bigSize/2 {
				t.Fatalf("shuffled join wrote %d bytes, less than the big side's %d can make", written, bigSize)
			}
		})
	}
}

// TestBroadcastTableIsAccounted reads, from inside a broadcast join's tasks, the
// execution memory they hold: while they stream through their tables the tables'
// memory is granted (the join's other stages hold none then), and it is released
// when the job ends.
func TestBroadcastTableIsAccounted(t *testing.T) {
	dir := t.TempDir()
	bigPath, _ := writePairs(t, dir, "big.txt", 1, 3000, 600)
	smallPath, _ := writePairs(t, dir, "small.txt", 2, 300, 900)
	s := newTestSession(t, "spindle.sql.autoBroadcastJoinThreshold", "100k")
	var mu sync.Mutex
	var least int64 = -1
	joined := Join(readPairs(s, bigPath), readPairs(s, smallPath), Partitions(3))
	seen := Map(joined, func(kv KV[string, Pair[int, int]]) string {
		used := s.drv.ExecutionMemoryUsed()
		mu.Lock()
		if least < 0 || used < least {
			least = used
		}
		mu.Unlock()
		return kv.Key
	})
	if len(collect(t, seen)) == 0 {
		t.Fatal("the join produced no rows")
	}
	if least < broadcastChunk {
		t.Fatalf("a join task held %d bytes of execution memory with its table built, want at least %d", least, broadcastChunk)
	}
	if used := s.drv.ExecutionMemoryUsed(); used != 0 {
		t.Fatalf("%d bytes of execution memory still held after the job", used)
	}
}

// TestBroadcastThresholdMustParse: a threshold that is not a size fails the join's
// action with an error that names the setting.
func TestBroadcastThresholdMustParse(t *testing.T) {
	dir := t.TempDir()
	path, _ := writePairs(t, dir, "a.txt", 3, 10, 5)
	s := newTestSession(t, "spindle.sql.autoBroadcastJoinThreshold", "ten megabytes")
	d := readPairs(s, path)
	_, err := Collect(t.Context(), Join(d, d))
	if err == nil || !strings.Contains(err.Error(), "spindle.sql.autoBroadcastJoinThreshold") {
		t.Fatalf("err = %v, want one naming the threshold", err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
