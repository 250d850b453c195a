package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spindle-engine/spindle"
)

// The modes of helper ha's tests: a node whose executors fail every task, and a
// straggling task for speculation to copy.
func init() {
	modes["badnode"] = mode{"<out> <marker> <partitions>", runBadNode}
	modes["straggler"] = mode{"<out> <marker> <partitions> <task-ms> <straggle-ms>", runStraggler}
}

// badNodeArgs names the node (NM_HOST:NM_PORT) on which every task fails.
type badNodeArgs struct {
	Node     string
	Parts    int
	MapMs    int
	ReduceMs int
}

// BadNode squares 0..10·Parts-1 in Parts map tasks of MapMs each, then shuffles the squares into
// two reduce tasks that each pause ReduceMs; every task that runs in a container
// of Node fails, as on a node with a broken disk. The reduce stage is what runs
// once the map stage's failures excluded the node for the application.
var BadNode = spindle.Register("faults-badnode", func(s *spindle.Session, a badNodeArgs) spindle.Dataset[string] {
	xs := make([]int, 10*a.Parts)
	for i := range xs {
		xs[i] = i
	}
	failHere := func(what string) {
		if here := os.Getenv("NM_HOST") + ":" + os.Getenv("NM_PORT"); here == a.Node {
			panic(fmt.Sprintf("faultjob: node %s fails every task (%s)", here, what))
		}
	}
	squares := spindle.Map(spindle.Parallelize(s, xs, a.Parts), func(x int) spindle.KV[int, int] {
		failHere("element " + strconv.Itoa(x))
		if x%10 == 0 {
			pause(a.MapMs) // once per partition: both executors get map tasks
		}
		return spindle.KV[int, int]{Key: x, Value: x * x}
	})
	byKey := spindle.ReduceByKey(squares, func(a, b int) int { return a + b }, spindle.Partitions(2))
	return spindle.MapPartitions(byKey, func(in iter.Seq[spindle.KV[int, int]]) iter.Seq[string] {
		return func(yield func(string) bool) {
			failHere("reduce")
			pause(a.ReduceMs)
			for kv := range in {
				if !yield(strconv.Itoa(kv.Key) + "\t" + strconv.Itoa(kv.Value)) {
					return
				}
			}
		}
	})
})

// runBadNode waits for the test to name the bad node in the marker file (it picks
// one of the executors' nodes once they run), then runs BadNode.
func runBadNode(ctx context.Context, s *spindle.Session, args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: faultjob badnode <out> <marker> <partitions>")
	}
	parts, err := strconv.Atoi(args[2])
	if err != nil || parts < 1 {
		return fmt.Errorf("badnode: partitions %q: want a positive integer", args[2])
	}
	node, err := awaitMarker(ctx, args[1], 3*time.Minute)
	if err != nil {
		return err
	}
	return spindle.SaveAsText(ctx, BadNode.Build(ctx, s, badNodeArgs{Node: node, Parts: parts, MapMs: 300, ReduceMs: 4000}), args[0])
}

// awaitMarker returns the trimmed content of the local file marker once it exists.
// The test cluster's containers run on the test's machine, which writes it.
func awaitMarker(ctx context.Context, marker string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(marker)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			return strings.TrimSpace(string(b)), nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("marker %s: %w", marker, err)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("marker %s: not written within %v", marker, timeout)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond): // polling: the test writes it
		}
	}
}

// stragglerArgs shape the straggler job: Parts tasks of TaskMs each, except the
// first attempt of partition 0, which takes StraggleMs. Marker is where that
// attempt leaves its trace, so that its copy runs at the normal pace.
type stragglerArgs struct {
	Parts      int
	TaskMs     int
	StraggleMs int
	Marker     string
}

// Straggler squares 0..10·Parts-1 in Parts partitions; each task takes TaskMs but
// partition 0's first attempt, which takes StraggleMs.
var Straggler = spindle.Register("faults-straggler", func(s *spindle.Session, a stragglerArgs) spindle.Dataset[string] {
	idx := make([]int, a.Parts)
	for i := range idx {
		idx[i] = i
	}
	return spindle.FlatMapFunc(spindle.Parallelize(s, idx, a.Parts), func(p int, yield func(string) bool) {
		ms := a.TaskMs
		if p == 0 {
			if f, err := os.OpenFile(a.Marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); err == nil {
				f.Close()
				ms = a.StraggleMs
				fmt.Fprintln(os.Stderr, "faultjob: straggler started")
			} else {
				fmt.Fprintln(os.Stderr, "faultjob: copy of the straggler started")
			}
		}
		pause(ms)
		for x := p * 10; x < (p+1)*10; x++ {
			if !yield(strconv.Itoa(x) + "\t" + strconv.Itoa(x*x)) {
				return
			}
		}
	})
})

func runStraggler(ctx context.Context, s *spindle.Session, args []string) error {
	if len(args) != 5 {
		return fmt.Errorf("usage: faultjob straggler <out> <marker> <partitions> <task-ms> <straggle-ms>")
	}
	var n [3]int
	for i, a := range args[2:] {
		v, err := strconv.Atoi(a)
		if err != nil || v < 1 {
			return fmt.Errorf("straggler: %q: want a positive integer", a)
		}
		n[i] = v
	}
	return spindle.SaveAsText(ctx, Straggler.Build(ctx, s, stragglerArgs{Parts: n[0], TaskMs: n[1], StraggleMs: n[2], Marker: args[1]}), args[0])
}
