package shuffle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/spindle-engine/spindle/security/handshake"
	"github.com/spindle-engine/spindle/shuffle/pb"
)

// refused reports whether the service refused the caller's credentials: at the
// connection's handshake, or (with per-call proofs) the call.
func refused(err error) bool {
	return status.Code(err) == codes.Unauthenticated || strings.Contains(err.Error(), handshake.ErrRefused.Error())
}

// flakyListener drops the first refuse connections it accepts, as a service that
// is restarting does: the client sees a connection-level failure.
type flakyListener struct {
	net.Listener
	refuse atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.refuse.Add(-1) >= 0 {
			c.Close()
			continue
		}
		return c, nil
	}
}

// serveFlaky serves testSecrets behind a flakyListener until the test ends.
func serveFlaky(t *testing.T) (string, *flakyListener) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: lis}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewService(testSecrets, zerolog.Nop()).Serve(ctx, fl) }()
	t.Cleanup(func() { cancel(); <-done })
	return lis.Addr().String(), fl
}

// recordSleeps makes f record its waits instead of sleeping.
func recordSleeps(f *Fetcher) *[]time.Duration {
	var mu sync.Mutex
	waits := &[]time.Duration{}
	f.sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		*waits = append(*waits, d)
		return nil
	}
	return waits
}

func TestFetchRetries(t *testing.T) {
	const wait = 5 * time.Second
	tests := []struct {
		name      string
		refuse    int32
		retries   int
		missing   bool // fetch a map output that does not exist
		secret    string
		wantWaits []time.Duration
		wantErr   func(error) bool
	}{
		{"up at once", 0, 3, false, "", nil, nil},
		{"back after two failures", 2, 3, false, "", []time.Duration{wait, 2 * wait}, nil},
		{"down for longer than the retries", 10, 2, false, "", []time.Duration{wait, 2 * wait}, isCode(codes.Unavailable)},
		{"no retries", 1, 0, false, "", nil, isCode(codes.Unavailable)},
		{"missing output fails at once", 0, 3, true, "", nil, func(err error) bool { return errors.Is(err, ErrMissingOutput) }},
		{"a refused handshake fails at once", 0, 3, false, "guess", nil, refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, fl := serveFlaky(t)
			dirs := []string{t.TempDir()}
			writeMapOutput(t, dirs, 1, 0, 2, 2, 1000, 10)
			reg := NewFetcher("app-a", testSecrets["app-a"])
			defer reg.Close()
			if err := reg.RegisterExecutor(context.Background(), addr, "e", dirs); err != nil {
				t.Fatal(err)
			}
			fl.refuse.Store(tt.refuse)
			secret := testSecrets["app-a"]
			if tt.secret != "" {
				secret = []byte(tt.secret)
			}
			f := NewFetcher("app-a", secret, WithRetry(RetryPolicy{MaxRetries: tt.retries, Wait: wait}))
			defer f.Close()
			waits := recordSleeps(f)
			mapID := 0
			if tt.missing {
				mapID = 7
			}
			rc, err := f.Open(context.Background(), addr, "e", 1, mapID, 1)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got := decode(t, rc); len(got) != 500 {
					t.Errorf("%d records, want 500", len(got))
				}
			} else if !tt.wantErr(err) {
				t.Fatalf("Open: %v", err)
			}
			if !slices.Equal(*waits, tt.wantWaits) {
				t.Errorf("waited %v, want %v", *waits, tt.wantWaits)
			}
		})
	}
}

func TestRetryEndsWithContext(t *testing.T) {
	addr, fl := serveFlaky(t)
	fl.refuse.Store(100)
	f := NewFetcher("app-a", testSecrets["app-a"], WithRetry(RetryPolicy{MaxRetries: 5, Wait: time.Hour}))
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	f.sleep = func(ctx context.Context, d time.Duration) error { cancel(); <-ctx.Done(); return ctx.Err() }
	if _, err := f.Open(ctx, addr, "e", 1, 0, 0); !errors.Is(err, context.Canceled) || !isCode(codes.Unavailable)(err) {
		t.Fatalf("Open with a cancelled retry: %v", err)
	}
}

func TestOpenBlocks(t *testing.T) {
	addr, dirs, a := registered(t)
	ctx := context.Background()
	blocks := []BlockID{{3, 0, 2}, {4, 0, 0}, {3, 0, 4}, {3, 0, 0}, {3, 0, 1}}
	s, err := a.OpenBlocks(ctx, addr, "exec-1", blocks)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, want := range blocks {
		id, size, r, err := s.Next()
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if id != want {
			t.Fatalf("block %d is %v, want %v", i, id, want)
		}
		if i == 4 {
			continue // left unread: Next skips it
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		rc, wantSize, err := OpenSegment(dirs, want.Shuffle, want.Map, want.Reduce)
		if err != nil {
			t.Fatal(err)
		}
		disk, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, disk) || size != wantSize {
			t.Errorf("%v: %d bytes (size %d), %d on disk", want, len(got), size, len(disk))
		}
	}
	if _, _, _, err := s.Next(); err != io.EOF {
		t.Fatalf("after the last block: %v", err)
	}

	// A missing block fails when its turn comes, naming it.
	s, err = a.OpenBlocks(ctx, addr, "exec-1", []BlockID{{3, 0, 1}, {3, 5, 0}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, _, _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Next(); !errors.Is(err, ErrMissingOutput) || !bytes.Contains([]byte(err.Error()), []byte("shuffle 3 map 5 reduce 0")) {
		t.Fatalf("missing second block: %v", err)
	}
}

func TestServiceStats(t *testing.T) {
	addr, _, a := registered(t)
	ctx := context.Background()
	rc, err := a.Open(ctx, addr, "exec-1", 3, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, rc)
	rc.Close()
	if _, err := a.Open(ctx, addr, "exec-1", 3, 9, 0); !errors.Is(err, ErrMissingOutput) {
		t.Fatal(err)
	}
	c, err := a.client(addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveApplication(ctx, &pb.RemoveApplicationRequest{AppId: "app-b"}); !isCode(codes.PermissionDenied)(err) {
		t.Fatalf("A removing B: %v", err)
	}
	svc := statsOf(t, addr)
	// Counters settle when the server's stats handler has seen the calls end.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := svc.Stats()
		if st.BlocksServed == 1 && st.BytesServed == n && st.OpenStreams == 0 &&
			st.Errors[ErrorKey{"Fetch", "NotFound"}] == 1 && st.Errors[ErrorKey{"RemoveApplication", "PermissionDenied"}] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, want 1 block of %d bytes, no open stream, one NotFound and one PermissionDenied", st, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
