package shuffle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/spindle-engine/spindle/shuffle/pb"
)

type secretMap map[string][]byte

func (m secretMap) Secret(app string) ([]byte, bool) { s, ok := m[app]; return s, ok }

var testSecrets = secretMap{"app-a": []byte("secret-a"), "app-b": []byte("secret-b")}

// serve runs a service on a loopback port until the test ends.
func serve(tb testing.TB, secrets Secrets) string {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	svc := NewService(secrets, zerolog.Nop())
	testServices.Store(lis.Addr().String(), svc)
	go func() { done <- svc.Serve(ctx, lis) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("Serve: %v", err)
		}
	})
	return lis.Addr().String()
}

// testServices holds the services serve started, by address.
var testServices sync.Map

func statsOf(tb testing.TB, addr string) *Service {
	svc, ok := testServices.Load(addr)
	if !ok {
		tb.Fatalf("no service at %s", addr)
	}
	return svc.(*Service)
}

// writeMapOutput writes n records of valueSize bytes round-robin over the first
// filled of nparts partitions, so the rest are empty.
func writeMapOutput(tb testing.TB, dirs []string, shuffleID, mapID, nparts, filled, n, valueSize int) []int64 {
	tb.Helper()
	w, err := NewWriter(WriterConfig{Dirs: dirs, ShuffleID: shuffleID, MapID: mapID, NumPartitions: nparts, Sort: true})
	if err != nil {
		tb.Fatal(err)
	}
	val := []byte(strings.Repeat("v", valueSize))
	for i := range n {
		if err := w.Write(i%filled, fmt.Appendf(nil, "k%08d", i), val); err != nil {
			tb.Fatal(err)
		}
	}
	sizes, err := w.Commit()
	if err != nil {
		tb.Fatal(err)
	}
	return sizes
}

func decode(t *testing.T, rc io.ReadCloser) []kv {
	t.Helper()
	r := NewSegmentReader(rc, "segment")
	defer r.Close()
	var out []kv
	for r.Next() {
		out = append(out, kv{string(r.Key()), string(r.Value())})
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// registered serves, writes shuffle 3 map 0 (5 partitions, the last empty) and
// shuffle 4 map 0 (one segment of ~6 MiB), and registers them as app-a's exec-1.
func registered(t *testing.T) (addr string, dirs []string, a *Fetcher) {
	t.Helper()
	addr = serve(t, testSecrets)
	dirs = []string{t.TempDir(), t.TempDir()}
	writeMapOutput(t, dirs, 3, 0, 5, 4, 20000, 100)
	writeMapOutput(t, dirs, 4, 0, 1, 1, 60000, 100)
	a = NewFetcher("app-a", testSecrets["app-a"])
	t.Cleanup(func() { a.Close() })
	if err := a.RegisterExecutor(context.Background(), addr, "exec-1", dirs); err != nil {
		t.Fatal(err)
	}
	return addr, dirs, a
}

func TestFetchEqualsLocal(t *testing.T) {
	addr, dirs, a := registered(t)
	for _, seg := range []struct{ shuffle, reduce int }{{3, 0}, {3, 1}, {3, 2}, {3, 3}, {3, 4}, {4, 0}} {
		rc, _, err := OpenSegment(dirs, seg.shuffle, 0, seg.reduce)
		if err != nil {
			t.Fatal(err)
		}
		want := decode(t, rc)
		if rc, err = a.Open(context.Background(), addr, "exec-1", seg.shuffle, 0, seg.reduce); err != nil {
			t.Fatal(err)
		}
		if got := decode(t, rc); !slices.Equal(got, want) {
			t.Errorf("shuffle %d reduce %d: %d records remotely, %d locally", seg.shuffle, seg.reduce, len(got), len(want))
		}
	}
}

// TestFetchChunks reads the raw stream: several segments in one call, each in
// chunks of at most 1 MiB, bytes exactly as on disk.
func TestFetchChunks(t *testing.T) {
	addr, dirs, a := registered(t)
	c, err := a.client(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := authContext(context.Background(), "app-a", testSecrets["app-a"], pb.ShuffleService_Fetch_FullMethodName)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := c.Fetch(ctx, &pb.FetchRequest{AppId: "app-a", ExecutorId: "exec-1", ShuffleId: 3, ReduceIds: []int32{2, 4, 0}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int32][]byte{}
	var order []int32
	for {
		ch, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(ch.Data) > chunkSize {
			t.Fatalf("chunk of %d bytes", len(ch.Data))
		}
		got[ch.ReduceId] = append(got[ch.ReduceId], ch.Data...)
		if ch.Last {
			order = append(order, ch.ReduceId)
		}
	}
	if !slices.Equal(order, []int32{2, 4, 0}) {
		t.Fatalf("segments ended in order %v", order)
	}
	for r, data := range got {
		rc, _, err := OpenSegment(dirs, 3, 0, int(r))
		if err != nil {
			t.Fatal(err)
		}
		want, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, want) {
			t.Errorf("reduce %d: %d bytes streamed, %d on disk", r, len(data), len(want))
		}
	}

	// The large segment arrives in more than one chunk.
	if stream, err = c.Fetch(ctx, &pb.FetchRequest{AppId: "app-a", ExecutorId: "exec-1", ShuffleId: 4, ReduceIds: []int32{0}}); err != nil {
		t.Fatal(err)
	}
	chunks := 0
	for {
		if _, err := stream.Recv(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		chunks++
	}
	if chunks < 4 {
		t.Fatalf("a ~6 MiB segment came in %d chunks", chunks)
	}
}

// refusedAtHandshake is a connection the service refused for bad credentials.
func refusedAtHandshake(err error) bool {
	return status.Code(err) == codes.Unavailable && strings.Contains(err.Error(), "bad credentials")
}

func TestFetchAuth(t *testing.T) {
	addr, dirs, _ := registered(t)
	ctx := context.Background()
	b := NewFetcher("app-b", testSecrets["app-b"])
	defer b.Close()
	open := func(f *Fetcher) error {
		rc, err := f.Open(ctx, addr, "exec-1", 3, 0, 0)
		if err == nil {
			rc.Close()
		}
		return err
	}
	tests := []struct {
		name string
		call func() error
		want func(error) bool
	}{
		{"wrong secret", func() error {
			f := NewFetcher("app-a", []byte("guess"))
			defer f.Close()
			return open(f)
		}, refusedAtHandshake},
		{"unknown application", func() error {
			f := NewFetcher("app-z", []byte("secret-a"))
			defer f.Close()
			return open(f)
		}, refusedAtHandshake},
		{"no credentials", func() error {
			cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return err
			}
			defer cc.Close()
			_, err = pb.NewShuffleServiceClient(cc).RemoveApplication(ctx, &pb.RemoveApplicationRequest{AppId: "app-a"})
			return err
		}, isCode(codes.Unavailable)},
		{"B removes A", func() error {
			c, err := b.client(addr)
			if err != nil {
				return err
			}
			_, err = c.RemoveApplication(ctx, &pb.RemoveApplicationRequest{AppId: "app-a"})
			return err
		}, isCode(codes.PermissionDenied)},
		{"B fetches from A's executor", func() error { return open(b) }, func(err error) bool { return errors.Is(err, ErrMissingOutput) }},
		{"B's credentials name A", func() error {
			c, err := b.client(addr)
			if err != nil {
				return err
			}
			actx, err := authContext(ctx, "app-b", testSecrets["app-b"], pb.ShuffleService_Fetch_FullMethodName)
			if err != nil {
				return err
			}
			stream, err := c.Fetch(actx, &pb.FetchRequest{AppId: "app-a", ExecutorId: "exec-1", ShuffleId: 3, ReduceIds: []int32{0}})
			if err == nil {
				_, err = stream.Recv()
			}
			return err
		}, isCode(codes.PermissionDenied)},
		{"B registers A's dir", func() error { return b.RegisterExecutor(ctx, addr, "exec-1", dirs) }, isCode(codes.PermissionDenied)},
		{"B registers a dir inside A's", func() error {
			return b.RegisterExecutor(ctx, addr, "exec-9", []string{filepath.Join(dirs[1], "x")})
		}, isCode(codes.PermissionDenied)},
		{"B registers a dir holding A's", func() error {
			return b.RegisterExecutor(ctx, addr, "exec-9", []string{filepath.Dir(dirs[0])})
		}, isCode(codes.PermissionDenied)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !tt.want(err) {
				t.Fatalf("got %v", err)
			}
		})
	}
	// None of it disturbed A.
	a := NewFetcher("app-a", testSecrets["app-a"])
	defer a.Close()
	if err := open(a); err != nil {
		t.Fatal(err)
	}
}

func TestNested(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"/data/a", "/data/a", true},
		{"/data/a", "/data/a/blockmgr", true},
		{"/data/a/blockmgr", "/data", true},
		{"/", "/data", true},
		{"/data/a", "/data/ab", false},
		{"/data/ab", "/data/a", false},
		{"/data/a", "/data/b", false},
	}
	for _, tt := range tests {
		if got := nested(tt.a, tt.b); got != tt.want {
			t.Errorf("nested(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func isCode(c codes.Code) func(error) bool {
	return func(err error) bool { return status.Code(err) == c } // status.Code sees through %w
}

func TestFetchFailures(t *testing.T) {
	addr, dirs, a := registered(t)
	ctx := context.Background()
	if _, err := a.Open(ctx, addr, "exec-1", 3, 9, 0); !errors.Is(err, ErrMissingOutput) || !strings.Contains(err.Error(), "shuffle 3 map 9 reduce 0") {
		t.Errorf("missing map output: %v", err)
	}
	if _, err := a.Open(ctx, addr, "exec-7", 3, 0, 0); !errors.Is(err, ErrMissingOutput) {
		t.Errorf("unregistered executor: %v", err)
	}
	if err := os.WriteFile(IndexPath(dirs, 3, 0), []byte("SPIX garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Open(ctx, addr, "exec-1", 3, 0, 0); !errors.Is(err, ErrCorrupt) {
		t.Errorf("corrupt index: %v", err)
	}
}

func TestFetchCancelMidStream(t *testing.T) {
	addr, _, a := registered(t)
	ctx, cancel := context.WithCancel(context.Background())
	rc, err := a.Open(ctx, addr, "exec-1", 4, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.Copy(io.Discard, rc); !errors.Is(err, context.Canceled) {
		t.Fatalf("reading a cancelled stream: %v", err)
	}
}

func TestRemoveApplication(t *testing.T) {
	addr, dirs, a := registered(t)
	ctx := context.Background()
	// B's own files beside A's directories are untouched.
	bdir := t.TempDir()
	writeMapOutput(t, []string{bdir}, 3, 0, 2, 2, 100, 10)
	b := NewFetcher("app-b", testSecrets["app-b"])
	defer b.Close()
	if err := b.RegisterExecutor(ctx, addr, "exec-1", []string{bdir}); err != nil {
		t.Fatal(err)
	}
	n, err := a.RemoveApplication(ctx, addr)
	if err != nil || n != 4 {
		t.Fatalf("RemoveApplication = %d, %v; want 4 files", n, err)
	}
	for _, d := range dirs {
		if entries, err := os.ReadDir(d); err != nil || len(entries) != 0 {
			t.Fatalf("%s: %d entries left, %v", d, len(entries), err)
		}
	}
	if _, err := a.Open(ctx, addr, "exec-1", 3, 0, 0); !errors.Is(err, ErrMissingOutput) {
		t.Fatalf("fetch after removal: %v", err)
	}
	rc, err := b.Open(ctx, addr, "exec-1", 3, 0, 1)
	if err != nil {
		t.Fatalf("B after A's removal: %v", err)
	}
	if got := decode(t, rc); len(got) != 50 {
		t.Fatalf("B's partition 1: %d records, want 50", len(got))
	}
}

func TestServeEndsWithContext(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewService(testSecrets, zerolog.Nop()).Serve(ctx, lis) }()
	a := NewFetcher("app-a", testSecrets["app-a"])
	defer a.Close()
	// A completed call proves the server is up before it is stopped.
	if err := a.RegisterExecutor(context.Background(), lis.Addr().String(), "e", []string{t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if c, err := net.Dial("tcp", lis.Addr().String()); err == nil {
		c.Close()
		t.Fatal("the listener still accepts after Serve returned")
	}
}

func BenchmarkFetch(b *testing.B) {
	addr := serve(b, testSecrets)
	dirs := []string{b.TempDir()}
	sizes := writeMapOutput(b, dirs, 1, 0, 1, 1, 32000, 1000)
	f := NewFetcher("app-a", testSecrets["app-a"])
	defer f.Close()
	ctx := context.Background()
	if err := f.RegisterExecutor(ctx, addr, "e", dirs); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(sizes[0])
	for b.Loop() {
		rc, err := f.Open(ctx, addr, "e", 1, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, rc); err != nil || n != sizes[0] {
			b.Fatalf("read %d of %d bytes: %v", n, sizes[0], err)
		}
		rc.Close()
	}
}
