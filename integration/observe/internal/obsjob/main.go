// Command obsjob is the observability tests' job: sums by key over a shuffle of
// 8 map and 4 reduce partitions, whose map tasks each take ms, so that a test can
// watch the job while it runs.
//
//	obsjob <out> <ms>
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

// Sums adds up 100 000 numbers by their rest modulo 97.
var Sums = spindle.Register("observe-sums", func(s *spindle.Session, ms int) spindle.Dataset[spindle.KV[int, int]] {
	xs := make([]int, 100000)
	for i := range xs {
		xs[i] = i
	}
	pairs := spindle.MapPartitions(spindle.Parallelize(s, xs, 8), func(in iter.Seq[int]) iter.Seq[spindle.KV[int, int]] {
		return func(yield func(spindle.KV[int, int]) bool) {
			// The pause is the point: the test looks at the UI meanwhile.
			time.Sleep(time.Duration(ms) * time.Millisecond)
			fmt.Fprintln(os.Stderr, "obsjob: map task done sleeping")
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
		if len(os.Args) != 3 {
			return errors.New("usage: obsjob <out> <ms>")
		}
		ms, err := strconv.Atoi(os.Args[2])
		if err != nil {
			return fmt.Errorf("ms: %w", err)
		}
		return spindle.SaveAsText(ctx, Sums.Build(ctx, s, ms), os.Args[1])
	})
}
