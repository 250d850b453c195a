package ipc

import "errors"

// DigestMD5 is the client side of a DIGEST-MD5 exchange with a token, for the
// Hadoop protocols that carry SASL outside RPC: HDFS's DataTransferProtocol
// (SaslDataTransferClient), whose DataNodes check block access tokens. It is
// the mechanism RPC's TOKEN authentication uses, exported.
type DigestMD5 struct{ c *digestClient }

// NewDigestMD5 is a DIGEST-MD5 client for t towards protocol/serverID (the
// digest-uri, "hdfs/0" for DataNodes), wanting at least want.
func NewDigestMD5(t *Token, protocol, serverID string, want QOP) *DigestMD5 {
	return &DigestMD5{c: newDigestClient(t, protocol, serverID, want)}
}

// Step answers the server's challenge: first the digest-challenge, then the
// rspauth, which it checks.
func (d *DigestMD5) Step(challenge []byte) ([]byte, error) { return d.c.step(challenge) }

// Complete reports whether the server proved it knows the token's password.
func (d *DigestMD5) Complete() bool { return d.c.complete() }

// QOP is the protection negotiated.
func (d *DigestMD5) QOP() QOP { return d.c.qop }

// Unwrap opens a message the server wrapped with the negotiated integrity or
// privacy layer.
func (d *DigestMD5) Unwrap(b []byte) ([]byte, error) {
	l := d.c.layer()
	if l == nil {
		return nil, errors.New("ipc: DIGEST-MD5 exchange has no security layer (incomplete, or auth only)")
	}
	return l.unwrap(b)
}
