package ipc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/chksumtype"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// RFC 4752 §3.3 security layer bits.
const (
	gssLayerNone      = 1
	gssLayerIntegrity = 2
	gssLayerPrivacy   = 4
)

// gssMaxBuf is the largest wrapped token we accept (3 bytes in RFC 4752).
const gssMaxBuf = 0xFFFFFF

// gssapiClient is the client side of SASL GSSAPI (RFC 4752) over Kerberos
// V5 (RFC 4121). It does not ask for mutual authentication, so the
// acceptor's first reply is already the security-layer offer.
type gssapiClient struct {
	krb      *Kerberos
	spn      string // the server's principal, checked against the configuration
	want     QOP
	state    int // 0 = initial, 1 = awaiting the layer offer, 2 = done
	key      types.EncryptionKey
	seq      uint64
	secLayer securityLayer
}

func newGSSAPIClient(k *Kerberos, spn string, want QOP) *gssapiClient {
	return &gssapiClient{krb: k, spn: spn, want: want}
}

// kerberosUser is the effective user Java sends after Kerberos: the full
// client principal name.
func kerberosUser(k *Kerberos) string {
	c := k.Client.Credentials
	return c.CName().PrincipalNameString() + "@" + c.Domain()
}

func (g *gssapiClient) complete() bool       { return g.state == 2 }
func (g *gssapiClient) layer() securityLayer { return g.secLayer }

func (g *gssapiClient) step(challenge []byte) ([]byte, error) {
	switch g.state {
	case 0:
		spn, _, _ := strings.Cut(g.spn, "@")
		tkt, key, err := g.krb.Client.GetServiceTicket(spn)
		if err != nil {
			return nil, fmt.Errorf("service ticket for %s: %w", g.spn, err)
		}
		tok, seq, err := apReqToken(g.krb.Client, tkt, key)
		if err != nil {
			return nil, err
		}
		g.key, g.seq, g.state = key, seq, 1
		return tok, nil
	case 1:
		if len(challenge) > 0 && challenge[0] == 0x60 {
			// An AP-REP would come here had we asked for mutual auth.
			return nil, errors.New("GSSAPI: unexpected context token from the server")
		}
		resp, l, err := gssNegotiateLayer(g.key, g.seq, challenge, g.want)
		if err != nil {
			return nil, err
		}
		g.secLayer, g.state = l, 2
		return resp, nil
	}
	return nil, errors.New("GSSAPI exchange already complete")
}

// apReqToken builds the GSS-API initial context token (RFC 2743 §3.1,
// RFC 4121 §4.1) holding an AP-REQ for tkt. It returns the authenticator's
// sequence number, which starts the initiator's wrap sequence.
func apReqToken(cl *client.Client, tkt messages.Ticket, key types.EncryptionKey) ([]byte, uint64, error) {
	auth, err := types.NewAuthenticator(cl.Credentials.Domain(), cl.Credentials.CName())
	if err != nil {
		return nil, 0, fmt.Errorf("authenticator: %w", err)
	}
	// RFC 4121 §4.1.1 checksum: Lgth 16, zero channel bindings, flags.
	ck := make([]byte, 24)
	binary.LittleEndian.PutUint32(ck[0:], 16)
	binary.LittleEndian.PutUint32(ck[20:], uint32(gssapi.ContextFlagInteg|gssapi.ContextFlagConf))
	auth.Cksum = types.Checksum{CksumType: chksumtype.GSSAPI, Checksum: ck}
	req, err := messages.NewAPReq(tkt, key, auth)
	if err != nil {
		return nil, 0, fmt.Errorf("AP-REQ: %w", err)
	}
	apreq, err := req.Marshal()
	if err != nil {
		return nil, 0, fmt.Errorf("marshal AP-REQ: %w", err)
	}
	oid, err := asn1.Marshal(gssapi.OIDKRB5.OID())
	if err != nil {
		return nil, 0, fmt.Errorf("marshal krb5 OID: %w", err)
	}
	inner := append(append(oid, 0x01, 0x00), apreq...) // TOK_ID 01 00 = AP-REQ
	tok := append([]byte{0x60}, derLength(len(inner))...)
	return append(tok, inner...), uint64(auth.SeqNumber), nil
}

// derLength encodes an ASN.1 DER definite length.
func derLength(n int) []byte {
	if n < 0x80 {
		return []byte{byte(n)}
	}
	var b []byte
	for v := n; v > 0; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	return append([]byte{0x80 | byte(len(b))}, b...)
}

// gssNegotiateLayer answers the acceptor's wrapped security-layer offer
// (RFC 4752 §3.1): it picks a layer at or above want and returns the
// wrapped choice and, for integrity or privacy, the layer to use after.
func gssNegotiateLayer(key types.EncryptionKey, seq uint64, offer []byte, want QOP) ([]byte, securityLayer, error) {
	l := newGSSLayer(key, seq, true, 0)
	body, err := l.unwrap(offer)
	if err != nil {
		return nil, nil, fmt.Errorf("GSSAPI layer offer: %w", err)
	}
	if len(body) != 4 {
		return nil, nil, fmt.Errorf("GSSAPI layer offer of %d bytes, want 4", len(body))
	}
	var offered []string
	for _, q := range []struct {
		bit byte
		qop QOP
	}{{gssLayerNone, QOPAuth}, {gssLayerIntegrity, QOPAuthInt}, {gssLayerPrivacy, QOPAuthConf}} {
		if body[0]&q.bit != 0 {
			offered = append(offered, string(q.qop))
		}
	}
	qop, err := chooseQOP(want, strings.Join(offered, ","))
	if err != nil {
		return nil, nil, fmt.Errorf("GSSAPI: %w", err)
	}
	peerMax := int(body[1])<<16 | int(body[2])<<8 | int(body[3])
	choice := make([]byte, 4)
	switch qop {
	case QOPAuth:
		choice[0] = gssLayerNone // and max size 0: no layer
	case QOPAuthInt:
		choice[0] = gssLayerIntegrity
	case QOPAuthConf:
		choice[0] = gssLayerPrivacy
	}
	if qop != QOPAuth {
		choice[1], choice[2], choice[3] = gssMaxBuf>>16, gssMaxBuf>>8&0xff, gssMaxBuf&0xff
	}
	resp, err := l.wrap(choice)
	if err != nil {
		return nil, nil, err
	}
	if qop == QOPAuth {
		return resp, nil, nil
	}
	l.conf = qop == QOPAuthConf
	l.maxRaw = peerMax - gssOverhead
	return resp, l, nil
}
