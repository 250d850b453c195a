package ipc

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/ipc/pb"
)

// testKerberos is a Kerberos login that never reaches a KDC: the tests stop at
// choosing the method and the server's principal.
func testKerberos(principal, pattern string) *Kerberos {
	cfg := config.New()
	cfg.LibDefaults.DefaultRealm = "R"
	return &Kerberos{Client: client.NewWithPassword("alice", "R", "pw", cfg), ServicePrincipal: principal, Pattern: pattern, Key: "dfs.namenode.kerberos.principal"}
}

func auth(method, mech, protocol, id string) *pb.RpcSaslProto_SaslAuth {
	return &pb.RpcSaslProto_SaslAuth{Method: proto.String(method), Mechanism: proto.String(mech), Protocol: proto.String(protocol), ServerId: proto.String(id)}
}

// TestSelectAuth: the server's order decides among the credentials the client
// holds, as Hadoop's SaslRpcClient.selectSaslClient does, and KERBEROS goes only to
// the principal the configuration expects.
func TestSelectAuth(t *testing.T) {
	token := auth("TOKEN", "DIGEST-MD5", "", "default")
	krb := auth("KERBEROS", "GSSAPI", "nn", "localhost")
	simple := auth("SIMPLE", "", "", "")
	tests := []struct {
		name     string
		offer    []*pb.RpcSaslProto_SaslAuth
		tok      *Token
		kerberos *Kerberos
		want     string // method, or "" for an error
		err      func(error) bool
		says     string
	}{
		{"token first", []*pb.RpcSaslProto_SaslAuth{token, krb}, testToken, testKerberos("nn/_HOST@R", ""), methodToken, nil, ""},
		{"kerberos without a token", []*pb.RpcSaslProto_SaslAuth{token, krb}, nil, testKerberos("nn/_HOST@R", ""), methodKerberos, nil, ""},
		{"principal without realm", []*pb.RpcSaslProto_SaslAuth{krb}, nil, testKerberos("nn/_HOST", ""), methodKerberos, nil, ""},
		{"explicit host", []*pb.RpcSaslProto_SaslAuth{krb}, nil, testKerberos("nn/localhost@R", ""), methodKerberos, nil, ""},
		{"pattern", []*pb.RpcSaslProto_SaslAuth{krb}, nil, testKerberos("", "nn/*@R"), methodKerberos, nil, ""},
		{"pattern with a group", []*pb.RpcSaslProto_SaslAuth{krb}, nil, testKerberos("", "{rm,nn}/local?ost@R"), methodKerberos, nil, ""},
		{"token only offered, kerberos held", []*pb.RpcSaslProto_SaslAuth{token}, nil, testKerberos("nn/_HOST@R", ""), "",
			func(err error) bool { var ae *AuthError; return errors.As(err, &ae) }, "[TOKEN]"},
		{"nothing held", []*pb.RpcSaslProto_SaslAuth{token, krb}, nil, nil, "",
			func(err error) bool { var ae *AuthError; return errors.As(err, &ae) }, "cannot authenticate via [TOKEN, KERBEROS]: no token; no Kerberos login"},
		{"wrong server principal", []*pb.RpcSaslProto_SaslAuth{auth("KERBEROS", "GSSAPI", "nn", "elsewhere")}, nil, testKerberos("nn/_HOST@R", ""), "",
			func(err error) bool { var pe *PrincipalError; return errors.As(err, &pe) },
			"has Kerberos principal nn/elsewhere@R, but dfs.namenode.kerberos.principal expects nn/localhost@R"},
		{"pattern mismatch", []*pb.RpcSaslProto_SaslAuth{krb}, nil, testKerberos("", "rm/*@R"), "",
			func(err error) bool { var pe *PrincipalError; return errors.As(err, &pe) }, `does not match dfs.namenode.kerberos.principal.pattern "rm/*@R"`},
		{"simple server", []*pb.RpcSaslProto_SaslAuth{simple}, nil, nil, methodSimple, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &Config{Addr: "127.0.0.1:8020", Kerberos: tt.kerberos}
			a, m, err := selectAuth(context.Background(), cfg, tt.tok, tt.offer)
			if tt.want == "" {
				if err == nil || !tt.err(err) || !strings.Contains(err.Error(), tt.says) {
					t.Fatalf("err = %T %v, want one saying %q", err, err, tt.says)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := a.GetMethod()
			if m == nil && got != methodSimple {
				t.Fatalf("no mechanism for %s", got)
			}
			if got != tt.want {
				t.Fatalf("chose %s, want %s", got, tt.want)
			}
			if g, ok := m.(*gssapiClient); ok && g.spn != "nn/localhost@R" {
				t.Errorf("ticket for %s", g.spn)
			}
		})
	}
}

// TestSelectToken: a token is used only towards the server its service names.
func TestSelectToken(t *testing.T) {
	hdfs := &Token{Kind: "HDFS_DELEGATION_TOKEN", Service: "127.0.0.1:8020", Password: []byte("a")}
	other := &Token{Kind: "HDFS_DELEGATION_TOKEN", Service: "10.0.0.9:8020", Password: []byte("b")}
	rm := &Token{Kind: "RM_DELEGATION_TOKEN", Service: "10.0.0.1:8032,127.0.0.1:8032", Password: []byte("c")}
	held := []*Token{other, hdfs, rm}
	tests := []struct {
		addr, kind string
		byName     bool
		want       *Token
	}{
		{"127.0.0.1:8020", "HDFS_DELEGATION_TOKEN", false, hdfs},
		{"localhost:8020", "HDFS_DELEGATION_TOKEN", false, hdfs},
		{"localhost:8021", "HDFS_DELEGATION_TOKEN", false, nil},
		{"localhost:8020", "HDFS_DELEGATION_TOKEN", true, nil}, // by name: "localhost:8020"
		{"127.0.0.1:8032", "RM_DELEGATION_TOKEN", false, rm},   // one of an HA list
		{"127.0.0.1:8032", "HDFS_DELEGATION_TOKEN", false, nil},
	}
	for _, tt := range tests {
		cfg := &Config{Addr: tt.addr, Tokens: held, TokenKind: tt.kind, TokenServiceByName: tt.byName}
		got, err := cfg.selectToken(context.Background())
		if err != nil || got != tt.want {
			t.Errorf("%s %s byName=%v: got %v, %v; want %v", tt.addr, tt.kind, tt.byName, got, err, tt.want)
		}
	}
}

// TestTokenChosenOverWire: against a server that offers TOKEN and KERBEROS, a
// client holding the server's delegation token among others does DIGEST-MD5 with
// it; one holding only another server's token and no login fails at once, saying
// why, without the connect retries.
func TestTokenChosenOverWire(t *testing.T) {
	s := newFakeServer(t, echo)
	s.token, s.qops, s.kerberos = testToken, "auth-conf", "nn/localhost"
	s.start()
	mine := *testToken
	mine.Kind, mine.Service = "HDFS_DELEGATION_TOKEN", s.addr()
	theirs := mine
	theirs.Service, theirs.Password = "10.1.1.1:8020", []byte("other")
	c := newTestClient(t, s, func(cfg *Config) {
		cfg.Tokens, cfg.TokenKind, cfg.Kerberos = []*Token{&theirs, &mine}, "HDFS_DELEGATION_TOKEN", testKerberos("nn/_HOST@R", "")
	})
	if got, err := callEcho(context.Background(), c, "x"); err != nil || got != "echo:x" {
		t.Fatalf("call = %q, %v", got, err)
	}
	if q := s.connections()[0].qop; q != QOPAuthConf {
		t.Errorf("qop %s", q)
	}
	c2 := newTestClient(t, s, func(cfg *Config) {
		cfg.Tokens, cfg.TokenKind, cfg.MaxRetries = []*Token{&theirs}, "HDFS_DELEGATION_TOKEN", 5
	})
	_, err := callEcho(context.Background(), c2, "x")
	var ae *AuthError
	var ce *ConnectError
	if !errors.As(err, &ae) || !errors.As(err, &ce) || ce.Attempts != 1 {
		t.Fatalf("err = %v, want an AuthError after one attempt", err)
	}
}
