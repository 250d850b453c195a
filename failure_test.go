package spindle

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spindle-engine/spindle/scheduler"
)

func TestPanicIsRetried(t *testing.T) {
	s := newTestSession(t)
	var attempts atomic.Int64
	d := Map(Parallelize(s, []int{1, 2, 3, 4}, 2), func(x int) int {
		// The first attempt of the task holding 3 fails; the retry succeeds.
		if x == 3 && attempts.Add(1) == 1 {
			panic("flaky")
		}
		return x * 10
	})
	got := collect(t, d)
	if !slices.Equal(got, []int{10, 20, 30, 40}) {
		t.Fatalf("got %v after a retried panic", got)
	}
	if sum := s.Summary(); sum.FailedTasks != 1 {
		t.Fatalf("FailedTasks = %d, want 1", sum.FailedTasks)
	}
}

func TestPanicFailsJobAfterMaxFailures(t *testing.T) {
	s := newTestSession(t, "spindle.task.maxFailures", "3")
	var attempts atomic.Int64
	d := Map(Parallelize(s, []int{1, 2, 3}, 3), func(x int) int {
		if x == 2 {
			attempts.Add(1)
			panic("bad record 2")
		}
		return x
	})
	_, err := Collect(context.Background(), d)
	if err == nil {
		t.Fatal("Collect succeeded despite a panicking task")
	}
	var pe *TaskPanicError
	if !errors.As(err, &pe) || pe.Value != "bad record 2" {
		t.Fatalf("error %v does not carry the panic value", err)
	}
	if !strings.Contains(pe.Stack, "failure_test.go") {
		t.Fatalf("panic stack does not point at the user's code:\n%s", pe.Stack)
	}
	if n := attempts.Load(); n != 3 {
		t.Fatalf("task ran %d times, want spindle.task.maxFailures=3", n)
	}
}

func TestMissingInputFailsBeforeAnyTask(t *testing.T) {
	s := newTestSession(t)
	missing := filepath.Join(t.TempDir(), "no-such-dir", "*.txt")
	_, err := Count(context.Background(), ReadText(s, missing))
	if err == nil || !strings.Contains(err.Error(), "no-such-dir") {
		t.Fatalf("error %v does not name the missing path", err)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v is not os.ErrNotExist", err)
	}
	if sum := s.Summary(); sum.Tasks+sum.FailedTasks != 0 {
		t.Fatalf("%d tasks ran for a job whose input is missing", sum.Tasks+sum.FailedTasks)
	}
}

type sale struct {
	Region  string  `csv:"region"`
	Revenue float64 `csv:"revenue"`
	Units   int     `csv:"units"`
}

func TestMalformedCSV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sales.csv")
	rows := "region,revenue,units\nnorth,10.5,1\nsouth,abc,2\nnorth,1.5\neast,2.0,3\n"
	if err := os.WriteFile(path, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("FAILFAST names file, line and column", func(t *testing.T) {
		s := newTestSession(t)
		_, err := Collect(context.Background(), ReadCSV[sale](s, path))
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Fatalf("error %v is not an *InputError", err)
		}
		if ie.Path != path || ie.Line != 3 || ie.Column != "revenue" {
			t.Fatalf("InputError = %s:%d column %q, want %s:3 column \"revenue\"", ie.Path, ie.Line, ie.Column, path)
		}
		if !errors.Is(err, scheduler.ErrNotRetriable) {
			t.Fatal("bad input should not be retried")
		}
	})
	t.Run("DROPMALFORMED counts dropped rows", func(t *testing.T) {
		s := newTestSession(t, "spindle.csv.mode", "DROPMALFORMED")
		got := collect(t, ReadCSV[sale](s, path))
		if len(got) != 2 || got[0] != (sale{"north", 10.5, 1}) || got[1] != (sale{"east", 2.0, 3}) {
			t.Fatalf("rows = %+v", got)
		}
		if d := s.Summary().DroppedMalformed; d != 2 {
			t.Fatalf("DroppedMalformed = %d, want 2", d)
		}
		if !strings.Contains(s.Summary().String(), "malformed rows dropped: 2") {
			t.Fatalf("summary does not report dropped rows:\n%s", s.Summary())
		}
	})
}

// TestLostAndCorruptShuffleOutput damages a map output between two jobs over the same
// shuffle: the second job finds it missing or corrupt (data or index), recomputes
// that map output and still returns the right answer.
func TestLostAndCorruptShuffleOutput(t *testing.T) {
	for _, damage := range []string{"delete", "corrupt", "corrupt index"} {
		t.Run(damage, func(t *testing.T) {
			s := newTestSession(t, "spindle.shuffle.compress", "false")
			var maps atomic.Int64
			in := skewedPairs(8, 5000, 100)
			d := Map(Parallelize(s, in, 3), func(kv KV[string, int]) KV[string, int] { maps.Add(1); return kv })
			sums := ReduceByKey(d, func(a, b int) int { return a + b }, Partitions(2))
			want := sumByKey(in)
			if got := sortedKVs(collect(t, sums)); !slices.Equal(got, want) {
				t.Fatal("first run wrong")
			}
			files, _ := filepath.Glob(filepath.Join(s.drv.LocalDirs()[0], "shuffle_*_1.data"))
			if len(files) != 1 {
				t.Fatalf("map output files of map 1: %v", files)
			}
			switch damage {
			case "delete":
				os.Remove(strings.TrimSuffix(files[0], ".data") + ".index")
			case "corrupt":
				b, _ := os.ReadFile(files[0])
				for i := len(b) / 3; i < len(b)/3+8; i++ {
					b[i] ^= 0x5a
				}
				os.WriteFile(files[0], b, 0o644)
			case "corrupt index": // read by its own executor: a fetch failure too
				index := strings.TrimSuffix(files[0], ".data") + ".index"
				b, _ := os.ReadFile(index)
				b[len(b)/2] ^= 0x01
				os.WriteFile(index, b, 0o644)
			}
			before := maps.Load()
			if got := sortedKVs(collect(t, sums)); !slices.Equal(got, want) {
				t.Fatalf("after %s, results differ", damage)
			}
			// Only the damaged map partition ran again (its ~5000/3 records).
			if rerun := maps.Load() - before; rerun == 0 || rerun > 2000 {
				t.Fatalf("%d map records recomputed after %s of one map output", rerun, damage)
			}
		})
	}
}
