// Command tasks measures the scheduler: many no-op tasks, or a two-stage shuffle of
// tiny data over many partitions, so that per-task overhead is all there is.
//
//	spindle submit --master local[2] ./tasks noop 100000
//	spindle submit --master local[2] ./tasks shuffle 1000 1000
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/spindle-engine/spindle"
)

// Shape is a workload's size: M map partitions (one element each) and R reducers.
type Shape struct{ M, R int }

// Noop counts M one-element partitions: M tasks that do nothing.
var Noop = spindle.Register("bench-noop", func(s *spindle.Session, sh Shape) spindle.Dataset[int] {
	return spindle.Parallelize(s, seq(sh.M), sh.M)
})

// Shuffle sends M elements from M map tasks to R reduce tasks.
var Shuffle = spindle.Register("bench-shuffle", func(s *spindle.Session, sh Shape) spindle.Dataset[spindle.KV[int, int]] {
	kv := spindle.Map(spindle.Parallelize(s, seq(sh.M), sh.M), func(x int) spindle.KV[int, int] {
		return spindle.KV[int, int]{Key: x % sh.R, Value: 1}
	})
	return spindle.ReduceByKey(kv, func(a, b int) int { return a + b }, spindle.Partitions(sh.R))
})

func seq(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}

func main() {
	spindle.Main(func(ctx context.Context, s *spindle.Session) error {
		args := os.Args[1:]
		atoi := func(i int) (int, error) {
			if i >= len(args) {
				return 0, fmt.Errorf("usage: tasks noop <n> | tasks shuffle <maps> <reducers>")
			}
			return strconv.Atoi(args[i])
		}
		m, err := atoi(1)
		if err != nil {
			return err
		}
		switch args[0] {
		case "noop":
			n, err := spindle.Count(ctx, Noop.Build(ctx, s, Shape{M: m}))
			fmt.Println(n)
			return err
		case "shuffle":
			r, err := atoi(2)
			if err != nil {
				return err
			}
			n, err := spindle.Count(ctx, Shuffle.Build(ctx, s, Shape{M: m, R: r}))
			fmt.Println(n)
			return err
		}
		return fmt.Errorf("unknown workload %q: want noop or shuffle", args[0])
	})
}
