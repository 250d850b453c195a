package ipc

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"fmt"
)

// RFC 2831 §2.3–2.4 key derivation constants.
const (
	magicSignC2S = "Digest session key to client-to-server signing key magic constant"
	magicSignS2C = "Digest session key to server-to-client signing key magic constant"
	magicSealC2S = "Digest H(A1) to client-to-server sealing key magic constant"
	magicSealS2C = "Digest H(A1) to server-to-client sealing key magic constant"
)

// errDigestMAC is returned when a wrapped message fails verification.
var errDigestMAC = errors.New("DIGEST-MD5: message authentication failed")

// digestLayer is the DIGEST-MD5 integrity (auth-int) or confidentiality
// (auth-conf) layer. Each direction has its own key and sequence number;
// the RC4 streams continue across messages.
type digestLayer struct {
	kiSend, kiRecv   []byte
	seqSend, seqRecv uint32
	encSend, decRecv *rc4.Cipher // nil for auth-int
	maxRaw           int
}

// newDigestLayer derives the keys from H(A1); client selects the direction.
// peerMaxBuf bounds the size of each wrapped token we send.
func newDigestLayer(ha1 []byte, qop QOP, cipher string, client bool, peerMaxBuf int) (*digestLayer, error) {
	kic := md5.Sum(append(append([]byte{}, ha1...), magicSignC2S...))
	kis := md5.Sum(append(append([]byte{}, ha1...), magicSignS2C...))
	l := &digestLayer{kiSend: kic[:], kiRecv: kis[:], maxRaw: peerMaxBuf - 16}
	if !client {
		l.kiSend, l.kiRecv = kis[:], kic[:]
	}
	if qop != QOPAuthConf {
		return l, nil
	}
	n := 16
	switch cipher {
	case "rc4":
	case "rc4-56":
		n = 7
	case "rc4-40":
		n = 5
	default:
		return nil, fmt.Errorf("DIGEST-MD5: unsupported cipher %q", cipher)
	}
	kcc := md5.Sum(append(append([]byte{}, ha1[:n]...), magicSealC2S...))
	kcs := md5.Sum(append(append([]byte{}, ha1[:n]...), magicSealS2C...))
	send, recv := kcc[:], kcs[:]
	if !client {
		send, recv = recv, send
	}
	var err error
	if l.encSend, err = rc4.NewCipher(send); err != nil {
		return nil, err
	}
	if l.decRecv, err = rc4.NewCipher(recv); err != nil {
		return nil, err
	}
	return l, nil
}

// mac is HMAC-MD5(ki, seq || msg) truncated to 10 bytes.
func digestMAC(ki []byte, seq uint32, msg []byte) []byte {
	h := hmac.New(md5.New, ki)
	var s [4]byte
	binary.BigEndian.PutUint32(s[:], seq)
	h.Write(s[:])
	h.Write(msg)
	return h.Sum(nil)[:10]
}

func (l *digestLayer) maxWrap() int { return l.maxRaw }

// wrap returns msg||MAC (or RC4(msg||MAC)) followed by 0x0001 and the
// sequence number.
func (l *digestLayer) wrap(msg []byte) ([]byte, error) {
	mac := digestMAC(l.kiSend, l.seqSend, msg)
	out := make([]byte, 0, len(msg)+16)
	out = append(out, msg...)
	out = append(out, mac...)
	if l.encSend != nil {
		l.encSend.XORKeyStream(out, out)
	}
	out = append(out, 0, 1)
	out = binary.BigEndian.AppendUint32(out, l.seqSend)
	l.seqSend++
	return out, nil
}

// unwrap verifies (and decrypts) a token from the peer.
func (l *digestLayer) unwrap(tok []byte) ([]byte, error) {
	if len(tok) < 16 {
		return nil, fmt.Errorf("DIGEST-MD5: wrapped token of %d bytes", len(tok))
	}
	n := len(tok) - 6
	if tok[n] != 0 || tok[n+1] != 1 {
		return nil, fmt.Errorf("DIGEST-MD5: message type %#x%02x, want 0x0001", tok[n], tok[n+1])
	}
	seq := binary.BigEndian.Uint32(tok[n+2:])
	if seq != l.seqRecv {
		return nil, fmt.Errorf("DIGEST-MD5: sequence number %d, want %d", seq, l.seqRecv)
	}
	body := append([]byte{}, tok[:n]...)
	if l.decRecv != nil {
		l.decRecv.XORKeyStream(body, body)
	}
	msg, mac := body[:len(body)-10], body[len(body)-10:]
	if !hmac.Equal(mac, digestMAC(l.kiRecv, seq, msg)) {
		return nil, errDigestMAC
	}
	l.seqRecv++
	return msg, nil
}
