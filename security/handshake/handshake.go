// Package handshake is how Spindle's own connections prove that a peer holds the
// application's secret: executors registering with the driver, the client-mode
// ApplicationMaster attaching to its driver, and callers of a shuffle service. The
// secret itself never travels; a proof is an HMAC-SHA256 keyed by it over what the
// proof is for and the fields it binds, so a proof made for one purpose or one set of
// fields never verifies for another.
package handshake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// Purposes name what a proof is for; each use has its own, so that a proof captured
// from one protocol is worthless in another.
const (
	// ExecutorRegister: an executor registering with its driver (application,
	// executor id).
	ExecutorRegister = "spindle executor register v1"
	// AMAttach: the client-mode ApplicationMaster attaching to its driver
	// (application).
	AMAttach = "spindle am attach v1"
	// ShuffleCall: one call to a shuffle service (application, method, nonce).
	ShuffleCall = "spindle shuffle call v1"
)

// Proof is the HMAC-SHA256, keyed by secret, of purpose and fields. Each is
// length-prefixed, so no two different lists of fields give the same input.
func Proof(secret []byte, purpose string, fields ...string) []byte {
	m := hmac.New(sha256.New, secret)
	var n [binary.MaxVarintLen64]byte
	for _, f := range append([]string{purpose}, fields...) {
		m.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		m.Write([]byte(f))
	}
	return m.Sum(nil)
}

// Verify reports whether proof is Proof(secret, purpose, fields...), in constant
// time.
func Verify(secret, proof []byte, purpose string, fields ...string) bool {
	return hmac.Equal(proof, Proof(secret, purpose, fields...))
}
