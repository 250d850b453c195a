package ipc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

var testToken = &Token{
	Identifier: []byte{0x0a, 0x0c, 0x08, 0x01, 0x12, 0x08, 0x08, 0x96, 0x01, 0x10, 0x02},
	Password:   []byte("s3cr3t-password-bytes"),
	Kind:       "YARN_AM_RM_TOKEN",
}

// TestDigestOverWire runs TOKEN/DIGEST-MD5 against the fake server for each
// QOP; auth-int and auth-conf wrap every frame both ways.
func TestDigestOverWire(t *testing.T) {
	tests := []struct {
		name   string
		offer  string
		want   QOP
		expect QOP
	}{
		{"auth", "auth", "", QOPAuth},
		{"auth-int", "auth-int", QOPAuthInt, QOPAuthInt},
		{"auth-conf", "auth-conf", QOPAuthConf, QOPAuthConf},
		{"auth-conf offered, auth-int wanted", "auth,auth-int,auth-conf", QOPAuthInt, QOPAuthInt},
		{"server insists on privacy", "auth-conf", "", QOPAuthConf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeServer(t, echo)
			s.token, s.qops = testToken, tt.offer
			s.start()
			c := newTestClient(t, s, func(cfg *Config) { cfg.Token, cfg.QOP = testToken, tt.want })
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					msg := strings.Repeat("m", i*1000)
					got, err := callEcho(context.Background(), c, msg)
					if err != nil || got != "echo:"+msg {
						t.Errorf("call %d = %d bytes, %v", i, len(got), err)
					}
				}()
			}
			wg.Wait()
			sc := s.connections()[0]
			if sc.preamble[6] != authProtocolSASL {
				t.Errorf("preamble auth byte %#x, want SASL", sc.preamble[6])
			}
			if sc.qop != tt.expect {
				t.Errorf("negotiated %q, want %q", sc.qop, tt.expect)
			}
			s.mu.Lock()
			ui := sc.context.GetUserInfo()
			s.mu.Unlock()
			if ui != nil {
				t.Errorf("TOKEN connection context carries user info %v", ui)
			}
		})
	}
}

// TestDigestSplitsLargeFrames: frames larger than the server's maxbuf go
// out as several WRAP tokens that the server reassembles.
func TestDigestSplitsLargeFrames(t *testing.T) {
	s := newFakeServer(t, echo)
	s.token, s.qops, s.maxbuf = testToken, "auth-conf", 1024
	s.start()
	c := newTestClient(t, s, func(cfg *Config) { cfg.Token = testToken })
	msg := strings.Repeat("large", 2000)
	got, err := callEcho(context.Background(), c, msg)
	if err != nil || got != "echo:"+msg {
		t.Fatalf("call = %d bytes, %v", len(got), err)
	}
	u := s.connections()[0].in.(*serverUnwrapReader)
	if u.maxChunk > 1024-16 {
		t.Errorf("largest wrapped chunk %d bytes, over the server's maxbuf", u.maxChunk)
	}
}

// TestDigestWrongPassword: the server's FATAL InvalidToken surfaces as
// ErrInvalidToken after a single attempt.
func TestDigestWrongPassword(t *testing.T) {
	s := newFakeServer(t, echo)
	s.token = testToken
	s.start()
	bad := *testToken
	bad.Password = []byte("wrong")
	c := newTestClient(t, s, func(cfg *Config) { cfg.Token = &bad; cfg.MaxRetries = 3 })
	_, err := callEcho(context.Background(), c, "x")
	if !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrInvalidToken", err)
	}
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Attempts != 1 {
		t.Errorf("err = %v, want ConnectError after 1 attempt", err)
	}
}

// TestSASLSimpleFallback: a server without security answers NEGOTIATE
// with SUCCESS and the connection continues as SIMPLE.
func TestSASLSimpleFallback(t *testing.T) {
	s := newFakeServer(t, echo)
	s.simpleAck = true
	s.start()
	c := newTestClient(t, s, func(cfg *Config) { cfg.Token = testToken })
	if got, err := callEcho(context.Background(), c, "x"); err != nil || got != "echo:x" {
		t.Fatalf("call = %q, %v", got, err)
	}
	// Requiring protection refuses the fallback.
	c2 := newTestClient(t, s, func(cfg *Config) { cfg.Token, cfg.QOP = testToken, QOPAuthInt })
	if _, err := callEcho(context.Background(), c2, "x"); err == nil {
		t.Fatal("fallback to SIMPLE accepted with QOP auth-int")
	}
}

// TestTokenIdentityKeysPool: a rolled token (new password) gets its own
// connection instead of reusing one authenticated with the old token.
func TestTokenIdentityKeysPool(t *testing.T) {
	rolled := *testToken
	rolled.Password = []byte("next")
	a := Config{Addr: "h:1", Protocol: "p", Token: testToken}
	b := Config{Addr: "h:1", Protocol: "p", Token: &rolled}
	same := Config{Addr: "h:1", Protocol: "p", Token: &Token{Identifier: testToken.Identifier, Password: testToken.Password, Kind: testToken.Kind}}
	if a.poolKey() == b.poolKey() {
		t.Error("tokens with different passwords share a pool key")
	}
	if a.poolKey() != same.poolKey() {
		t.Error("equal tokens have different pool keys")
	}
}

// TestSimpleRejected: a token-only server (AMRM, NM) answers a SIMPLE
// preamble with a FATAL AccessControlException.
func TestSimpleRejected(t *testing.T) {
	s := newFakeServer(t, echo)
	s.rejectSimple = true
	s.start()
	c := newTestClient(t, s, nil)
	err := c.Call(context.Background(), "allocate", wrapperspb.String("x"), &wrapperspb.StringValue{})
	var re *RemoteError
	if !errors.Is(err, ErrAccessControl) || !errors.As(err, &re) || !re.Fatal || re.Detail != 15 {
		t.Fatalf("err = %v, want fatal AccessControlException", err)
	}
	if !strings.Contains(re.Message, "SIMPLE authentication is not enabled") {
		t.Errorf("message %q", re.Message)
	}
}
