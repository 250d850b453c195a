package ipc

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// digestClient is the client side of SASL DIGEST-MD5 (RFC 2831) as Hadoop
// uses it for TOKEN auth: username and password are the base64 of the
// token's identifier and password (SaslRpcServer.encodeIdentifier).
type digestClient struct {
	user, pass, digestURI string
	want                  QOP
	cnonce                string // fixed by tests; random otherwise

	state    int // 0 = awaiting challenge, 1 = awaiting rspauth, 2 = done
	rspauth  string
	ha1      [md5.Size]byte
	qop      QOP
	cipher   string
	peerBuf  int // the server's maxbuf
	secLayer securityLayer
}

// digestMaxBuf is the maxbuf we advertise (JDK's default).
const digestMaxBuf = 65536

func newDigestClient(t *Token, protocol, serverID string, want QOP) *digestClient {
	return &digestClient{
		user:      base64.StdEncoding.EncodeToString(t.Identifier),
		pass:      base64.StdEncoding.EncodeToString(t.Password),
		digestURI: protocol + "/" + serverID,
		want:      want,
	}
}

func (d *digestClient) complete() bool       { return d.state == 2 }
func (d *digestClient) layer() securityLayer { return d.secLayer }

func (d *digestClient) step(challenge []byte) ([]byte, error) {
	switch d.state {
	case 0:
		return d.respond(challenge)
	case 1:
		dirs, err := parseDirectives(string(challenge))
		if err != nil {
			return nil, fmt.Errorf("parse rspauth: %w", err)
		}
		got := dirs["rspauth"]
		if subtle.ConstantTimeCompare([]byte(got), []byte(d.rspauth)) != 1 {
			return nil, errors.New("server's rspauth does not match: the server does not know the token's password")
		}
		d.state = 2
		if d.qop != QOPAuth {
			l, err := newDigestLayer(d.ha1[:], d.qop, d.cipher, true, d.peerBuf)
			if err != nil {
				return nil, err
			}
			d.secLayer = l
		}
		return nil, nil
	}
	return nil, errors.New("DIGEST-MD5 exchange already complete")
}

// respond answers the server's digest-challenge with a digest-response.
func (d *digestClient) respond(challenge []byte) ([]byte, error) {
	dirs, err := parseDirectives(string(challenge))
	if err != nil {
		return nil, fmt.Errorf("parse challenge: %w", err)
	}
	nonce := dirs["nonce"]
	if nonce == "" {
		return nil, errors.New("challenge has no nonce")
	}
	if a := dirs["algorithm"]; !strings.EqualFold(a, "md5-sess") {
		return nil, fmt.Errorf("challenge algorithm %q, want md5-sess", a)
	}
	qop, err := chooseQOP(d.want, dirs["qop"])
	if err != nil {
		return nil, err
	}
	d.qop = qop
	if qop == QOPAuthConf {
		if d.cipher, err = chooseCipher(dirs["cipher"]); err != nil {
			return nil, err
		}
	}
	d.peerBuf = digestMaxBuf
	if mb := dirs["maxbuf"]; mb != "" {
		if _, err := fmt.Sscanf(mb, "%d", &d.peerBuf); err != nil || d.peerBuf <= 16 {
			return nil, fmt.Errorf("challenge maxbuf %q", mb)
		}
	}
	if d.cnonce == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("cnonce: %w", err)
		}
		d.cnonce = base64.StdEncoding.EncodeToString(b)
	}
	realm := dirs["realm"]
	const nc = "00000001"
	d.ha1 = digestHA1(d.user, realm, d.pass, nonce, d.cnonce)
	resp := digestResponse(d.ha1, "AUTHENTICATE", d.digestURI, nonce, nc, d.cnonce, qop)
	d.rspauth = digestResponse(d.ha1, "", d.digestURI, nonce, nc, d.cnonce, qop)

	var b strings.Builder
	fmt.Fprintf(&b, `charset=utf-8,username=%s,realm=%s,nonce=%s,nc=%s,cnonce=%s,digest-uri=%s,maxbuf=%d,response=%s,qop=%s`,
		quote(d.user), quote(realm), quote(nonce), nc, quote(d.cnonce), quote(d.digestURI), digestMaxBuf, resp, qop)
	if d.cipher != "" {
		fmt.Fprintf(&b, ",cipher=%s", quote(d.cipher))
	}
	d.state = 1
	return []byte(b.String()), nil
}

// digestHA1 is H(A1) of RFC 2831 §2.1.2.1 with md5-sess and no authzid.
func digestHA1(user, realm, pass, nonce, cnonce string) [md5.Size]byte {
	inner := md5.Sum([]byte(user + ":" + realm + ":" + pass))
	a1 := append(inner[:], ":"+nonce+":"+cnonce...)
	return md5.Sum(a1)
}

// digestResponse computes the response-value (method "AUTHENTICATE") or
// the rspauth value (method "").
func digestResponse(ha1 [md5.Size]byte, method, uri, nonce, nc, cnonce string, qop QOP) string {
	a2 := method + ":" + uri
	if qop != QOPAuth {
		a2 += ":00000000000000000000000000000000"
	}
	ha2 := md5.Sum([]byte(a2))
	kd := hex.EncodeToString(ha1[:]) + ":" + nonce + ":" + nc + ":" + cnonce + ":" + string(qop) + ":" + hex.EncodeToString(ha2[:])
	sum := md5.Sum([]byte(kd))
	return hex.EncodeToString(sum[:])
}

// chooseQOP picks the requested QOP if offered, else the weakest offered
// one stronger than it. An absent qop directive means "auth".
func chooseQOP(want QOP, offer string) (QOP, error) {
	if offer == "" {
		offer = string(QOPAuth)
	}
	var best QOP
	for _, o := range strings.Split(offer, ",") {
		q := QOP(strings.TrimSpace(o))
		if q.rank() < want.rank() || q.rank() < 0 {
			continue
		}
		if best == "" || q.rank() < best.rank() {
			best = q
		}
	}
	if best == "" {
		return "", fmt.Errorf("server offers qop %q, at least %s required", offer, want)
	}
	return best, nil
}

// digestCiphers lists the ciphers we implement, most preferred first (the
// JDK's choice among its high-strength ciphers is rc4).
var digestCiphers = []string{"rc4", "rc4-56", "rc4-40"}

func chooseCipher(offer string) (string, error) {
	offered := map[string]bool{}
	for _, c := range strings.Split(offer, ",") {
		offered[strings.TrimSpace(c)] = true
	}
	for _, c := range digestCiphers {
		if offered[c] {
			return c, nil
		}
	}
	return "", fmt.Errorf("no supported cipher among %q (have %v)", offer, digestCiphers)
}

// quote renders a quoted-string, escaping '"' and '\'.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// parseDirectives parses "k=v,k=\"v\"" lists (RFC 2831 §7.1). A repeated
// key keeps its first value, except qop and cipher lists which are quoted.
func parseDirectives(s string) (map[string]string, error) {
	out := map[string]string{}
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ',' || s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
			i++
		}
		if i == len(s) {
			break
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			return nil, fmt.Errorf("directive without '=' at %d", i)
		}
		key := strings.ToLower(strings.TrimSpace(s[i : i+eq]))
		i += eq + 1
		for i < len(s) && s[i] == ' ' {
			i++
		}
		var val strings.Builder
		if i < len(s) && s[i] == '"' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				i++
				if c == '\\' && i < len(s) {
					val.WriteByte(s[i])
					i++
					continue
				}
				if c == '"' {
					closed = true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return nil, fmt.Errorf("unterminated quoted value for %q", key)
			}
		} else {
			end := strings.IndexByte(s[i:], ',')
			if end < 0 {
				end = len(s) - i
			}
			val.WriteString(strings.TrimSpace(s[i : i+end]))
			i += end
		}
		if _, dup := out[key]; !dup {
			out[key] = val.String()
		}
	}
	return out, nil
}
