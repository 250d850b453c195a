package ipc

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/ipc/pb"
)

// session is what the connection handshake settled: the plaintext reader, the
// security layer (nil under auth), and the client id calls carry.
type session struct {
	in       io.Reader
	layer    securityLayer
	clientID []byte
	method   string
}

// authenticate writes the preamble, runs SASL when the client holds a credential
// for this server, and sends the connection context. ctx bounds it through the
// socket's deadline, which the caller sets.
func authenticate(ctx context.Context, cfg *Config, nc net.Conn) (*session, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("client id: %w", err)
	}
	// ClientId is a type-4 UUID (org.apache.hadoop.ipc.ClientId).
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	br := bufio.NewReader(nc)
	sess := &session{in: br, clientID: id, method: methodSimple}

	tok, err := cfg.selectToken(ctx)
	if err != nil {
		return nil, err
	}
	// Like Java, a client holding any token or a login negotiates; a server
	// without security answers with SUCCESS and the connection goes on as SIMPLE.
	useSASL := tok != nil || cfg.Kerberos != nil || len(cfg.Tokens) > 0
	pre := append([]byte{}, preamble...)
	if useSASL {
		pre = append(pre, authProtocolSASL)
	} else {
		pre = append(pre, authProtocolNone)
	}
	if _, err := nc.Write(pre); err != nil {
		return nil, fmt.Errorf("write preamble: %w", err)
	}
	user := &pb.UserInformationProto{EffectiveUser: proto.String(cfg.User)}
	if useSASL {
		method, layer, err := saslConnect(ctx, cfg, tok, nc, br)
		if err != nil {
			return nil, fmt.Errorf("sasl: %w", err)
		}
		sess.method = method
		switch method {
		case methodToken:
			// The token names the user; Java sends no user info.
			user = nil
		case methodKerberos:
			user = &pb.UserInformationProto{EffectiveUser: proto.String(kerberosUser(cfg.Kerberos))}
		}
		if layer != nil {
			sess.layer = layer
			sess.in = &unwrapReader{r: br, layer: layer}
		}
	}
	ctxMsg := &pb.IpcConnectionContextProto{UserInfo: user, Protocol: proto.String(cfg.Protocol)}
	if err := writeFrameTo(nc, sess.layer, requestHeader(callIDContext, -1, id), ctxMsg); err != nil {
		// The server may have refused the preamble and closed; its reply
		// says why.
		if b, rerr := readFrame(sess.in); rerr == nil {
			if r, perr := parseResponse(b); perr == nil && r.remoteError() != nil {
				return nil, r.remoteError()
			}
		}
		return nil, fmt.Errorf("write connection context: %w", err)
	}
	return sess, nil
}

// Stream is an authenticated connection to a Hadoop RPC server for a client that
// frames its own calls: its reads and writes carry the plaintext RPC byte stream,
// wrapped and unwrapped underneath when SASL negotiated integrity or privacy.
// Unlike Client, it neither pings nor closes when idle.
type Stream struct {
	net.Conn
	in     io.Reader
	layer  securityLayer
	method string
	wmu    sync.Mutex
}

// DialStream connects to cfg.Addr and runs the handshake a Client runs (preamble,
// SASL with cfg's credentials, connection context) within cfg.DialTimeout and ctx,
// then hands the connection over. colinmarc/hdfs's NameNode client speaks RPC over
// it, so that its connection authenticates with delegation tokens like ours.
func DialStream(ctx context.Context, cfg Config) (*Stream, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	hctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	nc, err := cfg.dial(hctx)
	if err != nil {
		return nil, &ConnectError{Addr: cfg.Addr, Attempts: 1, Err: err}
	}
	stop := context.AfterFunc(hctx, func() { nc.SetDeadline(time.Now()) })
	sess, err := authenticate(hctx, &cfg, nc)
	if !stop() && err == nil {
		err = hctx.Err()
	}
	if err == nil {
		err = nc.SetDeadline(time.Time{})
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("%s on %s: %w", shortName(cfg.Protocol), cfg.Addr, err)
	}
	return &Stream{Conn: nc, in: sess.in, layer: sess.layer, method: sess.method}, nil
}

// dial opens the TCP connection to cfg.Addr within cfg.DialTimeout.
func (cfg *Config) dial(ctx context.Context) (net.Conn, error) {
	if cfg.Dial != nil {
		ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
		defer cancel()
		return cfg.Dial(ctx, "tcp", cfg.Addr)
	}
	d := net.Dialer{Timeout: cfg.DialTimeout}
	return d.DialContext(ctx, "tcp", cfg.Addr)
}

// Method is the SASL method the stream authenticated with: SIMPLE, TOKEN or KERBEROS.
func (s *Stream) Method() string { return s.method }

// Protected reports whether the stream is wrapped (auth-int or auth-conf).
func (s *Stream) Protected() bool { return s.layer != nil }

// Read returns plaintext from the server.
func (s *Stream) Read(p []byte) (int, error) { return s.in.Read(p) }

// Write sends p, wrapped when the stream is protected. The server reassembles
// wrapped chunks into its byte stream, so p need not be a whole frame.
func (s *Stream) Write(p []byte) (int, error) {
	if s.layer == nil {
		return s.Conn.Write(p)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	w, err := wrapFrame(s.layer, p)
	if err != nil {
		return 0, err
	}
	if _, err := s.Conn.Write(w); err != nil {
		return 0, err
	}
	return len(p), nil
}
