package hdfs

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

var resolveTests = []struct {
	path, defaultFS, wantPath string
	wantErr                   bool
}{
	{path: "/data/in.txt", wantPath: "/data/in.txt"},
	{path: "rel/in.txt", defaultFS: "hdfs://nn:8020", wantPath: "rel/in.txt"},
	{path: "file:///data/in.txt", wantPath: "/data/in.txt"},
	{path: "s3://bucket/key", wantErr: true},
	{path: "hdfs:///data/in.txt", wantErr: true},
	{path: "hdfs:///data/in.txt", defaultFS: "file:///", wantErr: true},
	{path: "hdfs:///data/in.txt", defaultFS: "hdfs:///", wantErr: true},
}

func TestFileSystemsResolve(t *testing.T) {
	for _, tt := range resolveTests {
		fss := NewFileSystems(Options{DefaultFS: tt.defaultFS})
		fsys, inner, err := fss.Resolve(context.Background(), tt.path)
		if tt.wantErr {
			if err == nil {
				t.Errorf("Resolve(%q, defaultFS %q) succeeded, want an error", tt.path, tt.defaultFS)
			}
		} else if err != nil || fsys != Local || inner != tt.wantPath {
			t.Errorf("Resolve(%q) = %v, %q, %v; want Local, %q", tt.path, fsys, inner, err, tt.wantPath)
		}
		if err := fss.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func TestFileSystemsClose(t *testing.T) {
	fss := NewFileSystems(Options{})
	if _, _, err := fss.Resolve(context.Background(), "/tmp/x"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := fss.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	for _, p := range []string{"/tmp/x", "file:///tmp/x", "hdfs://127.0.0.1:1/x"} {
		if _, _, err := fss.Resolve(context.Background(), p); !errors.Is(err, ErrClosed) {
			t.Errorf("Resolve(%q) after Close = %v, want ErrClosed", p, err)
		}
	}
}

func TestFileSystemsResolveCanceled(t *testing.T) {
	fss := NewFileSystems(Options{})
	defer fss.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := fss.Resolve(ctx, "hdfs://127.0.0.1:1/x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Resolve with a canceled ctx = %v, want context.Canceled", err)
	}
}

// fakeNameNode accepts connections and counts them: colinmarc/hdfs's connect
// only dials and writes its handshake, so a listener is NameNode enough to
// share and close clients. eof gets a value for each connection the client
// closes.
type fakeNameNode struct {
	ln  net.Listener
	eof chan struct{}

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newFakeNameNode(t *testing.T) *fakeNameNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNameNode{ln: ln, eof: make(chan struct{}, 16)}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				if _, err := io.Copy(io.Discard, c); err == nil {
					f.eof <- struct{}{}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

// settled returns how many connections clients have opened so far. A dial
// returns once the kernel has completed the handshake, before the accept loop
// has seen the connection, so counting f.conns right after the clients return
// races with it. The listener's backlog is FIFO: once a probe connection made
// now has been accepted, every earlier one has been too.
func (f *fakeNameNode) settled(t *testing.T) int {
	t.Helper()
	probe, err := net.Dial("tcp", f.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { probe.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		for i, c := range f.conns {
			if c.RemoteAddr().String() == probe.LocalAddr().String() {
				f.mu.Unlock()
				return i
			}
		}
		f.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the probe connection was not accepted within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFileSystemsShareClients: concurrent resolvers of one NameNode, by address
// or through fs.defaultFS, get one client, and Close closes its connection.
func TestFileSystemsShareClients(t *testing.T) {
	nn := newFakeNameNode(t)
	addr := nn.ln.Addr().String()
	fss := NewFileSystems(Options{DefaultFS: "hdfs://" + addr, User: "tester"})
	const n = 8
	got := make([]FS, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := "hdfs://" + addr + "/in"
			if i%2 == 1 {
				p = "hdfs:///in"
			}
			got[i], _, errs[i] = fss.Resolve(context.Background(), p)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != got[0] {
			t.Fatalf("resolver %d got %v, %v; want the shared client %v", i, got[i], errs[i], got[0])
		}
	}
	if _, ok := got[0].(*hdfsFS); !ok {
		t.Fatalf("Resolve returned %T, want HDFS", got[0])
	}
	if c := nn.settled(t); c != 1 {
		t.Errorf("%d connections to the NameNode, want 1", c)
	}
	if err := fss.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-nn.eof:
	case <-time.After(10 * time.Second):
		t.Fatal("the NameNode connection is still open after Close")
	}
	if err := fss.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
