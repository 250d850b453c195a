package handshake

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
)

// maxRecord is the largest plaintext of one encrypted record: large enough that the
// per-record cost (a header, a tag, a nonce) is small next to shuffle chunks, small
// enough that a reader buffers little.
const maxRecord = 64 << 10

// recordConn encrypts a connection as a sequence of records, each
// uint32 big-endian ciphertext length | AES-256-GCM(plaintext), with one key per
// direction and the record's sequence number as its nonce, so that records cannot be
// reordered, replayed or moved to the other direction.
type recordConn struct {
	net.Conn

	rmu   sync.Mutex
	open  cipher.AEAD
	rseq  uint64
	rbuf  []byte // ciphertext scratch
	plain []byte // decrypted, not yet read

	wmu  sync.Mutex
	seal cipher.AEAD
	wseq uint64
	wbuf []byte
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// encrypt wraps conn in records keyed for the client side (client) or the server
// side of r.
func encrypt(conn net.Conn, r *Result, client bool) (net.Conn, error) {
	wkey, rkey := r.keys.s2c, r.keys.c2s
	if client {
		wkey, rkey = r.keys.c2s, r.keys.s2c
	}
	seal, err := newGCM(wkey)
	if err != nil {
		return nil, err
	}
	open, err := newGCM(rkey)
	if err != nil {
		return nil, err
	}
	return &recordConn{Conn: conn, seal: seal, open: open}, nil
}

func nonceOf(seq uint64, size int) []byte {
	n := make([]byte, size)
	binary.BigEndian.PutUint64(n[size-8:], seq)
	return n
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), maxRecord)]
		size := len(chunk) + c.seal.Overhead()
		c.wbuf = append(c.wbuf[:0], 0, 0, 0, 0)
		binary.BigEndian.PutUint32(c.wbuf, uint32(size))
		c.wbuf = c.seal.Seal(c.wbuf, nonceOf(c.wseq, c.seal.NonceSize()), chunk, c.wbuf[:4])
		c.wseq++
		if _, err := c.Conn.Write(c.wbuf); err != nil {
			return written, err
		}
		written += len(chunk)
		p = p[len(chunk):]
	}
	return written, nil
}

func (c *recordConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for len(c.plain) == 0 {
		if err := c.readRecord(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.plain)
	c.plain = c.plain[n:]
	return n, nil
}

func (c *recordConn) readRecord() error {
	var head [4]byte
	if _, err := io.ReadFull(c.Conn, head[:]); err != nil {
		return err
	}
	size := int(binary.BigEndian.Uint32(head[:]))
	if size < c.open.Overhead() || size > maxRecord+c.open.Overhead() {
		return fmt.Errorf("handshake: encrypted record of %d bytes", size)
	}
	if cap(c.rbuf) < size {
		c.rbuf = make([]byte, size)
	}
	c.rbuf = c.rbuf[:size]
	if _, err := io.ReadFull(c.Conn, c.rbuf); err != nil {
		return err
	}
	plain, err := c.open.Open(c.rbuf[:0], nonceOf(c.rseq, c.open.NonceSize()), c.rbuf, head[:])
	if err != nil {
		return fmt.Errorf("handshake: encrypted record %d does not authenticate: %w", c.rseq, err)
	}
	c.rseq++
	c.plain = plain
	return nil
}
