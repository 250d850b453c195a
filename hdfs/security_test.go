package hdfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/security/delegation"
)

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func dt(service string, maxDate time.Time, seq int32) *ipc.Token {
	id := delegation.Identifier{Owner: "alice@R", Renewer: "yarn", IssueDate: maxDate.Add(-time.Hour), MaxDate: maxDate, SequenceNumber: seq}
	return &ipc.Token{Kind: delegation.KindHDFS, Service: service, Identifier: id.Writable(), Password: []byte{byte(seq)}}
}

// TestTokenChoice: a NameNode connection uses the unexpired token of its service
// with the latest max date; a connection whose token was replaced or expired is not
// handed out again, while one made with Kerberos or SIMPLE always is.
func TestTokenChoice(t *testing.T) {
	const svc = "127.0.0.1:8020"
	old, fresh := dt(svc, t0.Add(time.Hour), 1), dt(svc, t0.Add(2*time.Hour), 2)
	other := dt("10.0.0.1:8020", t0.Add(3*time.Hour), 3)
	now := t0
	var s tokenSet
	s.now = func() time.Time { return now }
	s.set([]*ipc.Token{old, other, {Kind: "RM_DELEGATION_TOKEN", Service: svc}})
	if got, _ := s.pick(svc); got != old {
		t.Fatalf("picked %v, want the only token of %s", got, svc)
	}
	if !s.usable(old, svc) || !s.usable(nil, svc) {
		t.Fatal("a current connection is not usable")
	}
	s.set([]*ipc.Token{old, fresh})
	if got, _ := s.pick(svc); got != fresh {
		t.Fatal("the renewed token is not chosen")
	}
	if s.usable(old, svc) {
		t.Fatal("a connection with a replaced token is still handed out")
	}
	now = t0.Add(3 * time.Hour)
	got, expired := s.pick(svc)
	if got != nil || !expired.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("after every max date: %v, expired %s", got, expired)
	}
	if s.usable(fresh, svc) {
		t.Fatal("a connection with an expired token is still handed out")
	}
}

// TestExpiredTokenFailsResolve: once every token of a NameNode is past its max date
// and there is no login, Resolve says access ended, before dialling.
func TestExpiredTokenFailsResolve(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	fss := NewFileSystems(Options{Tokens: []*ipc.Token{dt(addr, time.Now().Add(-time.Minute), 1)}})
	defer fss.Close()
	_, _, err = fss.Resolve(t.Context(), "hdfs://"+addr+"/x")
	var te *TokenExpiredError
	if !errors.As(err, &te) || te.Service != addr {
		t.Fatalf("err = %v, want TokenExpiredError for %s", err, addr)
	}
}

// TestColinmarcHandshakeDropped: colinmarc/hdfs's own preamble and connection
// context never reach the server, however they are split into writes; what follows
// them passes through.
func TestColinmarcHandshakeDropped(t *testing.T) {
	ctxFrame := []byte("context-proto")
	hs := append([]byte("hrpc\x09\x00\x00"), binary.BigEndian.AppendUint32(nil, uint32(len(ctxFrame)))...)
	hs = append(hs, ctxFrame...)
	call := []byte("\x00\x00\x00\x04call")
	for _, split := range []int{1, 3, 7, 11, len(hs), len(hs) + 2} {
		server, client := net.Pipe()
		got := make(chan []byte, 1)
		go func() {
			var b bytes.Buffer
			buf := make([]byte, 64)
			for b.Len() < len(call) {
				n, err := server.Read(buf)
				if err != nil {
					break
				}
				b.Write(buf[:n])
			}
			got <- b.Bytes()
		}()
		c := &colinmarcConn{Stream: &ipc.Stream{Conn: client}}
		all := append(append([]byte{}, hs...), call...)
		for len(all) > 0 {
			n := min(split, len(all))
			if _, err := c.Write(all[:n]); err != nil {
				t.Fatal(err)
			}
			all = all[n:]
		}
		if b := <-got; !bytes.Equal(b, call) {
			t.Errorf("split %d: server read %q, want %q", split, b, call)
		}
		client.Close()
		server.Close()
	}
	c := &colinmarcConn{Stream: &ipc.Stream{}}
	if _, err := c.Write([]byte("GET / HTTP/1.1")); !errors.Is(err, errNotPreamble) {
		t.Fatalf("a non-RPC write: %v", err)
	}
}

// TestSecurityFrom reads the cluster's settings.
func TestSecurityFrom(t *testing.T) {
	h := mapConf{
		"dfs.namenode.kerberos.principal": "nn/_HOST@R", "hadoop.rpc.protection": "authentication,privacy",
		"dfs.data.transfer.protection": "integrity, authentication", "hadoop.security.token.service.use_ip": "false",
	}
	s, err := SecurityFrom(h)
	if err != nil {
		t.Fatal(err)
	}
	want := Security{Principal: "nn/_HOST@R", RPCProtection: ipc.QOPAuthConf, DataTransferProtection: "integrity", TokenServiceByName: true}
	if s != want {
		t.Fatalf("%+v, want %+v", s, want)
	}
	h["dfs.encrypt.data.transfer"] = "true"
	if s, _ := SecurityFrom(h); s.DataTransferProtection != "privacy" {
		t.Fatalf("dfs.encrypt.data.transfer: %q", s.DataTransferProtection)
	}
	for suites, want := range map[string]bool{"": false, "AES/CTR/NoPadding": true, " aes/ctr/nopadding ,X": true, "X": false} {
		h["dfs.encrypt.data.transfer.cipher.suites"] = suites
		if s, _ := SecurityFrom(h); s.AESDataTransfer != want {
			t.Errorf("cipher suites %q: AESDataTransfer %v, want %v", suites, s.AESDataTransfer, want)
		}
	}
}

type mapConf map[string]string

func (m mapConf) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }
