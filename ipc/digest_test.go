package ipc

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestDigestRFC2831Example checks the response and rspauth of the
// example in RFC 2831 §4.
func TestDigestRFC2831Example(t *testing.T) {
	d := &digestClient{user: "chris", pass: "secret", digestURI: "imap/elwood.innosoft.com", want: QOPAuth, cnonce: "OA6MHXh6VqTrRk"}
	resp, err := d.step([]byte(`realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8`))
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := parseDirectives(string(resp))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"username": "chris", "realm": "elwood.innosoft.com", "nonce": "OA6MG9tEQGm2hh",
		"cnonce": "OA6MHXh6VqTrRk", "nc": "00000001", "qop": "auth",
		"digest-uri": "imap/elwood.innosoft.com", "response": "d388dad90d4bbd760a152321f2143af7",
	}
	for k, v := range want {
		if dirs[k] != v {
			t.Errorf("%s = %q, want %q", k, dirs[k], v)
		}
	}
	if _, ok := dirs["cipher"]; ok {
		t.Errorf("cipher sent with qop auth: %s", resp)
	}
	if _, err := d.step([]byte("rspauth=ffffffffffffffffffffffffffffffff")); err == nil {
		t.Fatal("wrong rspauth accepted")
	}
	if _, err := d.step([]byte("rspauth=ea40f60335c427b5527b84dbabcdfffd")); err != nil {
		t.Fatal(err)
	}
	if !d.complete() || d.layer() != nil {
		t.Fatalf("complete=%v layer=%v, want complete with no layer", d.complete(), d.layer())
	}
}

func TestDigestChallengeErrors(t *testing.T) {
	tests := []struct {
		name, challenge string
		want            QOP
	}{
		{"no nonce", `realm="r",qop="auth",algorithm=md5-sess`, QOPAuth},
		{"bad algorithm", `nonce="n",algorithm=md5`, QOPAuth},
		{"qop too weak", `nonce="n",qop="auth,auth-int",algorithm=md5-sess`, QOPAuthConf},
		{"no cipher", `nonce="n",qop="auth-conf",cipher="des,3des",algorithm=md5-sess`, QOPAuthConf},
		{"unterminated", `nonce="n,algorithm=md5-sess`, QOPAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDigestClient(&Token{Identifier: []byte("id"), Password: []byte("pw")}, "", "default", tt.want)
			if _, err := d.step([]byte(tt.challenge)); err == nil {
				t.Fatalf("challenge %q accepted", tt.challenge)
			}
		})
	}
}

func TestChooseQOP(t *testing.T) {
	tests := []struct {
		want   QOP
		offer  string
		got    QOP
		hasErr bool
	}{
		{QOPAuth, "", QOPAuth, false},
		{QOPAuth, "auth-conf,auth-int", QOPAuthInt, false},
		{QOPAuthInt, "auth,auth-int,auth-conf", QOPAuthInt, false},
		{QOPAuthInt, "auth-conf", QOPAuthConf, false},
		{QOPAuthConf, "auth,auth-int", "", true},
	}
	for _, tt := range tests {
		got, err := chooseQOP(tt.want, tt.offer)
		if (err != nil) != tt.hasErr || got != tt.got {
			t.Errorf("chooseQOP(%s, %q) = %q, %v; want %q, err %v", tt.want, tt.offer, got, err, tt.got, tt.hasErr)
		}
	}
}

func TestParseProtection(t *testing.T) {
	tests := []struct {
		in   string
		want QOP
	}{
		{"", QOPAuth}, {"authentication", QOPAuth}, {"integrity", QOPAuthInt},
		{"Privacy", QOPAuthConf}, {"authentication,privacy", QOPAuthConf},
	}
	for _, tt := range tests {
		if got, err := ParseProtection(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseProtection(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseProtection("secret"); err == nil {
		t.Error("ParseProtection(secret) accepted")
	}
}

func TestParseDirectivesEscapes(t *testing.T) {
	got, err := parseDirectives(` realm="a\"b\\c" , qop="auth,auth-int",stale=true,,maxbuf=1024`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"realm": `a"b\c`, "qop": "auth,auth-int", "stale": "true", "maxbuf": "1024"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if q := quote(`a"b\c`); q != `"a\"b\\c"` {
		t.Errorf("quote = %s", q)
	}
}

// TestDigestLayer wraps in both directions with client and server layers
// derived from the same H(A1), for every qop/cipher pair.
func TestDigestLayer(t *testing.T) {
	ha1 := bytes.Repeat([]byte{0x5a}, 16)
	tests := []struct {
		qop    QOP
		cipher string
	}{{QOPAuthInt, ""}, {QOPAuthConf, "rc4"}, {QOPAuthConf, "rc4-56"}, {QOPAuthConf, "rc4-40"}}
	for _, tt := range tests {
		t.Run(string(tt.qop)+tt.cipher, func(t *testing.T) {
			cl, err := newDigestLayer(ha1, tt.qop, tt.cipher, true, 1024)
			if err != nil {
				t.Fatal(err)
			}
			sv, err := newDigestLayer(ha1, tt.qop, tt.cipher, false, 1024)
			if err != nil {
				t.Fatal(err)
			}
			for i, msg := range []string{"first frame", "", strings.Repeat("x", 300)} {
				tok, err := cl.wrap([]byte(msg))
				if err != nil {
					t.Fatal(err)
				}
				if len(tok) != len(msg)+16 {
					t.Errorf("token %d is %d bytes, want %d", i, len(tok), len(msg)+16)
				}
				if tt.qop == QOPAuthConf && len(msg) > 0 && bytes.Contains(tok, []byte(msg)) {
					t.Errorf("auth-conf token %d carries the plaintext", i)
				}
				got, err := sv.unwrap(tok)
				if err != nil || string(got) != msg {
					t.Fatalf("server unwrap %d = %q, %v", i, got, err)
				}
				back, err := sv.wrap([]byte("reply " + msg))
				if err != nil {
					t.Fatal(err)
				}
				got, err = cl.unwrap(back)
				if err != nil || string(got) != "reply "+msg {
					t.Fatalf("client unwrap %d = %q, %v", i, got, err)
				}
			}
			// A replayed or tampered token must fail.
			tok, _ := cl.wrap([]byte("payload"))
			bad := append([]byte{}, tok...)
			bad[0] ^= 1
			if _, err := sv.unwrap(bad); !errors.Is(err, errDigestMAC) {
				t.Errorf("tampered token: err = %v, want MAC failure", err)
			}
			if _, err := sv.unwrap(tok[:10]); err == nil {
				t.Error("short token accepted")
			}
		})
	}
}

// TestDigestLayerSequence rejects a token out of sequence.
func TestDigestLayerSequence(t *testing.T) {
	ha1 := bytes.Repeat([]byte{1}, 16)
	cl, _ := newDigestLayer(ha1, QOPAuthInt, "", true, 1024)
	sv, _ := newDigestLayer(ha1, QOPAuthInt, "", false, 1024)
	if _, err := cl.wrap([]byte("lost")); err != nil {
		t.Fatal(err)
	}
	tok, _ := cl.wrap([]byte("second"))
	if _, err := sv.unwrap(tok); err == nil || !strings.Contains(err.Error(), "sequence") {
		t.Fatalf("out-of-sequence token: err = %v", err)
	}
}
