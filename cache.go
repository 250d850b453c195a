package spindle

import (
	"container/list"
	"fmt"
	"sync"

	"github.com/spindle-engine/spindle/codec"
	"github.com/spindle-engine/spindle/executor/memory"
)

// Cache keeps d's partitions in the executors' storage memory once computed, so later
// actions read them instead of recomputing d's lineage. Partitions are stored encoded
// (as Spark's MEMORY_ONLY_SER), which makes their size exact for the memory manager;
// a partition that does not fit, or that is evicted for execution memory, is recomputed
// when next needed.
func Cache[T any](d Dataset[T]) Dataset[T] {
	d.n.cache = true
	return d
}

type blockID struct{ node, part int }

// blockStore holds cached partitions in storage memory, least recently used evicted
// first when execution or another block needs room.
type blockStore struct {
	mu     sync.Mutex
	mem    *memory.Manager
	blocks map[blockID]*list.Element
	lru    *list.List // of *block, front = most recent
}

type block struct {
	id   blockID
	data []byte
}

func newBlockStore(mem *memory.Manager) *blockStore {
	bs := &blockStore{mem: mem, blocks: map[blockID]*list.Element{}, lru: list.New()}
	mem.SetEvictor(bs)
	return bs
}

func (bs *blockStore) get(id blockID) ([]byte, bool) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	e, ok := bs.blocks[id]
	if !ok {
		return nil, false
	}
	bs.lru.MoveToFront(e)
	return e.Value.(*block).data, true
}

// put stores data if storage memory can be had for it.
func (bs *blockStore) put(id blockID, data []byte) bool {
	if !bs.mem.AcquireStorage(int64(len(data))) {
		return false
	}
	bs.mu.Lock()
	_, dup := bs.blocks[id]
	if !dup {
		bs.blocks[id] = bs.lru.PushFront(&block{id: id, data: data})
	}
	bs.mu.Unlock()
	if dup { // another task stored the same partition first
		bs.mem.ReleaseStorage(int64(len(data)))
	}
	return true
}

// Evict drops least recently used blocks until need bytes are freed; the memory
// manager calls it when execution memory or a new block needs the room.
func (bs *blockStore) Evict(need int64) int64 {
	bs.mu.Lock()
	var freed int64
	for freed < need && bs.lru.Len() > 0 {
		b := bs.lru.Remove(bs.lru.Back()).(*block)
		delete(bs.blocks, b.id)
		freed += int64(len(b.data))
	}
	bs.mu.Unlock()
	return freed
}

// cachedIter serves a cached partition, computing and storing it on a miss.
func cachedIter[T any](tc *taskContext, d Dataset[T], part int) (seq[T], error) {
	id := blockID{d.n.id, part}
	if data, ok := tc.env.blocks.get(id); ok {
		return decodeSeq(d.codec, data), nil
	}
	v, err := d.n.compute(tc, part)
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
	tc.env.blocks.put(id, data)
	return decodeSeq(d.codec, data), nil
}

// decodeSeq yields the values of a concatenation of self-delimiting encodings.
func decodeSeq[T any](c codec.Codec[T], data []byte) seq[T] {
	return func(yield func(T) bool) error {
		for len(data) > 0 {
			v, rest, err := c.Decode(data)
			if err != nil {
				return fmt.Errorf("decode cached block: %w", err)
			}
			if !yield(v) {
				return nil
			}
			data = rest
		}
		return nil
	}
}
