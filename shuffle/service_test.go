package shuffle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/spindle-engine/spindle/shuffle/pb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type secretMap map[string][]byte

func (m secretMap) Secret(app string) ([]byte, bool) { s, ok := m[app]; return s, ok }

// startService serves on a loopback port until the test ends.
func startService(t *testing.T, secrets Secrets) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewService(secrets, zerolog.Nop()).Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return lis.Addr().String()
}

// writeMapOutput writes one map output of n records over nparts partitions.
func writeMapOutput(t *testing.T, dirs []string, shuffleID, mapID, nparts, n, valueSize int) [][]kv {
	t.Helper()
	w, err := NewWriter(WriterConfig{Dirs: dirs, ShuffleID: shuffleID, MapID: mapID, NumPartitions: nparts, Sort: true})
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]kv, nparts)
	val := strings.Repeat("v", valueSize)
	for i := range n {
		p := i % nparts
		k := fmt.Sprintf("k%08d", i)
		if err := w.Write(p, []byte(k), []byte(val)); err != nil {
			t.Fatal(err)
		}
		want[p] = append(want[p], kv{k, val})
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return want
}

func readAll(t *testing.T, rc io.ReadCloser) []kv {
	t.Helper()
	r := NewSegmentReader(rc, "remote")
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

func TestFetchService(t *testing.T) {
	ctx := context.Background()
	secrets := secretMap{"app-a": []byte("secret-a"), "app-b": []byte("secret-b")}
	addr := startService(t, secrets)
	dirs := []string{t.TempDir(), t.TempDir()}
	want := writeMapOutput(t, dirs, 3, 0, 4, 20000, 100)
	// A segment of several MiB streams in 1 MiB chunks.
	big := writeMapOutput(t, dirs, 4, 0, 1, 60000, 100)

	a := NewFetcher("app-a", []byte("secret-a"))
	defer a.Close()
	if err := a.RegisterExecutor(ctx, addr, "exec-1", dirs); err != nil {
		t.Fatal(err)
	}
	for p := range 4 {
		rc, err := a.Open(ctx, addr, "exec-1", 3, 0, p)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, rc); !slices.Equal(got, want[p]) {
			t.Fatalf("partition %d: %d records remotely, %d locally", p, len(got), len(want[p]))
		}
	}
	rc, err := a.Open(ctx, addr, "exec-1", 4, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, rc); len(got) != len(big[0]) {
		t.Fatalf("large segment: %d records, want %d", len(got), len(big[0]))
	}

	// A missing map output is ErrMissingOutput, so the engine recomputes it.
	if _, err := a.Open(ctx, addr, "exec-1", 3, 9, 0); !errors.Is(err, ErrMissingOutput) {
		t.Fatalf("missing output: %v", err)
	}
	// Wrong secret: refused.
	bad := NewFetcher("app-a", []byte("guess"))
	defer bad.Close()
	if _, err := bad.Open(ctx, addr, "exec-1", 3, 0, 0); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("wrong secret: %v", err)
	}
	// Application B, with its own valid secret, cannot read A's files: it sees no
	// executor of its own, and cannot pose as A.
	b := NewFetcher("app-b", []byte("secret-b"))
	defer b.Close()
	if _, err := b.Open(ctx, addr, "exec-1", 3, 0, 0); !errors.Is(err, ErrMissingOutput) {
		t.Fatalf("app B fetching A's executor: %v", err)
	}
	// B's valid credentials naming A in the request: denied.
	bc, _ := b.client(addr)
	bctx, _ := authContext(ctx, "app-b", []byte("secret-b"), pb.ShuffleService_Fetch_FullMethodName)
	stream, err := bc.Fetch(bctx, &pb.FetchRequest{AppId: "app-a", ExecutorId: "exec-1", ShuffleId: 3, ReduceIds: []int32{0}})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("app B acting for app A: %v", err)
	}

	// Cancelling mid-stream ends the reader.
	cctx, cancel := context.WithCancel(ctx)
	rc, err = a.Open(cctx, addr, "exec-1", 4, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.Copy(io.Discard, rc); err == nil {
		t.Fatal("a cancelled stream read to the end")
	}
	rc.Close()

	// RemoveApplication deletes A's files and forgets A.
	n, err := a.RemoveApplication(ctx, addr)
	if err != nil || n == 0 {
		t.Fatalf("RemoveApplication = %d, %v", n, err)
	}
	for _, d := range dirs {
		if entries, _ := os.ReadDir(d); len(entries) != 0 {
			t.Fatalf("%s still holds %d files", d, len(entries))
		}
	}
	if _, err := a.Open(ctx, addr, "exec-1", 3, 0, 0); !errors.Is(err, ErrMissingOutput) {
		t.Fatalf("fetch after removal: %v", err)
	}
}

func BenchmarkFetch(b *testing.B) {
	secrets := secretMap{"app": []byte("s")}
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewService(secrets, zerolog.Nop()).Serve(ctx, lis) }()
	defer func() { cancel(); <-done }()
	dirs := []string{b.TempDir()}
	w, _ := NewWriter(WriterConfig{Dirs: dirs, ShuffleID: 1, MapID: 0, NumPartitions: 1})
	val := strings.Repeat("x", 1000)
	for i := range 32000 {
		w.Write(0, []byte(fmt.Sprint(i)), []byte(val))
	}
	sizes, _ := w.Commit()
	f := NewFetcher("app", []byte("s"))
	defer f.Close()
	f.RegisterExecutor(context.Background(), lis.Addr().String(), "e", dirs)
	b.SetBytes(sizes[0])
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rc, err := f.Open(context.Background(), lis.Addr().String(), "e", 1, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, rc)
		rc.Close()
	}
}
