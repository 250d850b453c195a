package ipc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/ipc/pb"
)

// SASL method names (org.apache.hadoop.security.SaslRpcServer.AuthMethod).
const (
	methodSimple   = "SIMPLE"
	methodKerberos = "KERBEROS"
	methodToken    = "TOKEN"
)

// securityLayer protects frames after a SASL exchange that negotiated
// auth-int or auth-conf.
type securityLayer interface {
	wrap(p []byte) ([]byte, error)
	unwrap(p []byte) ([]byte, error)
	// maxWrap is the largest plaintext the peer accepts in one token;
	// 0 or less means no limit.
	maxWrap() int
}

// mechanism is the client side of one SASL mechanism.
type mechanism interface {
	// step answers a server challenge (the first call gets the challenge
	// from the NEGOTIATE reply, possibly empty).
	step(challenge []byte) ([]byte, error)
	// complete reports whether the exchange has finished on our side.
	complete() bool
	// layer returns the negotiated security layer, nil for auth.
	layer() securityLayer
}

// errSASLProtocol marks a server reply that breaks the SASL flow.
var errSASLProtocol = errors.New("unexpected SASL message")

// saslConnect runs the client side of SaslRpcClient.saslConnect with tok (may
// be nil) and cfg.Kerberos as the credentials: it returns the method used and,
// for auth-int/auth-conf, the security layer.
func saslConnect(ctx context.Context, cfg *Config, tok *Token, nc net.Conn, br *bufio.Reader) (string, securityLayer, error) {
	send := func(m *pb.RpcSaslProto) error {
		frame, err := marshalFrame(requestHeader(callIDSASL, -1, nil), m)
		if err != nil {
			return err
		}
		_, err = nc.Write(frame)
		return err
	}
	if err := send(&pb.RpcSaslProto{State: pb.RpcSaslProto_NEGOTIATE.Enum()}); err != nil {
		return "", nil, fmt.Errorf("send NEGOTIATE: %w", err)
	}
	var mech mechanism
	method := ""
	for {
		msg, err := readSASL(br)
		if err != nil {
			return "", nil, err
		}
		switch msg.GetState() {
		case pb.RpcSaslProto_NEGOTIATE:
			if mech != nil {
				return "", nil, fmt.Errorf("%w: second NEGOTIATE", errSASLProtocol)
			}
			auth, m, err := selectAuth(ctx, cfg, tok, msg.GetAuths())
			if err != nil {
				return "", nil, err
			}
			if m == nil {
				// The server accepts SIMPLE and we hold no matching
				// credential: announce the switch and go on without a reply.
				err := send(&pb.RpcSaslProto{State: pb.RpcSaslProto_INITIATE.Enum(), Auths: []*pb.RpcSaslProto_SaslAuth{auth}})
				if err != nil {
					return "", nil, fmt.Errorf("send INITIATE: %w", err)
				}
				return methodSimple, nil, nil
			}
			mech, method = m, auth.GetMethod()
			resp, err := mech.step(auth.GetChallenge())
			if err != nil {
				return "", nil, fmt.Errorf("%s: %w", method, err)
			}
			// The server checks that the echoed auth equals its offer minus
			// the challenge.
			chosen := proto.Clone(auth).(*pb.RpcSaslProto_SaslAuth)
			chosen.Challenge = nil
			if err := send(&pb.RpcSaslProto{
				State: pb.RpcSaslProto_INITIATE.Enum(),
				Token: resp,
				Auths: []*pb.RpcSaslProto_SaslAuth{chosen},
			}); err != nil {
				return "", nil, fmt.Errorf("send INITIATE: %w", err)
			}
		case pb.RpcSaslProto_CHALLENGE:
			if mech == nil {
				return "", nil, fmt.Errorf("%w: CHALLENGE before NEGOTIATE", errSASLProtocol)
			}
			resp, err := mech.step(msg.GetToken())
			if err != nil {
				return "", nil, fmt.Errorf("%s: %w", method, err)
			}
			if err := send(&pb.RpcSaslProto{State: pb.RpcSaslProto_RESPONSE.Enum(), Token: resp}); err != nil {
				return "", nil, fmt.Errorf("send RESPONSE: %w", err)
			}
		case pb.RpcSaslProto_SUCCESS:
			if mech == nil {
				// A server without security answers NEGOTIATE with SUCCESS;
				// Java falls back to SIMPLE.
				if cfg.QOP.rank() > 0 {
					return "", nil, fmt.Errorf("server offers no SASL but QOP %s was required", cfg.QOP)
				}
				return methodSimple, nil, nil
			}
			if msg.Token != nil {
				if _, err := mech.step(msg.GetToken()); err != nil {
					return "", nil, fmt.Errorf("%s: final server token: %w", method, err)
				}
			}
			if !mech.complete() {
				return "", nil, fmt.Errorf("%s: server reported SUCCESS before the exchange completed", method)
			}
			return method, mech.layer(), nil
		default:
			return "", nil, fmt.Errorf("%w: state %v", errSASLProtocol, msg.GetState())
		}
	}
}

// readSASL reads one SASL reply, turning error headers into *RemoteError.
func readSASL(r io.Reader) (*pb.RpcSaslProto, error) {
	b, err := readFrame(r)
	if err != nil {
		return nil, fmt.Errorf("read SASL reply: %w", err)
	}
	resp, err := parseResponse(b)
	if err != nil {
		return nil, err
	}
	if rerr := resp.remoteError(); rerr != nil {
		return nil, rerr
	}
	if resp.callID() != callIDSASL {
		return nil, fmt.Errorf("%w: call id %d", errSASLProtocol, resp.callID())
	}
	msg := &pb.RpcSaslProto{}
	if _, err := unmarshalDelimited(resp.body, msg); err != nil {
		return nil, fmt.Errorf("SASL reply: %w", err)
	}
	return msg, nil
}

// selectAuth picks the first offered auth that our credentials can use, in the
// server's order, like SaslRpcClient.selectSaslClient: TOKEN with a token for
// this server, KERBEROS with a login and a server principal that matches the
// configuration. A nil mechanism means SIMPLE.
func selectAuth(ctx context.Context, cfg *Config, tok *Token, auths []*pb.RpcSaslProto_SaslAuth) (*pb.RpcSaslProto_SaslAuth, mechanism, error) {
	var offered, why []string
	for _, a := range auths {
		offered = append(offered, a.GetMethod())
		switch {
		case a.GetMethod() == methodToken && a.GetMechanism() == "DIGEST-MD5":
			if tok == nil {
				why = append(why, noTokenReason(cfg))
				continue
			}
			return a, newDigestClient(tok, a.GetProtocol(), a.GetServerId(), cfg.QOP), nil
		case a.GetMethod() == methodKerberos && a.GetMechanism() == "GSSAPI":
			k := cfg.Kerberos
			if k == nil {
				why = append(why, "no Kerberos login")
				continue
			}
			realm := k.Client.Config.LibDefaults.DefaultRealm
			spn, err := k.checkPrincipal(cfg.Addr, a.GetProtocol(), a.GetServerId(), canonicalHost(ctx, cfg.Addr), realm)
			if err != nil {
				return nil, nil, err
			}
			return a, newGSSAPIClient(k, spn, cfg.QOP), nil
		case a.GetMethod() == methodSimple && a.GetMechanism() == "" && cfg.QOP.rank() == 0:
			return a, nil, nil
		}
	}
	return nil, nil, &AuthError{Addr: cfg.Addr, Offered: offered, Why: strings.Join(why, "; ")}
}

// noTokenReason says which token the client looked for.
func noTokenReason(cfg *Config) string {
	if cfg.TokenKind == "" {
		return "no token"
	}
	return fmt.Sprintf("no %s token for this server among %d held", cfg.TokenKind, len(cfg.Tokens))
}

// wrapFrame protects a whole plaintext frame (length included) and frames
// each token as an RpcSaslProto{WRAP} message with call id -33. Like
// Java's buffered SASL stream it splits frames larger than the peer's
// buffer; the peer reassembles the byte stream.
func wrapFrame(l securityLayer, frame []byte) ([]byte, error) {
	var out []byte
	for len(frame) > 0 {
		n := len(frame)
		if m := l.maxWrap(); m > 0 && n > m {
			n = m
		}
		tok, err := l.wrap(frame[:n])
		if err != nil {
			return nil, fmt.Errorf("sasl wrap: %w", err)
		}
		w, err := marshalFrame(requestHeader(callIDSASL, -1, nil),
			&pb.RpcSaslProto{State: pb.RpcSaslProto_WRAP.Enum(), Token: tok})
		if err != nil {
			return nil, err
		}
		out = append(out, w...)
		frame = frame[n:]
	}
	return out, nil
}

// unwrapReader turns the server's WRAP frames back into the plaintext
// byte stream of ordinary frames.
type unwrapReader struct {
	r     io.Reader
	layer securityLayer
	buf   bytes.Reader
}

func (u *unwrapReader) Read(p []byte) (int, error) {
	for u.buf.Len() == 0 {
		msg, err := readSASL(u.r)
		if err != nil {
			return 0, err
		}
		if msg.GetState() != pb.RpcSaslProto_WRAP {
			return 0, fmt.Errorf("%w: %v where WRAP was expected", errSASLProtocol, msg.GetState())
		}
		plain, err := u.layer.unwrap(msg.GetToken())
		if err != nil {
			return 0, fmt.Errorf("sasl unwrap: %w", err)
		}
		u.buf.Reset(plain)
	}
	return u.buf.Read(p)
}
