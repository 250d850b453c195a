package yarn

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	ipcpb "github.com/spindle-engine/spindle/ipc/pb"
	"google.golang.org/protobuf/proto"
)

// fakeRPC is a minimal Hadoop IPC server for unit tests: it accepts SASL by
// answering NEGOTIATE with SUCCESS (as a SIMPLE-only server does), skips the
// connection context, and hands each call to handle. handle returns the
// response, or a Java exception class and message.
type fakeRPC struct {
	t      *testing.T
	ln     net.Listener
	handle func(method string, body []byte) (resp proto.Message, class, msg string)

	mu    sync.Mutex
	calls []string // methods in arrival order
	conns int
	wg    sync.WaitGroup
}

func newFakeRPC(t *testing.T, handle func(method string, body []byte) (proto.Message, string, string)) *fakeRPC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeRPC{t: t, ln: ln, handle: handle}
	var open []net.Conn
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			open = append(open, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				_ = s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range open {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *fakeRPC) addr() string { return s.ln.Addr().String() }

func (s *fakeRPC) methods() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func (s *fakeRPC) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

func readDelimited(b []byte, m proto.Message) ([]byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return nil, fmt.Errorf("bad delimited message")
	}
	return b[k+int(n):], proto.Unmarshal(b[k:k+int(n)], m)
}

func writeFrame(w io.Writer, msgs ...proto.Message) error {
	var body []byte
	for _, m := range msgs {
		b, err := proto.Marshal(m)
		if err != nil {
			return err
		}
		body = binary.AppendUvarint(body, uint64(len(b)))
		body = append(body, b...)
	}
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	_, err := w.Write(append(frame, body...))
	return err
}

func (s *fakeRPC) serve(c net.Conn) error {
	r := bufio.NewReader(c)
	pre := make([]byte, 7)
	if _, err := io.ReadFull(r, pre); err != nil {
		return err
	}
	for {
		var n uint32
		if err := binary.Read(r, binary.BigEndian, &n); err != nil {
			return err
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(r, frame); err != nil {
			return err
		}
		var h ipcpb.RpcRequestHeaderProto
		rest, err := readDelimited(frame, &h)
		if err != nil {
			return err
		}
		switch h.GetCallId() {
		case -33: // SASL negotiate: accept without authentication
			ok := &ipcpb.RpcResponseHeaderProto{CallId: proto.Uint32(uint32(0xFFFFFFDF)), Status: ipcpb.RpcResponseHeaderProto_SUCCESS.Enum()}
			if err := writeFrame(c, ok, &ipcpb.RpcSaslProto{State: ipcpb.RpcSaslProto_SUCCESS.Enum()}); err != nil {
				return err
			}
			continue
		case -3, -4: // connection context, ping
			continue
		}
		var rh ipcpb.RequestHeaderProto
		body, err := readDelimited(rest, &rh)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.calls = append(s.calls, rh.GetMethodName())
		s.mu.Unlock()
		resp, class, msg := s.handle(rh.GetMethodName(), body)
		hdr := &ipcpb.RpcResponseHeaderProto{CallId: proto.Uint32(uint32(h.GetCallId())), Status: ipcpb.RpcResponseHeaderProto_SUCCESS.Enum()}
		if class != "" {
			hdr.Status = ipcpb.RpcResponseHeaderProto_ERROR.Enum()
			hdr.ExceptionClassName, hdr.ErrorMsg = proto.String(class), proto.String(msg)
			hdr.ErrorDetail = ipcpb.RpcResponseHeaderProto_ERROR_APPLICATION.Enum()
			err = writeFrame(c, hdr)
		} else {
			err = writeFrame(c, hdr, resp)
		}
		if err != nil {
			return err
		}
	}
}

// decode unmarshals a delimited request body in a handler.
func decode(t *testing.T, body []byte, m proto.Message) {
	t.Helper()
	if _, err := readDelimited(body, m); err != nil {
		t.Errorf("decode %T: %v", m, err)
	}
}
