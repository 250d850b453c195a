// Package nettest holds what tests of Spindle's wire protocols share: a TCP proxy
// that records what crosses it, to replay a client's bytes or look for a marker on
// the socket.
package nettest

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Tap forwards each connection to a server and records what the client sent, per
// connection, and everything the server answered.
type Tap struct {
	lis  net.Listener
	mu   sync.Mutex
	sent [][]byte // per finished connection, in the order they ended
	got  bytes.Buffer
	wg   sync.WaitGroup
}

// NewTap listens on loopback and forwards to addr until the test ends.
func NewTap(t testing.TB, addr string) *Tap {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Tap{lis: lis}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			var sent bytes.Buffer
			p.wg.Add(2)
			go func() {
				defer p.wg.Done()
				io.Copy(io.MultiWriter(up, p.locked(&sent)), c)
				up.Close()
				p.mu.Lock()
				p.sent = append(p.sent, sent.Bytes())
				p.mu.Unlock()
			}()
			go func() {
				defer p.wg.Done()
				io.Copy(io.MultiWriter(c, p.locked(&p.got)), up)
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() { lis.Close(); p.wg.Wait() })
	return p
}

// Addr is where clients dial the tap.
func (p *Tap) Addr() string { return p.lis.Addr().String() }

// FirstSent waits for the first connection to end and returns what its client sent.
func (p *Tap) FirstSent(t testing.TB) []byte {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) { // polling the copy
		p.mu.Lock()
		if len(p.sent) > 0 {
			b := p.sent[0]
			p.mu.Unlock()
			return b
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("no connection through the tap ended")
		}
	}
}

// Answered reports whether b crossed from the server to a client.
func (p *Tap) Answered(b []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Contains(p.got.Bytes(), b)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *Tap) locked(w io.Writer) io.Writer { return lockedWriter{&p.mu, w} }
