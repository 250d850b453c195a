package ipc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/ipc/pb"
)

// fakeServer is a test-only Hadoop IPC server on loopback. It speaks the
// preamble, SASL (DIGEST-MD5 server side), the connection context and
// protobuf calls, and hands each call to handle on its own goroutine so
// replies may go out of order.
type fakeServer struct {
	t      *testing.T
	ln     net.Listener
	handle func(sc *serverConn, c *serverCall)

	// token, when set, makes the server offer TOKEN/DIGEST-MD5 only.
	token     *Token
	qops      string // offered qop list, default "auth"
	maxbuf    int    // advertised maxbuf, default 65536
	simpleAck bool   // answer NEGOTIATE with SUCCESS (SIMPLE-only server)
	// rejectSimple answers a SIMPLE preamble like a token-only server.
	rejectSimple bool
	// kerberos, e.g. "nn/localhost", also offers KERBEROS with that principal
	// (the server side of GSSAPI is not faked: tests stop at the choice).
	kerberos string

	mu    sync.Mutex
	conns []*serverConn
	wg    sync.WaitGroup
}

// serverConn is one accepted connection.
type serverConn struct {
	s        *fakeServer
	nc       net.Conn
	in       io.Reader
	layer    *digestLayer
	preamble []byte
	context  *pb.IpcConnectionContextProto
	qop      QOP
	wmu      sync.Mutex
	pings    chan struct{}
	closed   chan struct{}
}

// serverCall is one request as the server decoded it.
type serverCall struct {
	header *pb.RpcRequestHeaderProto
	rh     *pb.RequestHeaderProto
	body   []byte // the delimited request message
}

func newFakeServer(t *testing.T, handle func(*serverConn, *serverCall)) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, handle: handle, qops: "auth", maxbuf: digestMaxBuf}
	t.Cleanup(s.close)
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

// start begins accepting; call it after setting the options.
func (s *fakeServer) start() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := s.ln.Accept()
			if err != nil {
				return
			}
			sc := &serverConn{s: s, nc: nc, pings: make(chan struct{}, 100), closed: make(chan struct{})}
			s.mu.Lock()
			s.conns = append(s.conns, sc)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer close(sc.closed)
				defer nc.Close()
				if err := sc.serve(); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
					s.t.Logf("fake server: %v", err)
				}
			}()
		}
	}()
}

func (s *fakeServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *fakeServer) connections() []*serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*serverConn{}, s.conns...)
}

// readFrame reads one plaintext client frame.
func (sc *serverConn) readFrame() (*pb.RpcRequestHeaderProto, []byte, error) {
	b, err := readFrame(sc.in)
	if err != nil {
		return nil, nil, err
	}
	h := &pb.RpcRequestHeaderProto{}
	rest, err := unmarshalDelimited(b, h)
	return h, rest, err
}

func (sc *serverConn) serve() error {
	br := bufio.NewReader(sc.nc)
	sc.in = br
	sc.preamble = make([]byte, 7)
	if _, err := io.ReadFull(br, sc.preamble); err != nil {
		return err
	}
	if sc.preamble[6] == authProtocolNone && sc.s.rejectSimple {
		sc.fail(callIDInvalid, "org.apache.hadoop.security.AccessControlException",
			"SIMPLE authentication is not enabled.  Available:[TOKEN]", pb.RpcResponseHeaderProto_FATAL_UNAUTHORIZED, true)
		return nil
	}
	if sc.preamble[6] == authProtocolSASL {
		if err := sc.saslServe(); err != nil {
			return err
		}
	}
	h, rest, err := sc.readFrame()
	if err != nil {
		return fmt.Errorf("read context: %w", err)
	}
	if h.GetCallId() != callIDContext || h.GetRetryCount() != -1 || len(h.GetClientId()) != 16 {
		return fmt.Errorf("context header %v", h)
	}
	cc := &pb.IpcConnectionContextProto{}
	if _, err := unmarshalDelimited(rest, cc); err != nil {
		return err
	}
	sc.s.mu.Lock()
	sc.context = cc
	sc.s.mu.Unlock()
	for {
		h, rest, err := sc.readFrame()
		if err != nil {
			return err
		}
		if h.GetCallId() == callIDPing {
			sc.pings <- struct{}{}
			continue
		}
		if h.GetRpcKind() != pb.RpcKindProto_RPC_PROTOCOL_BUFFER || h.GetCallId() < 0 {
			return fmt.Errorf("bad call header %v", h)
		}
		rh := &pb.RequestHeaderProto{}
		body, err := unmarshalDelimited(rest, rh)
		if err != nil {
			return err
		}
		go sc.s.handle(sc, &serverCall{header: h, rh: rh, body: body})
	}
}

// send writes a response frame, wrapped when a layer is active.
func (sc *serverConn) send(h *pb.RpcResponseHeaderProto, msg proto.Message) error {
	msgs := []proto.Message{h}
	if msg != nil {
		msgs = append(msgs, msg)
	}
	frame, err := marshalFrame(msgs...)
	if err != nil {
		return err
	}
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	if sc.layer != nil {
		tok, err := sc.layer.wrap(frame)
		if err != nil {
			return err
		}
		if frame, err = marshalFrame(saslHeader(), &pb.RpcSaslProto{State: pb.RpcSaslProto_WRAP.Enum(), Token: tok}); err != nil {
			return err
		}
	}
	_, err = sc.nc.Write(frame)
	return err
}

func saslHeader() *pb.RpcResponseHeaderProto {
	return &pb.RpcResponseHeaderProto{CallId: proto.Uint32(uint32(0xFFFFFFDF)), Status: pb.RpcResponseHeaderProto_SUCCESS.Enum()}
}

// reply answers call c with msg.
func (sc *serverConn) reply(c *serverCall, msg proto.Message) {
	h := &pb.RpcResponseHeaderProto{CallId: proto.Uint32(uint32(c.header.GetCallId())), Status: pb.RpcResponseHeaderProto_SUCCESS.Enum()}
	if err := sc.send(h, msg); err != nil {
		sc.s.t.Logf("fake server reply: %v", err)
	}
}

// fail answers call c (or the connection, with id -1) with an exception;
// a fatal one closes the connection as Java does.
func (sc *serverConn) fail(callID int32, class, msg string, detail pb.RpcResponseHeaderProto_RpcErrorCodeProto, fatal bool) {
	st := pb.RpcResponseHeaderProto_ERROR
	if fatal {
		st = pb.RpcResponseHeaderProto_FATAL
	}
	h := &pb.RpcResponseHeaderProto{CallId: proto.Uint32(uint32(callID)), Status: st.Enum(),
		ExceptionClassName: proto.String(class), ErrorMsg: proto.String(msg), ErrorDetail: detail.Enum()}
	if err := sc.send(h, nil); err != nil {
		sc.s.t.Logf("fake server error reply: %v", err)
	}
	if fatal {
		sc.nc.Close()
	}
}

// saslServe is the server side of SASL for TOKEN/DIGEST-MD5.
func (sc *serverConn) saslServe() error {
	s := sc.s
	h, rest, err := sc.readFrame()
	if err != nil {
		return err
	}
	msg := &pb.RpcSaslProto{}
	if _, err := unmarshalDelimited(rest, msg); err != nil {
		return err
	}
	if h.GetCallId() != callIDSASL || msg.GetState() != pb.RpcSaslProto_NEGOTIATE || len(h.GetClientId()) != 0 {
		return fmt.Errorf("want NEGOTIATE, got %v %v", h, msg)
	}
	if s.simpleAck || s.token == nil {
		return sc.send(saslHeader(), &pb.RpcSaslProto{State: pb.RpcSaslProto_SUCCESS.Enum()})
	}
	nonce := "nonce-" + base64.StdEncoding.EncodeToString([]byte(time.Now().String()))
	challenge := fmt.Sprintf(`realm="default",nonce="%s",qop="%s",charset=utf-8,maxbuf=%d,cipher="rc4-40,rc4-56,rc4,des,3des",algorithm=md5-sess`, nonce, s.qops, s.maxbuf)
	offer := &pb.RpcSaslProto_SaslAuth{Method: proto.String("TOKEN"), Mechanism: proto.String("DIGEST-MD5"),
		Protocol: proto.String(""), ServerId: proto.String("default")}
	withChallenge := proto.Clone(offer).(*pb.RpcSaslProto_SaslAuth)
	withChallenge.Challenge = []byte(challenge)
	auths := []*pb.RpcSaslProto_SaslAuth{withChallenge}
	if s.kerberos != "" {
		// A secure server lists KERBEROS after TOKEN (Server.getAuthMethods).
		svc, id, _ := strings.Cut(s.kerberos, "/")
		auths = append(auths, &pb.RpcSaslProto_SaslAuth{Method: proto.String("KERBEROS"), Mechanism: proto.String("GSSAPI"),
			Protocol: proto.String(svc), ServerId: proto.String(id)})
	}
	if err := sc.send(saslHeader(), &pb.RpcSaslProto{State: pb.RpcSaslProto_NEGOTIATE.Enum(), Auths: auths}); err != nil {
		return err
	}
	_, rest, err = sc.readFrame()
	if err != nil {
		return err
	}
	msg = &pb.RpcSaslProto{}
	if _, err := unmarshalDelimited(rest, msg); err != nil {
		return err
	}
	if msg.GetState() != pb.RpcSaslProto_INITIATE || len(msg.GetAuths()) != 1 || !proto.Equal(msg.GetAuths()[0], offer) {
		return fmt.Errorf("bad INITIATE %v", msg)
	}
	dirs, err := parseDirectives(string(msg.GetToken()))
	if err != nil {
		return err
	}
	id, _ := base64.StdEncoding.DecodeString(dirs["username"])
	ha1 := digestHA1(dirs["username"], dirs["realm"], base64.StdEncoding.EncodeToString(s.token.Password), nonce, dirs["cnonce"])
	qop := QOP(dirs["qop"])
	want := digestResponse(ha1, "AUTHENTICATE", dirs["digest-uri"], nonce, dirs["nc"], dirs["cnonce"], qop)
	if !bytes.Equal(id, s.token.Identifier) || dirs["response"] != want || dirs["digest-uri"] != "/default" || dirs["realm"] != "default" {
		sc.fail(callIDInvalid, "org.apache.hadoop.security.token.SecretManager$InvalidToken", "token is invalid", pb.RpcResponseHeaderProto_FATAL_UNAUTHORIZED, true)
		return errors.New("client sent a wrong digest")
	}
	if !strings.Contains(s.qops, string(qop)) {
		return fmt.Errorf("client chose qop %q outside %q", qop, s.qops)
	}
	rsp := digestResponse(ha1, "", dirs["digest-uri"], nonce, dirs["nc"], dirs["cnonce"], qop)
	if err := sc.send(saslHeader(), &pb.RpcSaslProto{State: pb.RpcSaslProto_SUCCESS.Enum(), Token: []byte("rspauth=" + rsp)}); err != nil {
		return err
	}
	sc.qop = qop
	if qop != QOPAuth {
		l, err := newDigestLayer(ha1[:], qop, dirs["cipher"], false, digestMaxBuf)
		if err != nil {
			return err
		}
		sc.layer = l
		sc.in = &serverUnwrapReader{r: sc.in, layer: l}
	}
	return nil
}

// serverUnwrapReader reassembles the client's WRAP frames into a stream.
type serverUnwrapReader struct {
	r     io.Reader
	layer *digestLayer
	buf   bytes.Reader
	// maxChunk records the largest plaintext chunk seen, for tests of the
	// client's splitting.
	maxChunk int
}

func (u *serverUnwrapReader) Read(p []byte) (int, error) {
	for u.buf.Len() == 0 {
		b, err := readFrame(u.r)
		if err != nil {
			return 0, err
		}
		h := &pb.RpcRequestHeaderProto{}
		rest, err := unmarshalDelimited(b, h)
		if err != nil {
			return 0, err
		}
		msg := &pb.RpcSaslProto{}
		if _, err := unmarshalDelimited(rest, msg); err != nil {
			return 0, err
		}
		if h.GetCallId() != callIDSASL || msg.GetState() != pb.RpcSaslProto_WRAP {
			return 0, fmt.Errorf("unwrapped frame after SASL: %v %v", h, msg)
		}
		plain, err := u.layer.unwrap(msg.GetToken())
		if err != nil {
			return 0, err
		}
		u.maxChunk = max(u.maxChunk, len(plain))
		u.buf.Reset(plain)
	}
	return u.buf.Read(p)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
