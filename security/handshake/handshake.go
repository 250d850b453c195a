// Package handshake is the one way Spindle's own connections authenticate: driver
// and executors, the client-mode ApplicationMaster and its driver, reducers and
// shuffle services. Both ends prove that they hold the application's secret in a
// mutual challenge-response on the raw connection, before any RPC byte is read:
//
//	client → server  hello:   "SPDL", version, flags, application id, purpose, client nonce
//	server → client  reply:   flags, server nonce, server proof
//	client → server  finish:  client proof
//	server → client  verdict: accepted or refused
//
// Both proofs are HMAC-SHA256 under the secret over a hash of the whole exchange so
// far (t), with a label per side, so a proof recorded on one connection is worthless
// on any other: each side's nonce is fresh. The secret never travels. Keys for the
// optional encryption (AES-256-GCM records, one key per direction) and a channel
// binding value, which proofs made later on the connection include, come from
// HKDF-SHA256 of the secret salted with t. Until the verdict, a server reads at
// most one small hello and one proof within a deadline, and admits a bounded number
// of connections to the handshake at once, so an unauthenticated peer can make it
// allocate next to nothing.
//
// This is what Spark's spark.authenticate with spark.network.crypto protects (the
// peer holds the application secret; optionally nothing readable on the wire), done
// with the Go standard library's HMAC, HKDF and AES-GCM. Without encryption the
// connection is authenticated at its start only, as Spark's is.
package handshake

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
)

// Purposes name the protocols that run over a handshake's connection, and the
// proofs made over them; each is part of what both ends prove.
const (
	// PurposeExecutor: an executor's stream to its driver.
	PurposeExecutor = "executor"
	// PurposeAMLink: the client-mode ApplicationMaster's link to its driver.
	PurposeAMLink = "am-link"
	// PurposeShuffle: a reducer or an executor calling a shuffle service.
	PurposeShuffle = "shuffle"
	// ExecutorIdentity: an executor's proof, over its connection, that it holds the
	// credential the ApplicationMaster put in its container.
	ExecutorIdentity = "spindle executor identity v1"
)

const (
	magic        = "SPDL"
	version      = 1
	nonceSize    = 32
	proofSize    = sha256.Size
	maxAppID     = 255
	maxPurpose   = 64
	flagEncrypt  = 1 << 0
	verdictOK    = 0
	verdictRefus = 1
)

// ErrRefused is the error of a handshake the peer did not complete: a wrong or
// unknown secret, a replayed or forged proof, a peer that is not Spindle, or a
// server at its limit of handshakes.
var ErrRefused = errors.New("handshake refused")

// Result is what a completed handshake established.
type Result struct {
	App       string
	Purpose   string
	Encrypted bool
	// Binding is unique to this connection and known only to its two ends: proofs
	// made over the connection include it, so that they cannot be used on another.
	Binding []byte
	keys    sessionKeys
}

type sessionKeys struct{ c2s, s2c []byte }

// hello is the client's first message.
type hello struct {
	flags   byte
	app     string
	purpose string
	nonce   [nonceSize]byte
}

func (h *hello) encode() []byte {
	b := make([]byte, 0, 8+len(h.app)+len(h.purpose)+nonceSize)
	b = append(b, magic...)
	b = append(b, version, h.flags, byte(len(h.app)))
	b = append(b, h.app...)
	b = append(b, byte(len(h.purpose)))
	b = append(b, h.purpose...)
	return append(b, h.nonce[:]...)
}

// readHello reads a hello, never more than its largest legal size.
func readHello(r io.Reader) (*hello, []byte, error) {
	head := make([]byte, 7)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, nil, err
	}
	if string(head[:4]) != magic || head[4] != version {
		return nil, nil, fmt.Errorf("%w: not a Spindle handshake (version %d)", ErrRefused, head[4])
	}
	h := &hello{flags: head[5]}
	rest := make([]byte, int(head[6])+1)
	if _, err := io.ReadFull(r, rest); err != nil {
		return nil, nil, err
	}
	h.app = string(rest[:head[6]])
	plen := int(rest[head[6]])
	if plen > maxPurpose {
		return nil, nil, fmt.Errorf("%w: purpose of %d bytes", ErrRefused, plen)
	}
	tail := make([]byte, plen+nonceSize)
	if _, err := io.ReadFull(r, tail); err != nil {
		return nil, nil, err
	}
	h.purpose = string(tail[:plen])
	copy(h.nonce[:], tail[plen:])
	raw := append(append(head, rest...), tail...)
	return h, raw, nil
}

// transcript hashes the hello and the server's flags and nonce: both proofs and
// every key are bound to it.
func transcript(helloRaw []byte, serverFlags byte, serverNonce []byte) []byte {
	h := sha256.New()
	h.Write([]byte("spindle handshake v1\x00"))
	h.Write(helloRaw)
	h.Write([]byte{serverFlags})
	h.Write(serverNonce)
	return h.Sum(nil)
}

func proof(secret []byte, side string, t []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(side))
	m.Write(t)
	return m.Sum(nil)
}

func derive(secret, t []byte, r *Result) error {
	k, err := hkdf.Key(sha256.New, secret, t, "spindle keys v1", 96)
	if err != nil {
		return err
	}
	r.keys = sessionKeys{c2s: k[:32], s2c: k[32:64]}
	r.Binding = k[64:]
	return nil
}

// Client runs the client side on conn: it proves secret for app and checks that the
// server holds it too. purpose names the protocol (it is part of what both sides
// prove); encrypt asks for encrypted records.
func Client(conn net.Conn, app, purpose string, secret []byte, encrypt bool) (*Result, error) {
	if len(app) > maxAppID || len(purpose) > maxPurpose {
		return nil, fmt.Errorf("handshake: application id or purpose too long")
	}
	h := &hello{app: app, purpose: purpose}
	if encrypt {
		h.flags |= flagEncrypt
	}
	if _, err := rand.Read(h.nonce[:]); err != nil {
		return nil, err
	}
	raw := h.encode()
	if _, err := conn.Write(raw); err != nil {
		return nil, fmt.Errorf("handshake: send hello: %w", err)
	}
	reply := make([]byte, 1+nonceSize+proofSize)
	if _, err := io.ReadFull(conn, reply); err != nil {
		return nil, fmt.Errorf("handshake: %w: no reply: %w", ErrRefused, err)
	}
	sflags, snonce, sproof := reply[0], reply[1:1+nonceSize], reply[1+nonceSize:]
	t := transcript(raw, sflags, snonce)
	if !hmac.Equal(sproof, proof(secret, "server", t)) {
		return nil, fmt.Errorf("handshake: %w: bad credentials for application %s (the server's proof does not match this secret)", ErrRefused, app)
	}
	if _, err := conn.Write(proof(secret, "client", t)); err != nil {
		return nil, fmt.Errorf("handshake: send proof: %w", err)
	}
	var verdict [1]byte
	if _, err := io.ReadFull(conn, verdict[:]); err != nil || verdict[0] != verdictOK {
		return nil, fmt.Errorf("handshake: %w by the server", ErrRefused)
	}
	r := &Result{App: app, Purpose: purpose, Encrypted: (h.flags|sflags)&flagEncrypt != 0}
	return r, derive(secret, t, r)
}

// Secrets gives the secret of an application a server serves.
type Secrets interface {
	Secret(app string) ([]byte, bool)
}

// Server runs the server side on conn: it checks that the client holds the secret
// of the application it names, and proves it holds it too. requireEncryption makes
// the connection encrypted whatever the client asked.
func Server(conn net.Conn, secrets Secrets, requireEncryption bool) (*Result, error) {
	h, raw, err := readHello(conn)
	if err != nil {
		return nil, fmt.Errorf("handshake: read hello: %w", err)
	}
	secret, known := secrets.Secret(h.app)
	if !known {
		// Answer as for a known application, with a proof nobody can check, so that
		// a stranger learns nothing about which applications are here.
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
	}
	var sflags byte
	if requireEncryption {
		sflags |= flagEncrypt
	}
	snonce := make([]byte, nonceSize)
	if _, err := rand.Read(snonce); err != nil {
		return nil, err
	}
	t := transcript(raw, sflags, snonce)
	reply := append(append([]byte{sflags}, snonce...), proof(secret, "server", t)...)
	if _, err := conn.Write(reply); err != nil {
		return nil, fmt.Errorf("handshake: send reply: %w", err)
	}
	got := make([]byte, proofSize)
	if _, err := io.ReadFull(conn, got); err != nil {
		return nil, fmt.Errorf("handshake: read proof: %w", err)
	}
	if !known || !hmac.Equal(got, proof(secret, "client", t)) {
		conn.Write([]byte{verdictRefus})
		return nil, fmt.Errorf("handshake: %w: bad credentials for application %q", ErrRefused, h.app)
	}
	if _, err := conn.Write([]byte{verdictOK}); err != nil {
		return nil, fmt.Errorf("handshake: send verdict: %w", err)
	}
	r := &Result{App: h.app, Purpose: h.purpose, Encrypted: (h.flags|sflags)&flagEncrypt != 0}
	return r, derive(secret, t, r)
}

// Proof is the HMAC-SHA256, keyed by key, of purpose and fields, each
// length-prefixed, so that no two different lists give the same input. Proofs made
// over a connection include its Binding.
func Proof(key []byte, purpose string, fields ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	var n [binary.MaxVarintLen64]byte
	for _, f := range append([][]byte{[]byte(purpose)}, fields...) {
		m.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		m.Write(f)
	}
	return m.Sum(nil)
}

// Verify reports whether p is Proof(key, purpose, fields...), in constant time.
func Verify(key, p []byte, purpose string, fields ...[]byte) bool {
	return hmac.Equal(p, Proof(key, purpose, fields...))
}
