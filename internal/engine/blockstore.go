package engine

import (
	"container/list"
	"sync"

	"github.com/spindle-engine/spindle/executor/memory"
)

type blockID struct{ node, part int }

// BlockStore holds cached partitions, encoded, in storage memory: least recently used
// blocks are evicted first when execution or another block needs room.
type BlockStore struct {
	mu     sync.Mutex
	mem    *memory.Manager
	blocks map[blockID]*list.Element
	lru    *list.List // of *block, front = most recent
}

type block struct {
	id   blockID
	data []byte
}

// NewBlockStore makes a store whose blocks mem accounts and may evict.
func NewBlockStore(mem *memory.Manager) *BlockStore {
	bs := &BlockStore{mem: mem, blocks: map[blockID]*list.Element{}, lru: list.New()}
	mem.SetEvictor(bs)
	return bs
}

func (bs *BlockStore) get(id blockID) ([]byte, bool) {
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
func (bs *BlockStore) put(id blockID, data []byte) bool {
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
func (bs *BlockStore) Evict(need int64) int64 {
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

// CachedBlock returns node n's partition part as cached in this executor, encoded.
func (tc *TaskContext) CachedBlock(n *Node, part int) ([]byte, bool) {
	return tc.env.Blocks.get(blockID{n.ID, part})
}

// CacheBlock keeps node n's encoded partition part, if storage memory allows; a
// partition that does not fit is recomputed when next needed.
func (tc *TaskContext) CacheBlock(n *Node, part int, data []byte) {
	tc.env.Blocks.put(blockID{n.ID, part}, data)
}
