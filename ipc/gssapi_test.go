package ipc

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// fixedKey is a fixed aes256-cts-hmac-sha1-96 session key.
var fixedKey = types.EncryptionKey{KeyType: etypeID.AES256_CTS_HMAC_SHA1_96, KeyValue: bytes.Repeat([]byte{0x42}, 32)}

// acceptorOffer builds the acceptor's security-layer offer with gokrb5's
// own wrap token code, independently of gssLayer.
func acceptorOffer(t *testing.T, key types.EncryptionKey, layers byte, maxBuf int) []byte {
	t.Helper()
	payload := []byte{layers, byte(maxBuf >> 16), byte(maxBuf >> 8), byte(maxBuf)}
	wt := gssapi.WrapToken{Flags: gssFlagSentByAcceptor, EC: 12, SndSeqNum: 7, Payload: payload}
	if err := wt.SetCheckSum(key, keyusage.GSSAPI_ACCEPTOR_SEAL); err != nil {
		t.Fatal(err)
	}
	b, err := wt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGSSNegotiateLayer(t *testing.T) {
	tests := []struct {
		name      string
		offer     byte
		want      QOP
		choice    byte
		withLayer bool
	}{
		{"auth", gssLayerNone | gssLayerIntegrity | gssLayerPrivacy, QOPAuth, gssLayerNone, false},
		{"auth-int", gssLayerNone | gssLayerIntegrity | gssLayerPrivacy, QOPAuthInt, gssLayerIntegrity, true},
		{"auth-conf", gssLayerPrivacy, QOPAuthConf, gssLayerPrivacy, true},
		{"server requires privacy", gssLayerPrivacy, QOPAuth, gssLayerPrivacy, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, l, err := gssNegotiateLayer(fixedKey, 1000, acceptorOffer(t, fixedKey, tt.offer, 65536), tt.want)
			if err != nil {
				t.Fatal(err)
			}
			var wt gssapi.WrapToken
			if err := wt.Unmarshal(resp, false); err != nil {
				t.Fatal(err)
			}
			if ok, err := wt.Verify(fixedKey, keyusage.GSSAPI_INITIATOR_SEAL); !ok {
				t.Fatalf("client token does not verify: %v", err)
			}
			if wt.SndSeqNum != 1000 || len(wt.Payload) != 4 || wt.Payload[0] != tt.choice {
				t.Fatalf("client token seq %d payload %x, want seq 1000 and layer %d", wt.SndSeqNum, wt.Payload, tt.choice)
			}
			gotMax := int(wt.Payload[1])<<16 | int(wt.Payload[2])<<8 | int(wt.Payload[3])
			if (gotMax == 0) == tt.withLayer || (l != nil) != tt.withLayer {
				t.Errorf("max buffer %d, layer %v; want a layer: %v", gotMax, l, tt.withLayer)
			}
			if l != nil && l.maxWrap() != 65536-gssOverhead {
				t.Errorf("maxWrap = %d", l.maxWrap())
			}
		})
	}
	if _, _, err := gssNegotiateLayer(fixedKey, 0, acceptorOffer(t, fixedKey, gssLayerNone|gssLayerIntegrity, 0), QOPAuthConf); err == nil {
		t.Error("accepted an offer without privacy when auth-conf was required")
	}
	bad := acceptorOffer(t, fixedKey, gssLayerNone, 0)
	bad[17] ^= 1
	if _, _, err := gssNegotiateLayer(fixedKey, 0, bad, QOPAuth); err == nil {
		t.Error("accepted a tampered offer")
	}
}

// rotate applies an RFC 4121 right rotation by rrc to a token's data, as
// some acceptors (e.g. Windows) do.
func rotate(tok []byte, rrc int) []byte {
	data := tok[16:]
	r := rrc % len(data)
	out := append([]byte{}, tok[:16]...)
	binary.BigEndian.PutUint16(out[6:], uint16(rrc))
	out = append(out, data[len(data)-r:]...)
	return append(out, data[:len(data)-r]...)
}

func TestGSSLayerRoundTrip(t *testing.T) {
	for _, conf := range []bool{false, true} {
		name := map[bool]string{false: "integrity", true: "privacy"}[conf]
		t.Run(name, func(t *testing.T) {
			cl := newGSSLayer(fixedKey, 1, true, 0)
			sv := newGSSLayer(fixedKey, 9, false, 0)
			cl.conf, sv.conf = conf, conf
			for _, msg := range []string{"hello", "", strings.Repeat("frame", 500)} {
				tok, err := cl.wrap([]byte(msg))
				if err != nil {
					t.Fatal(err)
				}
				if sealed := tok[2]&gssFlagSealed != 0; sealed != conf {
					t.Errorf("sealed flag %v, want %v", sealed, conf)
				}
				if conf && len(msg) > 0 && bytes.Contains(tok, []byte(msg)) {
					t.Error("sealed token carries the plaintext")
				}
				got, err := sv.unwrap(tok)
				if err != nil || string(got) != msg {
					t.Fatalf("acceptor unwrap = %q, %v", got, err)
				}
				back, err := sv.wrap([]byte("re:" + msg))
				if err != nil {
					t.Fatal(err)
				}
				got, err = cl.unwrap(rotate(back, 28))
				if err != nil || string(got) != "re:"+msg {
					t.Fatalf("initiator unwrap of rotated token = %q, %v", got, err)
				}
			}
			tok, _ := cl.wrap([]byte("payload"))
			if _, err := cl.unwrap(tok); err == nil {
				t.Error("initiator accepted its own token (direction flag)")
			}
			tok[len(tok)-1] ^= 1
			if _, err := sv.unwrap(tok); err == nil {
				t.Error("acceptor accepted a tampered token")
			}
		})
	}
}

// TestAPReqToken checks the initial context token: GSS framing, krb5 OID,
// AP-REQ token id, and an authenticator carrying the RFC 4121 checksum
// with integrity and confidentiality flags.
func TestAPReqToken(t *testing.T) {
	cl := client.NewWithPassword("alice", "EXAMPLE.COM", "pw", config.New())
	tkt := messages.Ticket{
		TktVNO:  5,
		Realm:   "EXAMPLE.COM",
		SName:   types.NewPrincipalName(nametype.KRB_NT_SRV_HST, "rm/rm.example.com"),
		EncPart: types.EncryptedData{EType: etypeID.AES256_CTS_HMAC_SHA1_96, KVNO: 1, Cipher: []byte("opaque ticket")},
	}
	tok, seq, err := apReqToken(cl, tkt, fixedKey)
	if err != nil {
		t.Fatal(err)
	}
	var k spnego.KRB5Token
	if err := k.Unmarshal(tok); err != nil {
		t.Fatalf("gokrb5 cannot parse the token: %v", err)
	}
	if !k.IsAPReq() || !k.OID.Equal(gssapi.OIDKRB5.OID()) {
		t.Fatalf("token is not a krb5 AP-REQ: %+v", k)
	}
	if err := k.APReq.DecryptAuthenticator(fixedKey); err != nil {
		t.Fatal(err)
	}
	a := k.APReq.Authenticator
	if uint64(a.SeqNumber) != seq || a.CName.PrincipalNameString() != "alice" || a.CRealm != "EXAMPLE.COM" {
		t.Errorf("authenticator %+v, seq %d", a, seq)
	}
	ck := a.Cksum.Checksum
	if a.Cksum.CksumType != 0x8003 || len(ck) != 24 || binary.LittleEndian.Uint32(ck) != 16 {
		t.Fatalf("authenticator checksum %+v", a.Cksum)
	}
	flags := binary.LittleEndian.Uint32(ck[20:])
	if flags != uint32(gssapi.ContextFlagInteg|gssapi.ContextFlagConf) {
		t.Errorf("context flags %#x", flags)
	}
}

func TestDERLength(t *testing.T) {
	tests := []struct {
		n    int
		want []byte
	}{{5, []byte{5}}, {127, []byte{127}}, {128, []byte{0x81, 0x80}}, {300, []byte{0x82, 1, 44}}}
	for _, tt := range tests {
		if got := derLength(tt.n); !bytes.Equal(got, tt.want) {
			t.Errorf("derLength(%d) = %x, want %x", tt.n, got, tt.want)
		}
	}
}

// TestGSSAPIClientSteps drives the mechanism's second step with a fixed
// session key, as after the AP-REQ.
func TestGSSAPIClientSteps(t *testing.T) {
	g := &gssapiClient{want: QOPAuthConf, state: 1, key: fixedKey, seq: 5}
	if _, err := g.step([]byte{0x60, 0x01}); err == nil {
		t.Error("accepted a context token in place of the layer offer")
	}
	resp, err := g.step(acceptorOffer(t, fixedKey, gssLayerNone|gssLayerIntegrity|gssLayerPrivacy, 1<<16))
	if err != nil || len(resp) == 0 {
		t.Fatalf("step = %x, %v", resp, err)
	}
	if !g.complete() || g.layer() == nil {
		t.Fatal("mechanism incomplete or without a layer after auth-conf negotiation")
	}
	if _, err := g.step(nil); err == nil {
		t.Error("step after completion succeeded")
	}
}
