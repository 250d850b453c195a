package spindle

import (
	"fmt"

	"github.com/spindle-engine/spindle/codec"
	"github.com/spindle-engine/spindle/internal/engine"
)

// Cache keeps d's partitions in the executors' storage memory once computed, so later
// actions read them instead of recomputing d's lineage. Partitions are stored encoded
// (as Spark's MEMORY_ONLY_SER), which makes their size exact for the memory manager;
// a partition that does not fit, or that is evicted for execution memory, is recomputed
// when next needed.
func Cache[T any](d Dataset[T]) Dataset[T] {
	d.n.Cache = true
	return d
}

// cachedIter serves a cached partition, computing and storing it on a miss.
func cachedIter[T any](tc *engine.TaskContext, d Dataset[T], part int) (seq[T], error) {
	if data, ok := tc.CachedBlock(d.n, part); ok {
		return decodeSeq(d.codec, data), nil
	}
	v, err := d.n.Compute(tc, part)
	if err != nil {
		return nil, err
	}
	var data []byte
	if err := v.(seq[T])(func(t T) bool {
		data = d.codec.Append(data, t)
		return true
	}); err != nil {
		return nil, err
	}
	tc.CacheBlock(d.n, part, data)
	return decodeSeq(d.codec, data), nil
}

// decodeSeq yields the values of a concatenation of self-delimiting encodings.
func decodeSeq[T any](c codec.Codec[T], data []byte) seq[T] {
	return func(yield func(T) bool) error {
		for len(data) > 0 {
			v, rest, err := c.Decode(data)
			if err != nil {
				return fmt.Errorf("decode %T: %w", v, err)
			}
			if !yield(v) {
				return nil
			}
			data = rest
		}
		return nil
	}
}
