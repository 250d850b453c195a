// Package memory is an executor's unified memory manager, Spark's model: execution
// (shuffle buffers, aggregation maps, sorts) and storage (cached partitions) share one
// pool of (executor memory − 300 MB reserved) × spindle.memory.fraction. Either side
// borrows the other's free room; execution may evict cached blocks until storage is
// back within its region (pool × spindle.memory.storageFraction), storage never evicts
// execution. Among N running tasks each may hold up to 1/N of the execution memory
// and is guaranteed 1/(2N) before it has to spill.
package memory

import "sync"

// Evictor drops cached blocks to free storage memory; it returns the bytes freed. It
// must not call back into the Manager.
type Evictor interface {
	Evict(need int64) (freed int64)
}

// Stats is a snapshot of the pool.
type Stats struct {
	Unified, StorageRegion     int64
	ExecutionUsed, StorageUsed int64
	PeakExecution, PeakStorage int64
	ActiveTasks                int
}

// Manager accounts an executor's memory. It is safe for concurrent use.
type Manager struct {
	mu            sync.Mutex
	cond          *sync.Cond
	unified       int64
	storageRegion int64
	storageUsed   int64
	execUsed      int64
	tasks         map[int64]int64 // task → execution bytes held
	evictor       Evictor
	peakExec      int64
	peakStorage   int64
}

// NewManager makes a pool of unified bytes whose storage region is storageRegion.
func NewManager(unified, storageRegion int64) *Manager {
	m := &Manager{unified: unified, storageRegion: min(storageRegion, unified), tasks: map[int64]int64{}}
	m.cond = sync.NewCond(&m.mu)
	return m
}

// SetEvictor registers what drops cached blocks when memory is needed.
func (m *Manager) SetEvictor(e Evictor) {
	m.mu.Lock()
	m.evictor = e
	m.mu.Unlock()
}

// Stats reports the pool's use.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{Unified: m.unified, StorageRegion: m.storageRegion, ExecutionUsed: m.execUsed, StorageUsed: m.storageUsed,
		PeakExecution: m.peakExec, PeakStorage: m.peakStorage, ActiveTasks: len(m.tasks)}
}

// evict frees up to need bytes of storage; the caller holds m.mu.
func (m *Manager) evict(need int64) int64 {
	if m.evictor == nil || need <= 0 {
		return 0
	}
	freed := min(m.evictor.Evict(need), m.storageUsed)
	m.storageUsed -= freed
	return freed
}

// AcquireStorage reserves n bytes for a cached block, evicting other blocks if it
// must; false means the block does not fit and should not be cached.
func (m *Manager) AcquireStorage(n int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n > m.unified-m.execUsed {
		return false // evicting blocks could not make room: execution is never evicted
	}
	if free := m.unified - m.execUsed - m.storageUsed; n > free {
		m.evict(n - free)
	}
	if n > m.unified-m.execUsed-m.storageUsed {
		return false
	}
	m.storageUsed += n
	m.peakStorage = max(m.peakStorage, m.storageUsed)
	return true
}

// ReleaseStorage returns n bytes of storage memory.
func (m *Manager) ReleaseStorage(n int64) {
	m.mu.Lock()
	m.storageUsed = max(0, m.storageUsed-n)
	m.mu.Unlock()
	m.cond.Broadcast()
}

// Task registers a running task and returns its handle for execution memory.
func (m *Manager) Task(taskID int64) *TaskMemory {
	m.mu.Lock()
	m.tasks[taskID] = 0
	m.mu.Unlock()
	m.cond.Broadcast() // the share of every other task just shrank
	return &TaskMemory{m: m, id: taskID}
}

// TaskMemory is one task's execution memory.
type TaskMemory struct {
	m  *Manager
	id int64
}

// Acquire asks for n bytes and returns how many were granted, from 0 to n. A task
// below its guaranteed 1/(2N) share waits for others to release; above it, it gets
// what is free now and should spill for the rest.
func (t *TaskMemory) Acquire(n int64) int64 {
	m := t.m
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		held, ok := m.tasks[t.id]
		if !ok {
			return 0 // closed
		}
		active := int64(len(m.tasks))
		// Storage within its region cannot be evicted, so it bounds the pool.
		pool := m.unified - min(m.storageUsed, m.storageRegion)
		maxPerTask, minPerTask := pool/active, pool/(2*active)
		want := min(n, max(0, maxPerTask-held))
		if free := m.unified - m.execUsed - m.storageUsed; want > free {
			// Reclaim storage borrowed beyond its region.
			m.evict(min(want-free, m.storageUsed-m.storageRegion))
		}
		granted := min(want, max(0, m.unified-m.execUsed-m.storageUsed))
		if granted < n && held+granted < minPerTask {
			m.cond.Wait()
			continue
		}
		m.tasks[t.id] = held + granted
		m.execUsed += granted
		m.peakExec = max(m.peakExec, m.execUsed)
		return granted
	}
}

// Release returns n bytes.
func (t *TaskMemory) Release(n int64) {
	m := t.m
	m.mu.Lock()
	if held, ok := m.tasks[t.id]; ok {
		n = min(n, held)
		m.tasks[t.id] = held - n
		m.execUsed -= n
	}
	m.mu.Unlock()
	m.cond.Broadcast()
}

// Used reports the bytes the task holds.
func (t *TaskMemory) Used() int64 {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	return t.m.tasks[t.id]
}

// Close releases everything the task holds and unregisters it.
func (t *TaskMemory) Close() {
	m := t.m
	m.mu.Lock()
	m.execUsed -= m.tasks[t.id]
	delete(m.tasks, t.id)
	m.mu.Unlock()
	m.cond.Broadcast()
}
