package ipc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/types"
)

// RFC 4121 §4.2.2 wrap token flags.
const (
	gssFlagSentByAcceptor = 0x01
	gssFlagSealed         = 0x02
	gssFlagAcceptorSubkey = 0x04
)

// gssOverhead bounds what a wrap adds: header, confounder, header copy and
// checksum, each at most 16 bytes for the AES and RC4 enctypes.
const gssOverhead = 64

// gssLayer wraps and unwraps RFC 4121 wrap tokens (integrity, or
// confidentiality when conf is set) with the context's session key.
type gssLayer struct {
	key       types.EncryptionKey
	initiator bool
	conf      bool
	sendSeq   uint64
	maxRaw    int
}

func newGSSLayer(key types.EncryptionKey, seq uint64, initiator bool, maxRaw int) *gssLayer {
	return &gssLayer{key: key, initiator: initiator, sendSeq: seq, maxRaw: maxRaw}
}

func (l *gssLayer) maxWrap() int { return l.maxRaw }

// usages returns the key usages for sending and receiving.
func (l *gssLayer) usages() (send, recv uint32) {
	if l.initiator {
		return keyusage.GSSAPI_INITIATOR_SEAL, keyusage.GSSAPI_ACCEPTOR_SEAL
	}
	return keyusage.GSSAPI_ACCEPTOR_SEAL, keyusage.GSSAPI_INITIATOR_SEAL
}

func gssHeader(flags byte, ec, rrc uint16, seq uint64) []byte {
	h := make([]byte, 16)
	h[0], h[1], h[2], h[3] = 0x05, 0x04, flags, 0xFF
	binary.BigEndian.PutUint16(h[4:], ec)
	binary.BigEndian.PutUint16(h[6:], rrc)
	binary.BigEndian.PutUint64(h[8:], seq)
	return h
}

// wrap builds a wrap token with RRC 0 (and EC 0 when sealed).
func (l *gssLayer) wrap(msg []byte) ([]byte, error) {
	send, _ := l.usages()
	var flags byte
	if !l.initiator {
		flags |= gssFlagSentByAcceptor
	}
	seq := l.sendSeq
	l.sendSeq++
	if !l.conf {
		et, err := crypto.GetEtype(l.key.KeyType)
		if err != nil {
			return nil, err
		}
		wt := gssapi.WrapToken{Flags: flags, EC: uint16(et.GetHMACBitLength() / 8), SndSeqNum: seq, Payload: msg}
		if err := wt.SetCheckSum(l.key, send); err != nil {
			return nil, fmt.Errorf("GSSAPI wrap checksum: %w", err)
		}
		return wt.Marshal()
	}
	flags |= gssFlagSealed
	h := gssHeader(flags, 0, 0, seq)
	et, err := crypto.GetEtype(l.key.KeyType)
	if err != nil {
		return nil, err
	}
	_, ct, err := et.EncryptMessage(l.key.KeyValue, append(append([]byte{}, msg...), h...), send)
	if err != nil {
		return nil, fmt.Errorf("GSSAPI seal: %w", err)
	}
	return append(h, ct...), nil
}

// unwrap verifies (and unseals) a token from the peer, undoing any right
// rotation the sender applied.
func (l *gssLayer) unwrap(tok []byte) ([]byte, error) {
	_, recv := l.usages()
	if len(tok) < 16 || tok[0] != 0x05 || tok[1] != 0x04 || tok[3] != 0xFF {
		return nil, errors.New("GSSAPI: not an RFC 4121 wrap token")
	}
	flags := tok[2]
	fromAcceptor := flags&gssFlagSentByAcceptor != 0
	if fromAcceptor == !l.initiator {
		return nil, errors.New("GSSAPI: wrap token has the wrong direction flag")
	}
	if flags&gssFlagAcceptorSubkey != 0 {
		return nil, errors.New("GSSAPI: acceptor subkeys are not supported")
	}
	ec := binary.BigEndian.Uint16(tok[4:])
	rrc := int(binary.BigEndian.Uint16(tok[6:]))
	seq := binary.BigEndian.Uint64(tok[8:])
	data := tok[16:]
	if n := len(data); n > 0 && rrc%n != 0 {
		r := rrc % n
		data = append(append([]byte{}, data[r:]...), data[:r]...)
	}
	if flags&gssFlagSealed == 0 {
		if int(ec) > len(data) {
			return nil, fmt.Errorf("GSSAPI: checksum length %d exceeds token", ec)
		}
		wt := gssapi.WrapToken{Flags: flags, EC: ec, SndSeqNum: seq,
			Payload: data[:len(data)-int(ec)], CheckSum: data[len(data)-int(ec):]}
		if ok, err := wt.Verify(l.key, recv); !ok {
			return nil, fmt.Errorf("GSSAPI unwrap: %w", err)
		}
		return wt.Payload, nil
	}
	et, err := crypto.GetEtype(l.key.KeyType)
	if err != nil {
		return nil, err
	}
	pt, err := et.DecryptMessage(l.key.KeyValue, data, recv)
	if err != nil {
		return nil, fmt.Errorf("GSSAPI unseal: %w", err)
	}
	if len(pt) < 16+int(ec) {
		return nil, errors.New("GSSAPI: sealed token too short")
	}
	// The encrypted header copy carries RRC 0.
	if !bytes.Equal(pt[len(pt)-16:], gssHeader(flags, ec, 0, seq)) {
		return nil, errors.New("GSSAPI: sealed header does not match")
	}
	return pt[:len(pt)-16-int(ec)], nil
}
