package handshake

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

var (
	secretA = []byte("secret of application A, 32 byte")
	apps    = mapSecrets{"app_A": secretA, "app_B": []byte("secret of application B, 32 byte")}
)

type mapSecrets map[string][]byte

func (m mapSecrets) Secret(app string) ([]byte, bool) { s, ok := m[app]; return s, ok }

// tap records what crosses a connection in each direction.
type tap struct {
	net.Conn
	mu       sync.Mutex
	in, out  bytes.Buffer
	readSize atomic.Int64
}

func (t *tap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	t.mu.Lock()
	t.in.Write(p[:n])
	t.mu.Unlock()
	t.readSize.Add(int64(n))
	return n, err
}

func (t *tap) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.out.Write(p)
	t.mu.Unlock()
	return t.Conn.Write(p)
}

// pair runs a client and a server handshake over one TCP connection.
func pair(t *testing.T, clientApp string, clientSecret []byte, encrypt, requireEnc bool) (c, s *Result, cerr, serr error, clientSide *tap) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := lis.Accept()
		if err != nil {
			serr = err
			return
		}
		defer conn.Close()
		s, serr = Server(conn, apps, requireEnc)
	}()
	raw, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	clientSide = &tap{Conn: raw}
	c, cerr = Client(clientSide, clientApp, PurposeShuffle, clientSecret, encrypt)
	// A client that gave up leaves the server waiting for its proof until it hangs up.
	raw.Close()
	<-done
	return c, s, cerr, serr, clientSide
}

func TestHandshake(t *testing.T) {
	tests := []struct {
		name             string
		app              string
		secret           []byte
		encrypt, require bool
		wantOK, wantEnc  bool
	}{
		{"right secret", "app_A", secretA, false, false, true, false},
		{"client asks for encryption", "app_A", secretA, true, false, true, true},
		{"server requires encryption", "app_A", secretA, false, true, true, true},
		{"wrong secret", "app_A", []byte("guess"), false, false, false, false},
		{"another application's secret", "app_A", apps["app_B"], false, false, false, false},
		{"unknown application", "app_C", secretA, false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s, cerr, serr, _ := pair(t, tt.app, tt.secret, tt.encrypt, tt.require)
			if !tt.wantOK {
				if cerr == nil || !errors.Is(cerr, ErrRefused) {
					t.Fatalf("client: %v, want ErrRefused", cerr)
				}
				if serr == nil && s != nil {
					t.Fatalf("server accepted %+v", s)
				}
				return
			}
			if cerr != nil || serr != nil {
				t.Fatalf("client %v, server %v", cerr, serr)
			}
			if c.App != tt.app || s.App != tt.app || c.Encrypted != tt.wantEnc || s.Encrypted != tt.wantEnc {
				t.Fatalf("client %+v server %+v", c, s)
			}
			if !bytes.Equal(c.Binding, s.Binding) || len(c.Binding) != 32 {
				t.Fatal("the two ends disagree on the channel binding")
			}
		})
	}
}

// TestRecordedHandshakeCannotBeReplayed replays every byte a real client sent on a
// fresh connection: the server's new nonce makes the recorded proof worthless.
func TestRecordedHandshakeCannotBeReplayed(t *testing.T) {
	first, _, cerr, serr, recorded := pair(t, "app_A", secretA, false, false)
	if cerr != nil || serr != nil {
		t.Fatal(cerr, serr)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	result := make(chan error, 1)
	go func() {
		conn, err := lis.Accept()
		if err != nil {
			result <- err
			return
		}
		defer conn.Close()
		_, err = Server(conn, apps, false)
		result <- err
	}()
	conn, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	recorded.mu.Lock()
	replay := recorded.out.Bytes()
	recorded.mu.Unlock()
	go conn.Write(replay)
	if err := <-result; !errors.Is(err, ErrRefused) {
		t.Fatalf("a replayed handshake: %v, want ErrRefused", err)
	}
	if first == nil {
		t.Fatal("no first handshake")
	}
}

// TestServerReadsLittleBeforeAuthentication sends a huge unauthenticated stream:
// the server reads no more than one hello and one proof, whatever follows.
func TestServerReadsLittleBeforeAuthentication(t *testing.T) {
	client, server := net.Pipe()
	counted := &tap{Conn: server}
	done := make(chan error, 1)
	go func() { _, err := Server(counted, apps, false); server.Close(); done <- err }()
	junk := bytes.Repeat([]byte("SPDL\x01\x00\xff"), 1<<16)
	go func() {
		for range 64 { // 29 MiB in all, if anyone read it
			if _, err := client.Write(junk); err != nil {
				return
			}
		}
	}()
	go io.Copy(io.Discard, client)
	if err := <-done; err == nil {
		t.Fatal("the server accepted junk")
	}
	if n := counted.readSize.Load(); n > 1024 {
		t.Fatalf("the server read %d bytes before refusing", n)
	}
}

func TestRecordsHideAndProtectTheData(t *testing.T) {
	marker := []byte("MARKER-in-shuffle-data-0123456789")
	for _, encrypt := range []bool{false, true} {
		c, s, cerr, serr, _ := pair(t, "app_A", secretA, encrypt, false)
		if cerr != nil || serr != nil {
			t.Fatal(cerr, serr)
		}
		a, b := net.Pipe()
		wire := &tap{Conn: a}
		ca, err := wrap(wire, c, true)
		if err != nil {
			t.Fatal(err)
		}
		sb, err := wrap(b, s, false)
		if err != nil {
			t.Fatal(err)
		}
		payload := bytes.Repeat(marker, 5000) // several records
		go func() { ca.Write(payload); a.Close() }()
		got, _ := io.ReadAll(sb)
		if !bytes.Equal(got, payload) {
			t.Fatalf("encrypt=%v: read %d bytes, want %d", encrypt, len(got), len(payload))
		}
		wire.mu.Lock()
		seen := bytes.Contains(wire.out.Bytes(), marker)
		wire.mu.Unlock()
		if seen == encrypt {
			t.Fatalf("encrypt=%v: marker on the wire = %v", encrypt, seen)
		}
	}
	// A flipped bit in a record is an error, not corrupt data.
	c, s, _, _, _ := pair(t, "app_A", secretA, true, false)
	var buf bytes.Buffer
	w, _ := wrap(&bufConn{w: &buf}, c, true)
	w.Write(marker)
	raw := buf.Bytes()
	raw[len(raw)-3] ^= 1
	r, _ := wrap(&bufConn{r: bytes.NewReader(raw)}, s, false)
	if _, err := io.ReadAll(r); err == nil {
		t.Fatal("a tampered record was accepted")
	}
}

// bufConn is a net.Conn over a reader or a writer.
type bufConn struct {
	net.Conn
	r io.Reader
	w io.Writer
}

func (b *bufConn) Read(p []byte) (int, error)  { return b.r.Read(p) }
func (b *bufConn) Write(p []byte) (int, error) { return b.w.Write(p) }

// TestCredentialsWithGRPC runs a gRPC service behind the credentials: a client with
// the secret is served and sees the handshake's result, one without is not, and a
// server at its limit of handshakes closes further connections at once.
func TestCredentialsWithGRPC(t *testing.T) {
	var refused atomic.Int64
	srv := grpc.NewServer(grpc.Creds(NewServerCredentials(apps, ServerOptions{
		Purpose: PurposeShuffle, MaxPending: 1, Timeout: 2 * time.Second,
		Refused: func(net.Addr, error) { refused.Add(1) },
	})))
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()
	call := func(app, purpose string, secret []byte, encrypt bool) error {
		cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(NewClientCredentials(app, purpose, secret, encrypt)))
		if err != nil {
			return err
		}
		defer cc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	if err := call("app_A", PurposeShuffle, secretA, true); err != nil {
		t.Fatalf("with the secret: %v", err)
	}
	for _, bad := range []struct {
		app, purpose string
		secret       []byte
	}{{"app_A", PurposeShuffle, []byte("wrong")}, {"app_A", PurposeExecutor, secretA}} {
		if err := call(bad.app, bad.purpose, bad.secret, false); err == nil {
			t.Fatalf("%+v was served", bad)
		}
	}
	// One connection stalls in the handshake; the next is refused at once.
	stalled, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	stalled.Write([]byte(magic))
	deadline := time.Now().Add(10 * time.Second)
	for refused.Load() < 3 && time.Now().Before(deadline) {
		extra, err := net.Dial("tcp", lis.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		extra.SetReadDeadline(time.Now().Add(time.Second))
		extra.Read(make([]byte, 1)) // closed by the server, or a timeout
		extra.Close()
	}
	if refused.Load() < 3 {
		t.Fatalf("%d refusals, want the two bad clients and a connection over the limit", refused.Load())
	}
}

func TestProofBindsKeyPurposeAndFields(t *testing.T) {
	key := []byte("container credential")
	p := Proof(key, ExecutorIdentity, []byte("binding"), []byte("app_1"), []byte("7"))
	tests := []struct {
		name   string
		key    []byte
		fields [][]byte
		want   bool
	}{
		{"same", key, [][]byte{[]byte("binding"), []byte("app_1"), []byte("7")}, true},
		{"other connection", key, [][]byte{[]byte("binding2"), []byte("app_1"), []byte("7")}, false},
		{"other key", []byte("x"), [][]byte{[]byte("binding"), []byte("app_1"), []byte("7")}, false},
		{"shifted boundary", key, [][]byte{[]byte("binding"), []byte("app_17"), nil}, false},
	}
	for _, tt := range tests {
		if got := Verify(tt.key, p, ExecutorIdentity, tt.fields...); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
