package spindle

import (
	"fmt"

	"github.com/spindle-engine/spindle/internal/engine"
)

// Repartition redistributes d evenly over n partitions with a shuffle, for example to
// raise parallelism after a small input or to write fewer output files.
func Repartition[T any](d Dataset[T], n int) Dataset[T] {
	if n < 1 {
		panic(fmt.Sprintf("spindle: Repartition to %d partitions", n))
	}
	s := d.s
	sd := s.g.NewShuffle(d.n, n, false, func(tc *engine.TaskContext, part int, w engine.RecordWriter) error {
		in, err := d.iter(tc, part)
		if err != nil {
			return err
		}
		var buf []byte
		var werr error
		// Round robin, starting at a place that depends on the map partition so that
		// small partitions do not all fill reducer 0.
		next := part % n
		if err := in(func(t T) bool {
			buf = d.codec.Append(buf[:0], t)
			werr = w.Write(next, nil, buf)
			next = (next + 1) % n
			return werr == nil
		}); err != nil {
			return err
		}
		return werr
	})
	return newDataset[T](s, shuffledNode(d, sd, "Repartition"))
}

// shuffledNode reads d's elements, encoded as shuffle values, back in shuffle order.
func shuffledNode[T any](d Dataset[T], sd *engine.ShuffleDep, op string) *engine.Node {
	n := d.s.newNode(op, sd.NumParts, nil, func(tc *engine.TaskContext, part int) (any, error) {
		return seq[T](func(yield func(T) bool) error {
			r, err := tc.ReadShuffle(sd, part)
			if err != nil {
				return err
			}
			defer r.Close()
			for r.Next() {
				t, err := decodeWhole(d.codec, r.Value())
				if err != nil {
					return fmt.Errorf("decode shuffle %d value: %w", sd.ID, err)
				}
				if !yield(t) {
					return nil
				}
			}
			return r.Err()
		}), nil
	})
	n.Shuffles = []*engine.ShuffleDep{sd}
	return n
}
