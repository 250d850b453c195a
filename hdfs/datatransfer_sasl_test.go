package hdfs

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"io"
	"net"
	"testing"
)

// TestAESConn: after the SASL handshake the client writes with the cipher
// option's in key and IV and reads with its out ones, as
// DataTransferSaslUtil.createStreamPair sets up the client side: what goes on
// the wire is AES/CTR of the plaintext under (in key, in IV), and what the
// DataNode sends under (out key, out IV) reads back as its plaintext.
func TestAESConn(t *testing.T) {
	inKey, inIV := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16)
	outKey, outIV := bytes.Repeat([]byte{3}, 16), bytes.Repeat([]byte{4}, 16)
	ctr := func(key, iv, p []byte) []byte {
		b, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, len(p))
		cipher.NewCTR(b, iv).XORKeyStream(out, p)
		return out
	}
	client, dn := net.Pipe()
	defer client.Close()
	defer dn.Close()
	c, err := newAESConn(client, bufio.NewReader(client), inKey, inIV, outKey, outIV)
	if err != nil {
		t.Fatal(err)
	}
	up := bytes.Repeat([]byte("packet to the DataNode "), 100)
	down := []byte("ack from the DataNode")
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, len(up))
		io.ReadFull(dn, b)
		got <- b
		dn.Write(ctr(outKey, outIV, down))
	}()
	if _, err := c.Write(up[:7]); err != nil { // the stream continues across writes
		t.Fatal(err)
	}
	if _, err := c.Write(up[7:]); err != nil {
		t.Fatal(err)
	}
	if wire := <-got; !bytes.Equal(wire, ctr(inKey, inIV, up)) {
		t.Fatalf("wire bytes are not AES/CTR under the in key and IV")
	}
	b := make([]byte, len(down))
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, down) {
		t.Fatalf("read %q, want %q", b, down)
	}
	if _, err := newAESConn(client, bufio.NewReader(client), inKey, inIV[:8], outKey, outIV); err == nil {
		t.Fatal("an 8-byte IV was accepted")
	}
}
