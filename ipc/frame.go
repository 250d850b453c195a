package ipc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/ipc/pb"
)

// maxFrame is Hadoop's default ipc.maximum.data.length (128 MiB).
const maxFrame = 128 << 20

// Special call ids (org.apache.hadoop.ipc.RpcConstants).
const (
	callIDInvalid = -1  // the server's id for connection and auth failures
	callIDContext = -3  // IpcConnectionContextProto
	callIDPing    = -4  // keep-alive, never answered
	callIDSASL    = -33 // RpcSaslProto, also wrapped frames
)

// Preamble constants (RpcConstants.HEADER, Server.AuthProtocol).
var preamble = []byte{'h', 'r', 'p', 'c', 9, 0}

const (
	authProtocolNone = 0x00
	authProtocolSASL = 0xDF
)

// errFrameTooLarge is returned for frames over maxFrame.
var errFrameTooLarge = errors.New("ipc: frame exceeds 128 MiB")

// appendDelimited appends each message prefixed with its varint length, the
// framing of Java's writeDelimitedTo.
func appendDelimited(b []byte, msgs ...proto.Message) ([]byte, error) {
	for _, m := range msgs {
		body, err := proto.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("marshal %T: %w", m, err)
		}
		b = protowire.AppendVarint(b, uint64(len(body)))
		b = append(b, body...)
	}
	return b, nil
}

// marshalFrame returns a complete frame: a 4-byte big-endian length and
// the varint-delimited messages.
func marshalFrame(msgs ...proto.Message) ([]byte, error) {
	b, err := appendDelimited(make([]byte, 4, 256), msgs...)
	if err != nil {
		return nil, err
	}
	if len(b)-4 > maxFrame {
		return nil, errFrameTooLarge
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b, nil
}

// readFrame reads one length-prefixed frame and returns its payload.
func readFrame(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > maxFrame {
		return nil, errFrameTooLarge
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read %d-byte frame: %w", size, io.ErrUnexpectedEOF)
	}
	return b, nil
}

// nextDelimited splits the first varint-delimited message off b.
func nextDelimited(b []byte) (msg, rest []byte, err error) {
	n, k := protowire.ConsumeVarint(b)
	if k < 0 {
		return nil, nil, fmt.Errorf("decode length prefix: %w", protowire.ParseError(k))
	}
	if n > uint64(len(b)-k) {
		return nil, nil, fmt.Errorf("delimited message of %d bytes in %d: %w", n, len(b)-k, io.ErrUnexpectedEOF)
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// unmarshalDelimited decodes the first delimited message of b into m.
func unmarshalDelimited(b []byte, m proto.Message) (rest []byte, err error) {
	msg, rest, err := nextDelimited(b)
	if err != nil {
		return nil, err
	}
	if err := proto.Unmarshal(msg, m); err != nil {
		return nil, fmt.Errorf("unmarshal %T: %w", m, err)
	}
	return rest, nil
}

// requestHeader builds the RpcRequestHeaderProto for callID.
// A nil clientID is sent as the empty (but present) id that SASL uses.
func requestHeader(callID int32, retry int32, clientID []byte) *pb.RpcRequestHeaderProto {
	if clientID == nil {
		clientID = []byte{}
	}
	return &pb.RpcRequestHeaderProto{
		RpcKind:    pb.RpcKindProto_RPC_PROTOCOL_BUFFER.Enum(),
		RpcOp:      pb.RpcRequestHeaderProto_RPC_FINAL_PACKET.Enum(),
		CallId:     proto.Int32(callID),
		ClientId:   clientID,
		RetryCount: proto.Int32(retry),
	}
}

// response is one decoded server frame.
type response struct {
	header *pb.RpcResponseHeaderProto
	body   []byte // the delimited response message, if any
}

// callID returns the header's call id as Java's int (it is a uint32 on the
// wire, so -33 arrives as 4294967263).
func (r *response) callID() int32 { return int32(r.header.GetCallId()) }

// parseResponse decodes a frame payload from the server.
func parseResponse(b []byte) (*response, error) {
	h := &pb.RpcResponseHeaderProto{}
	rest, err := unmarshalDelimited(b, h)
	if err != nil {
		return nil, fmt.Errorf("response header: %w", err)
	}
	return &response{header: h, body: rest}, nil
}

// remoteError converts an error header into a *RemoteError, or returns nil
// for SUCCESS.
func (r *response) remoteError() error {
	h := r.header
	if h.GetStatus() == pb.RpcResponseHeaderProto_SUCCESS {
		return nil
	}
	return &RemoteError{
		Class:   h.GetExceptionClassName(),
		Message: h.GetErrorMsg(),
		Detail:  int32(h.GetErrorDetail()),
		Fatal:   h.GetStatus() == pb.RpcResponseHeaderProto_FATAL,
	}
}
