package hdfs

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/hdfs/pb"
	"github.com/spindle-engine/spindle/ipc"
	ipcpb "github.com/spindle-engine/spindle/ipc/pb"
)

// SASL on a DataNode connection, as Hadoop's SaslDataTransferClient does it for
// dfs.data.transfer.protection: the magic number, then DIGEST-MD5 with the block
// access token (user and password base64, digest-uri hdfs/0) in
// DataTransferEncryptorMessageProtos. With privacy the client also offers
// AES/CTR/NoPadding; the DataNode answers with keys and IVs, the keys wrapped by
// the DIGEST-MD5 privacy layer, and the connection is AES/CTR from then on
// (DataTransferSaslUtil.createStreamPair). The DIGEST-MD5 integrity and privacy
// streams themselves (SaslOutputStream) are not spoken: a DataNode that
// negotiates them without a cipher option gets an error.
const (
	saslMagic    = 0xDEADBEEF
	saslProtocol = "hdfs"
	saslServerID = "0"
)

// errSASLUnsupported is a DataNode's SASL negotiation that ended in a
// protection this writer does not speak.
var errSASLUnsupported = errors.New("DataNode negotiated DIGEST-MD5 integrity or privacy streams without AES/CTR: set dfs.encrypt.data.transfer.cipher.suites=AES/CTR/NoPadding (Spindle's writer speaks AES/CTR or authentication only)")

// protectionQOP is the least QOP a dfs.data.transfer.protection level asks.
func protectionQOP(protection string) ipc.QOP {
	switch protection {
	case "privacy":
		return ipc.QOPAuthConf
	case "integrity":
		return ipc.QOPAuthInt
	}
	return ipc.QOPAuth
}

// saslConnect authenticates conn to a DataNode with the block token tok and
// returns the connection to speak through: conn itself after authentication
// only, else an AES/CTR stream over it.
func saslConnect(conn net.Conn, br *bufio.Reader, tok *ipcpb.TokenProto, protection string) (net.Conn, *bufio.Reader, error) {
	if tok == nil {
		return nil, nil, errors.New("SASL to DataNode: the NameNode sent no block token")
	}
	want := protectionQOP(protection)
	d := ipc.NewDigestMD5(&ipc.Token{Identifier: tok.GetIdentifier(), Password: tok.GetPassword(), Kind: tok.GetKind(), Service: tok.GetService()}, saslProtocol, saslServerID, want)
	first, err := saslMessage(&pb.DataTransferEncryptorMessageProto{Status: pb.DataTransferEncryptorMessageProto_SUCCESS.Enum(), Payload: []byte{}})
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.Write(append(binary.BigEndian.AppendUint32(nil, saslMagic), first...)); err != nil {
		return nil, nil, fmt.Errorf("SASL to DataNode: %w", err)
	}
	challenge, err := readSASL(br)
	if err != nil {
		return nil, nil, err
	}
	resp, err := d.Step(challenge.GetPayload())
	if err != nil {
		return nil, nil, fmt.Errorf("SASL to DataNode: %w", err)
	}
	second := &pb.DataTransferEncryptorMessageProto{Status: pb.DataTransferEncryptorMessageProto_SUCCESS.Enum(), Payload: resp}
	if d.QOP() == ipc.QOPAuthConf {
		second.CipherOption = []*pb.CipherOptionProto{{Suite: pb.CipherSuiteProto_AES_CTR_NOPADDING.Enum()}}
	}
	b, err := saslMessage(second)
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.Write(b); err != nil {
		return nil, nil, fmt.Errorf("SASL to DataNode: %w", err)
	}
	final, err := readSASL(br)
	if err != nil {
		return nil, nil, err
	}
	if _, err := d.Step(final.GetPayload()); err != nil {
		return nil, nil, fmt.Errorf("SASL to DataNode: %w", err)
	}
	opts := final.GetCipherOption()
	switch {
	case len(opts) > 0 && opts[0].GetSuite() == pb.CipherSuiteProto_AES_CTR_NOPADDING:
		o := opts[0]
		inKey, err := d.Unwrap(o.GetInKey())
		if err != nil {
			return nil, nil, fmt.Errorf("SASL to DataNode: cipher key: %w", err)
		}
		outKey, err := d.Unwrap(o.GetOutKey())
		if err != nil {
			return nil, nil, fmt.Errorf("SASL to DataNode: cipher key: %w", err)
		}
		c, err := newAESConn(conn, br, inKey, o.GetInIv(), outKey, o.GetOutIv())
		if err != nil {
			return nil, nil, err
		}
		return c, bufio.NewReader(c), nil
	case d.QOP() == ipc.QOPAuth:
		return conn, br, nil
	}
	return nil, nil, fmt.Errorf("SASL to DataNode: %w", errSASLUnsupported)
}

// saslMessage is m, varint-prefixed.
func saslMessage(m *pb.DataTransferEncryptorMessageProto) ([]byte, error) {
	body, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("SASL to DataNode: %w", err)
	}
	return append(protowire.AppendVarint(nil, uint64(len(body))), body...), nil
}

// readSASL reads the DataNode's next SASL message; one that is not SUCCESS is
// an error (an unknown or expired block token, say).
func readSASL(br *bufio.Reader) (*pb.DataTransferEncryptorMessageProto, error) {
	m := &pb.DataTransferEncryptorMessageProto{}
	if err := readDelimited(br, m); err != nil {
		return nil, fmt.Errorf("SASL to DataNode: %w", err)
	}
	if m.GetStatus() != pb.DataTransferEncryptorMessageProto_SUCCESS {
		return nil, fmt.Errorf("SASL to DataNode: %v: %s", m.GetStatus(), m.GetMessage())
	}
	return m, nil
}

// aesConn is a DataNode connection under AES/CTR: writes with one key and IV,
// reads with the other. Reads go through the reader the handshake used, which
// may hold bytes already.
type aesConn struct {
	net.Conn
	r io.Reader
	w io.Writer
}

func newAESConn(conn net.Conn, br *bufio.Reader, wKey, wIV, rKey, rIV []byte) (*aesConn, error) {
	wb, err := aes.NewCipher(wKey)
	if err != nil {
		return nil, fmt.Errorf("SASL to DataNode: %w", err)
	}
	rb, err := aes.NewCipher(rKey)
	if err != nil {
		return nil, fmt.Errorf("SASL to DataNode: %w", err)
	}
	if len(wIV) != aes.BlockSize || len(rIV) != aes.BlockSize {
		return nil, fmt.Errorf("SASL to DataNode: IVs of %d and %d bytes", len(wIV), len(rIV))
	}
	return &aesConn{
		Conn: conn,
		r:    cipher.StreamReader{S: cipher.NewCTR(rb, rIV), R: br},
		w:    cipher.StreamWriter{S: cipher.NewCTR(wb, wIV), W: conn},
	}, nil
}

func (c *aesConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *aesConn) Write(p []byte) (int, error) { return c.w.Write(p) }
