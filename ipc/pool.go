package ipc

import (
	"context"
	"errors"
	"sync"
)

// Pool shares one connection per (address, protocol, user, credentials)
// among the clients that use it. The zero value is not usable; call
// NewPool. A Pool owns its connections: each ends when idle, broken, or
// when its last client closes.
type Pool struct {
	mu      sync.Mutex
	entries map[string]*poolEntry
}

// poolEntry is the slot of one key. sem serialises connecting so that
// concurrent first calls share one dial.
type poolEntry struct {
	refs     int
	sem      chan struct{}
	conn     *conn // guarded by sem
	released bool  // guarded by sem; set once the last client closed
}

var defaultPool = NewPool()

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{entries: make(map[string]*poolEntry)}
}

func (p *Pool) entry(key string) *poolEntry {
	e := p.entries[key]
	if e == nil {
		e = &poolEntry{sem: make(chan struct{}, 1)}
		p.entries[key] = e
	}
	return e
}

func (p *Pool) acquire(key string) {
	p.mu.Lock()
	p.entry(key).refs++
	p.mu.Unlock()
}

// release drops a client's reference and closes the connection when it
// was the last one.
func (p *Pool) release(key string) {
	p.mu.Lock()
	e := p.entries[key]
	if e == nil {
		p.mu.Unlock()
		return
	}
	e.refs--
	if e.refs > 0 {
		p.mu.Unlock()
		return
	}
	delete(p.entries, key)
	p.mu.Unlock()
	// Wait for a dial in progress to finish so its connection is closed too.
	e.sem <- struct{}{}
	e.released = true
	if e.conn != nil {
		e.conn.close(errConnReleased)
	}
	<-e.sem
}

var errConnReleased = errors.New("ipc: connection released by its clients")

// get returns a live connection for key, dialing one when there is none.
func (p *Pool) get(ctx context.Context, key string, cfg *Config) (*conn, error) {
	p.mu.Lock()
	e := p.entries[key]
	p.mu.Unlock()
	if e == nil {
		return nil, ErrClientClosed
	}
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-e.sem }()
	if e.released {
		return nil, ErrClientClosed
	}
	if e.conn != nil && e.conn.usable() {
		return e.conn, nil
	}
	c, err := dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	e.conn = c
	return c, nil
}
