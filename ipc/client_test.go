package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/spindle-engine/spindle/ipc/pb"
)

const testProtocol = "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB"

// echo replies with "echo:" + the request string.
func echo(sc *serverConn, c *serverCall) {
	req := &wrapperspb.StringValue{}
	if _, err := unmarshalDelimited(c.body, req); err != nil {
		sc.s.t.Errorf("decode request: %v", err)
		return
	}
	sc.reply(c, wrapperspb.String("echo:"+req.GetValue()))
}

func newTestClient(t *testing.T, s *fakeServer, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{Addr: s.addr(), Protocol: testProtocol, ProtocolVersion: 1, User: "alice", Pool: NewPool(), MaxRetries: -1}
	if mod != nil {
		mod(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func callEcho(ctx context.Context, c *Client, s string) (string, error) {
	resp := &wrapperspb.StringValue{}
	err := c.Call(ctx, "echo", wrapperspb.String(s), resp)
	return resp.GetValue(), err
}

func TestSimpleCallAndHandshake(t *testing.T) {
	s := newFakeServer(t, func(sc *serverConn, c *serverCall) {
		if c.rh.GetMethodName() != "echo" || c.rh.GetDeclaringClassProtocolName() != testProtocol || c.rh.GetClientProtocolVersion() != 1 {
			sc.s.t.Errorf("request header %v", c.rh)
		}
		if c.header.GetRetryCount() != 0 || c.header.GetRpcOp() != pb.RpcRequestHeaderProto_RPC_FINAL_PACKET {
			sc.s.t.Errorf("rpc header %v", c.header)
		}
		echo(sc, c)
	})
	s.start()
	c := newTestClient(t, s, nil)
	got, err := callEcho(context.Background(), c, "hi")
	if err != nil || got != "echo:hi" {
		t.Fatalf("call = %q, %v", got, err)
	}
	sc := s.connections()[0]
	if want := []byte{'h', 'r', 'p', 'c', 9, 0, 0}; string(sc.preamble) != string(want) {
		t.Errorf("preamble %v, want %v", sc.preamble, want)
	}
	s.mu.Lock()
	ctxMsg := sc.context
	s.mu.Unlock()
	if ctxMsg.GetProtocol() != testProtocol || ctxMsg.GetUserInfo().GetEffectiveUser() != "alice" {
		t.Errorf("connection context %v", ctxMsg)
	}
}

// TestMultiplexOutOfOrder sends many calls at once on one connection; the
// server answers them in reverse order.
func TestMultiplexOutOfOrder(t *testing.T) {
	const n = 20
	var mu sync.Mutex
	var held []*serverCall
	var heldConn *serverConn
	s := newFakeServer(t, func(sc *serverConn, c *serverCall) {
		mu.Lock()
		held = append(held, c)
		heldConn = sc
		all := len(held) == n
		mu.Unlock()
		if !all {
			return
		}
		for i := n - 1; i >= 0; i-- {
			echo(heldConn, held[i])
		}
	})
	s.start()
	c := newTestClient(t, s, nil)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := fmt.Sprintf("echo:%d", i)
			got, err := callEcho(context.Background(), c, fmt.Sprint(i))
			if err != nil || got != want {
				errs <- fmt.Errorf("call %d = %q, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(s.connections()); got != 1 {
		t.Errorf("%d connections, want 1", got)
	}
}

// TestContextDeadline: the caller gets ctx.Err(); the late reply is dropped
// and the connection keeps working.
func TestContextDeadline(t *testing.T) {
	late := make(chan func(), 1)
	s := newFakeServer(t, func(sc *serverConn, c *serverCall) {
		req := &wrapperspb.StringValue{}
		unmarshalDelimited(c.body, req)
		if req.GetValue() == "slow" {
			late <- func() { echo(sc, c) }
			return
		}
		echo(sc, c)
	})
	s.start()
	c := newTestClient(t, s, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := callEcho(ctx, c, "slow"); err != context.DeadlineExceeded {
		t.Fatalf("slow call err = %v, want DeadlineExceeded", err)
	}
	(<-late)() // the reply arrives after the caller left
	got, err := callEcho(context.Background(), c, "next")
	if err != nil || got != "echo:next" {
		t.Fatalf("next call = %q, %v", got, err)
	}
	if n := len(s.connections()); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func TestRemoteErrors(t *testing.T) {
	tests := []struct {
		class    string
		sentinel error
		short    string
	}{
		{"org.apache.hadoop.ipc.StandbyException", ErrStandby, "StandbyException"},
		{"org.apache.hadoop.security.token.SecretManager$InvalidToken", ErrInvalidToken, "InvalidToken"},
		{"org.apache.hadoop.security.AccessControlException", ErrAccessControl, "AccessControlException"},
		{"org.apache.hadoop.security.authorize.AuthorizationException", ErrAccessControl, "AuthorizationException"},
		// Protocol classes are mapped by yarn and hdfs, not here.
		{"org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException", nil, "ApplicationNotFoundException"},
		{"org.apache.hadoop.hdfs.protocol.AccessControlException", nil, "AccessControlException"},
		{"org.apache.hadoop.yarn.exceptions.YarnException", nil, "YarnException"},
	}
	s := newFakeServer(t, func(sc *serverConn, c *serverCall) {
		req := &wrapperspb.StringValue{}
		unmarshalDelimited(c.body, req)
		sc.fail(c.header.GetCallId(), req.GetValue(), "it went wrong", pb.RpcResponseHeaderProto_ERROR_APPLICATION, false)
	})
	s.start()
	c := newTestClient(t, s, nil)
	all := []error{ErrStandby, ErrInvalidToken, ErrAccessControl}
	for _, tt := range tests {
		t.Run(tt.class, func(t *testing.T) {
			_, err := callEcho(context.Background(), c, tt.class)
			var re *RemoteError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *RemoteError", err)
			}
			if re.Class != tt.class || re.Message != "it went wrong" || re.Detail != 1 || re.Fatal {
				t.Errorf("RemoteError = %+v", re)
			}
			if want := tt.short + ": it went wrong"; re.Error() != want {
				t.Errorf("Error() = %q, want %q", re.Error(), want)
			}
			for _, s := range all {
				if got := errors.Is(err, s); got != (s == tt.sentinel) {
					t.Errorf("errors.Is(err, %v) = %v", s, got)
				}
			}
		})
	}
	if n := len(s.connections()); n != 1 {
		t.Errorf("non-fatal errors used %d connections, want 1", n)
	}
}

// TestFatalReconnects: a FATAL reply closes the connection and the next
// call dials a new one.
func TestFatalReconnects(t *testing.T) {
	s := newFakeServer(t, func(sc *serverConn, c *serverCall) {
		req := &wrapperspb.StringValue{}
		unmarshalDelimited(c.body, req)
		if req.GetValue() == "die" {
			sc.fail(c.header.GetCallId(), "org.apache.hadoop.ipc.RpcServerException", "bad header", pb.RpcResponseHeaderProto_FATAL_INVALID_RPC_HEADER, true)
			return
		}
		echo(sc, c)
	})
	s.start()
	c := newTestClient(t, s, nil)
	_, err := callEcho(context.Background(), c, "die")
	var re *RemoteError
	if !errors.As(err, &re) || !re.Fatal || re.Detail != 12 {
		t.Fatalf("err = %v, want fatal RemoteError with detail 12", err)
	}
	got, err := callEcho(context.Background(), c, "again")
	if err != nil || got != "echo:again" {
		t.Fatalf("call after FATAL = %q, %v", got, err)
	}
	if n := len(s.connections()); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// TestPing: a call outstanding for longer than PingInterval makes the
// client send a ping (call id -4).
func TestPing(t *testing.T) {
	s := newFakeServer(t, func(sc *serverConn, c *serverCall) {
		<-sc.pings
		echo(sc, c)
	})
	s.start()
	c := newTestClient(t, s, func(cfg *Config) { cfg.PingInterval = 5 * time.Millisecond })
	got, err := callEcho(context.Background(), c, "wait")
	if err != nil || got != "echo:wait" {
		t.Fatalf("call = %q, %v", got, err)
	}
}

// TestIdleCloseAndPoolSharing: clients with the same key share one
// connection; it closes when idle, and the next call reconnects.
func TestIdleCloseAndPoolSharing(t *testing.T) {
	s := newFakeServer(t, echo)
	s.start()
	pool := NewPool()
	c1 := newTestClient(t, s, func(cfg *Config) { cfg.Pool = pool; cfg.IdleTimeout = 20 * time.Millisecond })
	c2 := newTestClient(t, s, func(cfg *Config) { cfg.Pool = pool; cfg.IdleTimeout = 20 * time.Millisecond })
	other := newTestClient(t, s, func(cfg *Config) { cfg.Pool = pool; cfg.User = "bob" })
	for _, c := range []*Client{c1, c2, other} {
		if _, err := callEcho(context.Background(), c, "x"); err != nil {
			t.Fatal(err)
		}
	}
	conns := s.connections()
	if len(conns) != 2 {
		t.Fatalf("%d connections, want 2 (alice shared, bob separate)", len(conns))
	}
	waitFor(t, "idle connection to close", func() bool {
		select {
		case <-conns[0].closed:
			return true
		default:
			return false
		}
	})
	if _, err := callEcho(context.Background(), c1, "y"); err != nil {
		t.Fatal(err)
	}
	if n := len(s.connections()); n != 3 {
		t.Errorf("%d connections after idle close, want 3", n)
	}
	// Closing every client of a key closes its connection.
	other.Close()
	waitFor(t, "released connection to close", func() bool {
		select {
		case <-conns[1].closed:
			return true
		default:
			return false
		}
	})
	if _, err := callEcho(context.Background(), other, "z"); !errors.Is(err, ErrClientClosed) {
		t.Errorf("call on closed client: %v", err)
	}
}

func TestConnectError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := NewClient(Config{Addr: addr, Protocol: testProtocol, MaxRetries: 2, Pool: NewPool()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = callEcho(context.Background(), c, "x")
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Addr != addr || ce.Attempts != 3 {
		t.Fatalf("err = %v, want ConnectError for %s after 3 attempts", err, addr)
	}
}

func TestConfigValidation(t *testing.T) {
	tok := &Token{Identifier: []byte("i")}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no addr", Config{Protocol: "p"}},
		{"no protocol", Config{Addr: "a:1"}},
		{"token and kerberos", Config{Addr: "a:1", Protocol: "p", Token: tok, Kerberos: &Kerberos{}}},
		{"empty kerberos", Config{Addr: "a:1", Protocol: "p", Kerberos: &Kerberos{}}},
		{"bad qop", Config{Addr: "a:1", Protocol: "p", QOP: "auth-all"}},
	}
	for _, tt := range tests {
		if _, err := NewClient(tt.cfg); err == nil {
			t.Errorf("%s: NewClient accepted %+v", tt.name, tt.cfg)
		}
	}
}

// TestDecodeError: a reply that does not decode is reported, not hidden.
func TestDecodeError(t *testing.T) {
	s := newFakeServer(t, func(sc *serverConn, c *serverCall) {
		sc.reply(c, &pb.RpcSaslProto{State: pb.RpcSaslProto_WRAP.Enum(), Token: []byte{0xff, 0xff}})
	})
	s.start()
	c := newTestClient(t, s, nil)
	resp := &pb.RequestHeaderProto{}
	err := c.Call(context.Background(), "m", wrapperspb.String("x"), resp)
	if err == nil {
		t.Fatalf("decoding a mismatched reply succeeded: %v", resp)
	}
}
