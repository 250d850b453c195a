package main

import (
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spindle-engine/spindle"
	"github.com/spindle-engine/spindle/integration/faults/internal/gen"
)

// The lead's modes: counting words with pauses a test can kill into, user code
// that fails, sorting generated records bigger than the executors' memory, a
// vocabulary of millions of distinct words, and a task that outgrows its container.
func init() {
	modes["wordcount"] = mode{"<in> <out> <map-ms> <reduce-ms>", runWordCount}
	modes["flaky"] = mode{"<out> <partition> once|always", runFlaky}
	modes["sort"] = mode{"<out> <records> <partitions>", runSort}
	modes["vocab"] = mode{"<out> <words> <partitions>", runVocab}
	modes["hog"] = mode{"<mib>", runHog}
}

// countArgs is the word count's argument: pauses give a test a window in which a
// map or a reduce stage is running.
type countArgs struct {
	In       string
	MapMs    int
	ReduceMs int
}

// WordCount counts words, pausing MapMs before each map task's first line and
// ReduceMs before each reduce task's first key; each task says on stderr when it
// starts, which is how a test knows which stage an executor runs.
var WordCount = spindle.Register("faults-wordcount", func(s *spindle.Session, a countArgs) spindle.Dataset[string] {
	lines := spindle.MapPartitions(spindle.ReadText(s, a.In), func(in iter.Seq[string]) iter.Seq[string] {
		return func(yield func(string) bool) {
			fmt.Fprintln(os.Stderr, "faultjob: map task started")
			pause(a.MapMs)
			for l := range in {
				if !yield(l) {
					return
				}
			}
		}
	})
	words := spindle.FlatMapFunc(lines, func(line string, yield func(spindle.KV[string, int]) bool) {
		for w := range strings.FieldsSeq(line) {
			if !yield(spindle.KV[string, int]{Key: w, Value: 1}) {
				return
			}
		}
	})
	counts := spindle.ReduceByKey(words, func(a, b int) int { return a + b }, spindle.Partitions(4))
	return spindle.MapPartitions(counts, func(in iter.Seq[spindle.KV[string, int]]) iter.Seq[string] {
		return func(yield func(string) bool) {
			fmt.Fprintln(os.Stderr, "faultjob: reduce task started")
			pause(a.ReduceMs)
			for kv := range in {
				if !yield(kv.Key + "\t" + strconv.Itoa(kv.Value)) {
					return
				}
			}
		}
	})
})

func pause(ms int) { time.Sleep(time.Duration(ms) * time.Millisecond) }

func runWordCount(ctx context.Context, s *spindle.Session, args []string) error {
	if len(args) != 4 {
		return fmt.Errorf("usage: faultjob wordcount <in> <out> <map-ms> <reduce-ms>")
	}
	mapMs, err1 := strconv.Atoi(args[2])
	reduceMs, err2 := strconv.Atoi(args[3])
	if err1 != nil || err2 != nil {
		return fmt.Errorf("wordcount: pauses %q %q are not milliseconds", args[2], args[3])
	}
	return spindle.SaveAsText(ctx, WordCount.Build(ctx, s, countArgs{In: args[0], MapMs: mapMs, ReduceMs: reduceMs}), args[1])
}

// flakyArgs names the partition whose user code fails, and whether only its first
// attempt fails.
type flakyArgs struct {
	Partition int
	Once      bool
	// Marker is where the first attempt leaves a trace for the next: the test
	// cluster's containers all run on this machine.
	Marker string
}

// Flaky squares 0..99 in 10 partitions; the elements of Partition fail in user
// code, on its first attempt only or on every attempt.
var Flaky = spindle.Register("faults-flaky", func(s *spindle.Session, a flakyArgs) spindle.Dataset[int] {
	xs := make([]int, 100)
	for i := range xs {
		xs[i] = i
	}
	return spindle.Map(spindle.Parallelize(s, xs, 10), func(x int) int {
		if x == a.Partition*10 {
			if !a.Once {
				panic(fmt.Sprintf("faultjob: element %d always fails", x))
			}
			if _, err := os.Stat(a.Marker); err != nil {
				if f, err := os.Create(a.Marker); err == nil {
					f.Close()
				}
				panic(fmt.Sprintf("faultjob: element %d fails its first attempt", x))
			}
		}
		return x * x
	})
})

func runFlaky(ctx context.Context, s *spindle.Session, args []string) error {
	if len(args) != 3 || (args[2] != "once" && args[2] != "always") {
		return fmt.Errorf("usage: faultjob flaky <out> <partition> once|always")
	}
	p, err := strconv.Atoi(args[1])
	if err != nil {
		return fmt.Errorf("flaky: partition %q: %w", args[1], err)
	}
	marker := filepath.Join(os.TempDir(), "faultjob-flaky-"+os.Getenv("SPINDLE_APP_ID")+"-"+strconv.Itoa(p))
	return spindle.SaveAsText(ctx, Flaky.Build(ctx, s, flakyArgs{Partition: p, Once: args[2] == "once", Marker: marker}), args[0])
}

// genArgs describes generated records: n of them, made in parts map partitions.
type genArgs struct {
	N     int
	Parts int
}

// generate yields records [p*n/parts, (p+1)*n/parts) for each of parts partitions.
func generate(s *spindle.Session, a genArgs, rec func(int) string) spindle.Dataset[string] {
	idx := make([]int, a.Parts)
	for i := range idx {
		idx[i] = i
	}
	return spindle.FlatMapFunc(spindle.Parallelize(s, idx, a.Parts), func(p int, yield func(string) bool) {
		for i := p * a.N / a.Parts; i < (p+1)*a.N/a.Parts; i++ {
			if !yield(rec(i)) {
				return
			}
		}
	})
}

// Sort sorts generated records by their whole line and reduces each sorted
// partition to one summary line: "index count first last order-ok hash", so
// that gigabytes are checked without being written.
var Sort = spindle.Register("faults-sort", func(s *spindle.Session, a genArgs) spindle.Dataset[string] {
	sorted := spindle.SortBy(generate(s, a, gen.Record), func(r string) string { return r }, true, spindle.Partitions(a.Parts))
	return summarize(sorted)
})

func summarize(d spindle.Dataset[string]) spindle.Dataset[string] {
	return spindle.MapPartitions(d, func(in iter.Seq[string]) iter.Seq[string] {
		return func(yield func(string) bool) {
			var n int
			var first, last string
			var sum uint64
			ordered := true
			for r := range in {
				if n == 0 {
					first = r
				} else if r < last {
					ordered = false
				}
				last = r
				n++
				sum += gen.LineHash(r)
			}
			yield(fmt.Sprintf("%d %s %s %t %d", n, first, last, ordered, sum))
		}
	})
}

// Vocab counts a vocabulary of N distinct words, each seen twice, in Parts map
// partitions: every map task's combiner sees millions of distinct keys.
var Vocab = spindle.Register("faults-vocab", func(s *spindle.Session, a genArgs) spindle.Dataset[string] {
	words := generate(s, genArgs{N: 2 * a.N, Parts: a.Parts}, func(i int) string { return "w" + strconv.Itoa(i%a.N) })
	ones := spindle.Map(words, func(w string) spindle.KV[string, int] { return spindle.KV[string, int]{Key: w, Value: 1} })
	counts := spindle.ReduceByKey(ones, func(a, b int) int { return a + b }, spindle.Partitions(a.Parts))
	return summarize(spindle.Map(counts, func(kv spindle.KV[string, int]) string { return kv.Key + ":" + strconv.Itoa(kv.Value) }))
})

func runGenerated(ctx context.Context, s *spindle.Session, args []string, job *spindle.Job[genArgs, string]) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: <out> <records> <partitions>")
	}
	n, err1 := strconv.Atoi(args[1])
	parts, err2 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil || n < 1 || parts < 1 {
		return fmt.Errorf("records %q and partitions %q must be positive integers", args[1], args[2])
	}
	return spindle.SaveAsText(ctx, job.Build(ctx, s, genArgs{N: n, Parts: parts}), args[0])
}

func runSort(ctx context.Context, s *spindle.Session, args []string) error {
	return runGenerated(ctx, s, args, Sort)
}

func runVocab(ctx context.Context, s *spindle.Session, args []string) error {
	return runGenerated(ctx, s, args, Vocab)
}

// Hog holds MiB mebibytes of touched memory in one task, outgrowing any container
// smaller than that.
var Hog = spindle.Register("faults-hog", func(s *spindle.Session, mib int) spindle.Dataset[int] {
	return spindle.Map(spindle.Parallelize(s, []int{0}, 1), func(int) int {
		var keep [][]byte
		for range mib {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = byte(i)
			}
			keep = append(keep, b)
		}
		time.Sleep(time.Minute) // held until YARN's monitor sees it
		return len(keep)
	})
})

func runHog(ctx context.Context, s *spindle.Session, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: faultjob hog <mib>")
	}
	mib, err := strconv.Atoi(args[0])
	if err != nil {
		return fmt.Errorf("hog: %q is not a number of MiB: %w", args[0], err)
	}
	_, err = spindle.Count(ctx, Hog.Build(ctx, s, mib))
	return err
}
