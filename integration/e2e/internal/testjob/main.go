// Command testjob holds jobs that fail or run long on purpose, for the YARN
// end-to-end tests:
//
//	testjob panic <n>        a job whose tasks panic on every attempt
//	testjob slow <out> <ms>  a job whose tasks sleep ms per element, saving to out
//	testjob crash <code>     a job whose tasks end their executor's process
//	testjob twophase <out> <pause-ms> <map-ms>
//	                         sums by key twice over one shuffle, pausing between:
//	                         the second job's reduce tasks read the first's map outputs
package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"strconv"
	"time"

	"github.com/spindle-engine/spindle"
)

// Panics fails its tasks with a message the tests look for.
var Panics = spindle.Register("e2e-panic", func(s *spindle.Session, n int) spindle.Dataset[int] {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return spindle.Map(spindle.Parallelize(s, xs, 2), func(x int) int {
		if x == n-1 {
			panic(fmt.Sprintf("e2e boom at element %d", x))
		}
		return x
	})
})

// Slow runs long enough to be killed.
var Slow = spindle.Register("e2e-slow", func(s *spindle.Session, ms int) spindle.Dataset[int] {
	xs := make([]int, 40)
	for i := range xs {
		xs[i] = i
	}
	return spindle.Map(spindle.Parallelize(s, xs, 4), func(x int) int {
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return x
	})
})

// Crash ends the process running its tasks, as a segfaulting library would.
var Crash = spindle.Register("e2e-crash", func(s *spindle.Session, code int) spindle.Dataset[int] {
	return spindle.Map(spindle.Parallelize(s, []int{1, 2, 3, 4}, 2), func(x int) int {
		os.Exit(code)
		return x
	})
})

// Sums adds up 200 000 numbers by key over a shuffle of 8 map and 4 reduce
// partitions; its map tasks take ms each, so that executors can be killed after them.
var Sums = spindle.Register("e2e-sums", func(s *spindle.Session, ms int) spindle.Dataset[spindle.KV[int, int]] {
	xs := make([]int, 200000)
	for i := range xs {
		xs[i] = i
	}
	pairs := spindle.MapPartitions(spindle.Parallelize(s, xs, 8), func(in iter.Seq[int]) iter.Seq[spindle.KV[int, int]] {
		return func(yield func(spindle.KV[int, int]) bool) {
			time.Sleep(time.Duration(ms) * time.Millisecond)
			for x := range in {
				if !yield(spindle.KV[int, int]{Key: x % 97, Value: x}) {
					return
				}
			}
		}
	})
	return spindle.ReduceByKey(pairs, func(a, b int) int { return a + b }, spindle.Partitions(4))
})

func main() {
	spindle.Main(func(ctx context.Context, s *spindle.Session) error {
		if len(os.Args) < 3 {
			return fmt.Errorf("usage: testjob panic <n> | testjob slow <out> <ms>")
		}
		switch os.Args[1] {
		case "panic":
			n, err := strconv.Atoi(os.Args[2])
			if err != nil {
				return fmt.Errorf("panic <n>: %w", err)
			}
			_, err = spindle.Count(ctx, Panics.Build(ctx, s, n))
			return err
		case "crash":
			code, err := strconv.Atoi(os.Args[2])
			if err != nil {
				return fmt.Errorf("crash <code>: %w", err)
			}
			_, err = spindle.Count(ctx, Crash.Build(ctx, s, code))
			return err
		case "twophase":
			if len(os.Args) != 5 {
				return fmt.Errorf("usage: testjob twophase <out> <pause-ms> <map-ms>")
			}
			pause, err1 := strconv.Atoi(os.Args[3])
			mapMs, err2 := strconv.Atoi(os.Args[4])
			if err := errors.Join(err1, err2); err != nil {
				return fmt.Errorf("twophase: %w", err)
			}
			sums := Sums.Build(ctx, s, mapMs)
			n, err := spindle.Count(ctx, sums)
			if err != nil {
				return err
			}
			first := s.Summary().Tasks
			fmt.Printf("first job: %d keys, %d tasks\n", n, first)
			select { // idle executors go in the pause
			case <-time.After(time.Duration(pause) * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := spindle.SaveAsText(ctx, sums, os.Args[2]); err != nil {
				return err
			}
			fmt.Printf("second job: %d tasks\n", s.Summary().Tasks-first)
			return nil
		case "slow":
			if len(os.Args) != 4 {
				return fmt.Errorf("usage: testjob slow <out> <ms>")
			}
			ms, err := strconv.Atoi(os.Args[3])
			if err != nil {
				return fmt.Errorf("slow <ms>: %w", err)
			}
			return spindle.SaveAsText(ctx, Slow.Build(ctx, s, ms), os.Args[2])
		}
		return fmt.Errorf("unknown mode %q", os.Args[1])
	})
}
