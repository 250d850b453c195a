package spindle

import (
	"github.com/spindle-engine/spindle/codec"
	"github.com/spindle-engine/spindle/internal/engine"
)

// ShuffleOption tunes an operator that shuffles.
type ShuffleOption func(*shuffleOpts)

type shuffleOpts struct{ partitions int }

// Partitions sets the number of partitions an operator's output has. Without it, the
// output has spindle.default.parallelism partitions if set, else as many as the
// largest input, as Spark's RDD operators do.
func Partitions(n int) ShuffleOption {
	return func(o *shuffleOpts) { o.partitions = n }
}

func (s *Session) reducePartitions(opts []ShuffleOption, parents ...*engine.Node) int {
	var o shuffleOpts
	for _, f := range opts {
		f(&o)
	}
	if o.partitions > 0 {
		return o.partitions
	}
	if p := s.g.DefaultParallelism(); p > 0 {
		return p
	}
	n := 1
	for _, p := range parents {
		n = max(n, p.NumParts)
	}
	return n
}

// kvEncoder encodes keyed records into reusable buffers and hash-partitions them by
// the encoded key, so that every process sends a key to the same reducer.
type kvEncoder[K, V any] struct {
	kc     codec.Codec[K]
	vc     codec.Codec[V]
	kb, vb []byte
}

func newKVEncoder[K, V any]() *kvEncoder[K, V] {
	return &kvEncoder[K, V]{kc: mustKeyCodec[K](), vc: mustCodec[V]()}
}

func (e *kvEncoder[K, V]) write(w engine.RecordWriter, nparts int, k K, v V) error {
	e.kb = e.kc.Append(e.kb[:0], k)
	e.vb = e.vc.Append(e.vb[:0], v)
	return w.Write(int(codec.Hash(e.kb)%uint64(nparts)), e.kb, e.vb)
}

// mustKeyCodec resolves K's shuffle key codec; like mustCodec, an unencodable key
// type is found when the plan is built.
func mustKeyCodec[K any]() codec.Codec[K] {
	c, err := codec.Key[K]()
	if err != nil {
		panic("spindle: key type is not encodable: " + err.Error())
	}
	return c
}

// decodeWhole decodes a value that must fill b.
func decodeWhole[T any](c codec.Codec[T], b []byte) (T, error) {
	v, _, err := c.Decode(b)
	return v, err
}
