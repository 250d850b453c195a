package memory

import (
	"sync"
	"testing"
)

type fakeEvictor struct {
	mu     sync.Mutex
	blocks []int64
}

func (f *fakeEvictor) Evict(need int64) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var freed int64
	for freed < need && len(f.blocks) > 0 {
		freed += f.blocks[0]
		f.blocks = f.blocks[1:]
	}
	return freed
}

func TestShares(t *testing.T) {
	m := NewManager(1000, 500)
	a := m.Task(1)
	if got := a.Acquire(2000); got != 1000 {
		t.Fatalf("a lone task got %d of 1000", got)
	}
	a.Release(1000)
	b := m.Task(2)
	// Two tasks: each may hold up to half.
	if got := a.Acquire(800); got != 500 {
		t.Fatalf("with two tasks a got %d, want 500", got)
	}
	if got := b.Acquire(800); got != 500 {
		t.Fatalf("with two tasks b got %d, want 500", got)
	}
	// A third task is guaranteed 1000/6: it waits until someone releases.
	c := m.Task(3)
	done := make(chan int64)
	go func() { done <- c.Acquire(100) }()
	a.Release(300)
	if got := <-done; got != 100 {
		t.Fatalf("waiting task got %d, want 100", got)
	}
	a.Close()
	b.Close()
	c.Close()
	if s := m.Stats(); s.ExecutionUsed != 0 || s.ActiveTasks != 0 {
		t.Fatalf("after Close: %+v", s)
	}
}

func TestStorageAndExecutionBorrow(t *testing.T) {
	m := NewManager(1000, 400)
	ev := &fakeEvictor{}
	m.SetEvictor(ev)
	// Storage borrows all free memory.
	for range 9 {
		if !m.AcquireStorage(100) {
			t.Fatal("storage could not borrow free memory")
		}
		ev.blocks = append(ev.blocks, 100)
	}
	task := m.Task(1)
	// Execution evicts storage down to its 400-byte region, not further.
	if got := task.Acquire(900); got != 600 {
		t.Fatalf("execution got %d, want 600 (storage keeps its 400 region)", got)
	}
	if s := m.Stats(); s.StorageUsed != 400 {
		t.Fatalf("storage used %d after eviction, want 400", s.StorageUsed)
	}
	// Storage never evicts execution: a block bigger than what is left fails.
	if m.AcquireStorage(700) {
		t.Fatal("storage took memory held by execution")
	}
	task.Close()
	if !m.AcquireStorage(500) {
		t.Fatal("storage could not use memory execution released")
	}
	if m.AcquireStorage(2000) {
		t.Fatal("a block larger than the pool was accepted")
	}
}
