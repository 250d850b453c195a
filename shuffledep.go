package spindle

import (
	"context"
	"sync"

	"github.com/spindle-engine/spindle/codec"
)

// recordWriter receives a map task's encoded records; *shuffle.Writer implements it.
type recordWriter interface {
	Write(partition int, key, value []byte) error
}

// shuffleDep is a wide dependency: the map side (parent's partitions) writes records
// to nparts reduce partitions, which the reduce side reads back merged.
type shuffleDep struct {
	id     int
	parent *node
	nparts int
	// sorted asks the writer to sort each partition by key bytes, so that reducers can
	// group equal keys by merging instead of hashing.
	sorted bool
	// write computes map partition part of the parent and writes its records.
	write func(tc *taskContext, part int, w recordWriter) error
	// prepare, when set, runs on the driver once before the map stage first runs: a
	// range partitioner samples its input there.
	prepare     func(ctx context.Context) error
	prepareOnce sync.Once
	prepareErr  error
	// state is what prepare found (a range partitioner's bounds); map tasks get it
	// in taskContext.shuffleState, so that it reaches remote executors as data.
	state []byte
	// sample, set by SortBy, computes one partition's key sample for prepare.
	sample func(tc *taskContext, part, limit int) ([]byte, error)
}

// ensurePrepared runs the dependency's preparation once per session.
func (sd *shuffleDep) ensurePrepared(ctx context.Context) error {
	if sd.prepare == nil {
		return nil
	}
	sd.prepareOnce.Do(func() { sd.prepareErr = sd.prepare(ctx) })
	return sd.prepareErr
}

// ShuffleOption tunes an operator that shuffles.
type ShuffleOption func(*shuffleOpts)

type shuffleOpts struct{ partitions int }

// Partitions sets the number of partitions an operator's output has. Without it, the
// output has spindle.default.parallelism partitions if set, else as many as the
// largest input, as Spark's RDD operators do.
func Partitions(n int) ShuffleOption {
	return func(o *shuffleOpts) { o.partitions = n }
}

func (s *Session) reducePartitions(opts []ShuffleOption, parents ...*node) int {
	var o shuffleOpts
	for _, f := range opts {
		f(&o)
	}
	if o.partitions > 0 {
		return o.partitions
	}
	if p := s.defaultParallelism(); p > 0 {
		return p
	}
	n := 1
	for _, p := range parents {
		n = max(n, p.nparts)
	}
	return n
}

func (s *Session) newShuffle(parent *node, nparts int, sorted bool, write func(tc *taskContext, part int, w recordWriter) error) *shuffleDep {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextShuffle++
	sd := &shuffleDep{id: s.nextShuffle, parent: parent, nparts: nparts, sorted: sorted, write: write}
	if s.building != nil {
		s.building.shuffles[sd.id] = sd
	}
	return sd
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

func (e *kvEncoder[K, V]) write(w recordWriter, nparts int, k K, v V) error {
	e.kb = e.kc.Append(e.kb[:0], k)
	e.vb = e.vc.Append(e.vb[:0], v)
	return w.Write(int(codec.Hash(e.kb)%uint64(nparts)), e.kb, e.vb)
}

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
