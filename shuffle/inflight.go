package shuffle

import (
	"container/list"
	"context"
	"fmt"
	"sync"
)

// InFlight bounds the bytes a reducer has fetched but not yet consumed
// (spindle.reducer.maxSizeInFlight): a fetch acquires a block's size before it asks
// for it and releases it once the block is consumed. Waiters are served in order,
// so a large block is not starved by small ones; a block larger than the whole limit
// is admitted alone, when nothing else is in flight, so it still goes through. It
// is safe for concurrent use.
type InFlight struct {
	limit int64

	mu      sync.Mutex
	used    int64
	waiters list.List // of *waiter, oldest first
}

type waiter struct {
	n     int64
	ready chan struct{} // closed when granted
}

// NewInFlight returns a limiter of limit bytes; limit ≤ 0 means no limit.
func NewInFlight(limit int64) *InFlight {
	return &InFlight{limit: limit}
}

// fits reports whether n bytes may go now; mu is held.
func (l *InFlight) fits(n int64) bool {
	return l.limit <= 0 || l.used+n <= l.limit || l.used == 0
}

// Acquire waits until n bytes may be in flight, or ctx ends (then it holds
// nothing and returns ctx's error).
func (l *InFlight) Acquire(ctx context.Context, n int64) error {
	if n < 0 {
		return fmt.Errorf("in-flight limiter: acquire %d bytes", n)
	}
	l.mu.Lock()
	if l.waiters.Len() == 0 && l.fits(n) {
		l.used += n
		l.mu.Unlock()
		return nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	e := l.waiters.PushBack(w)
	l.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		select {
		case <-w.ready:
			// Granted while giving up: hand the bytes back.
			l.used -= n
		default:
			l.waiters.Remove(e)
		}
		l.grant()
		l.mu.Unlock()
		return ctx.Err()
	}
}

// TryAcquire takes n bytes if they may go now without waiting.
func (l *InFlight) TryAcquire(n int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 0 || l.waiters.Len() > 0 || !l.fits(n) {
		return false
	}
	l.used += n
	return true
}

// Release gives back n bytes acquired earlier.
func (l *InFlight) Release(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.used -= n
	if l.used < 0 {
		panic(fmt.Sprintf("in-flight limiter: released %d bytes more than acquired", -l.used))
	}
	l.grant()
}

// InUse returns the bytes in flight now.
func (l *InFlight) InUse() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.used
}

// grant admits waiters in order while they fit; mu is held.
func (l *InFlight) grant() {
	for e := l.waiters.Front(); e != nil; e = l.waiters.Front() {
		w := e.Value.(*waiter)
		if !l.fits(w.n) {
			return
		}
		l.used += w.n
		l.waiters.Remove(e)
		close(w.ready)
	}
}
