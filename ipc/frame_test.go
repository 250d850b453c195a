package ipc

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/spindle-engine/spindle/ipc/pb"
)

// TestRequestHeaderGolden pins the wire bytes of request headers: rpcKind
// 2, rpcOp 0, callId and retryCount as zigzag sint32.
func TestRequestHeaderGolden(t *testing.T) {
	id := bytes.Repeat([]byte{0xab}, 16)
	tests := []struct {
		name     string
		callID   int32
		retry    int32
		clientID []byte
		want     string
	}{
		{"call 5", 5, 0, id, "0802" + "1000" + "180a" + "2210" + hex.EncodeToString(id) + "2800"},
		{"context", callIDContext, -1, id, "0802" + "1000" + "1805" + "2210" + hex.EncodeToString(id) + "2801"},
		{"sasl", callIDSASL, -1, nil, "0802" + "1000" + "1841" + "2200" + "2801"},
		{"ping", callIDPing, -1, id, "0802" + "1000" + "1807" + "2210" + hex.EncodeToString(id) + "2801"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := proto.Marshal(requestHeader(tt.callID, tt.retry, tt.clientID))
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tt.want {
				t.Errorf("header bytes\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestFrameRoundTrip: a call frame is a 4-byte length followed by three
// varint-delimited messages.
func TestFrameRoundTrip(t *testing.T) {
	h := requestHeader(42, 0, bytes.Repeat([]byte{1}, 16))
	rh := &pb.RequestHeaderProto{MethodName: proto.String("allocate"),
		DeclaringClassProtocolName: proto.String("org.apache.hadoop.yarn.api.ApplicationMasterProtocolPB"),
		ClientProtocolVersion:      proto.Uint64(1)}
	req := wrapperspb.String(string(bytes.Repeat([]byte("x"), 300))) // forces a 2-byte varint
	frame, err := marshalFrame(h, rh, req)
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.BigEndian.Uint32(frame); int(n) != len(frame)-4 {
		t.Fatalf("length prefix %d for %d bytes", n, len(frame)-4)
	}
	body, err := readFrame(bytes.NewReader(frame))
	if err != nil {
		t.Fatal(err)
	}
	gotH, gotRH, gotReq := &pb.RpcRequestHeaderProto{}, &pb.RequestHeaderProto{}, &wrapperspb.StringValue{}
	rest := body
	for _, m := range []proto.Message{gotH, gotRH, gotReq} {
		if rest, err = unmarshalDelimited(rest, m); err != nil {
			t.Fatal(err)
		}
	}
	if len(rest) != 0 {
		t.Errorf("%d trailing bytes", len(rest))
	}
	for i, pair := range [][2]proto.Message{{h, gotH}, {rh, gotRH}, {req, gotReq}} {
		if !proto.Equal(pair[0], pair[1]) {
			t.Errorf("message %d: got %v, want %v", i, pair[1], pair[0])
		}
	}
}

// TestResponseCallID: the response header's callId is a uint32, so the
// SASL id -33 arrives as 4294967263 and must read back as -33.
func TestResponseCallID(t *testing.T) {
	frame, err := marshalFrame(saslHeader(), &pb.RpcSaslProto{State: pb.RpcSaslProto_SUCCESS.Enum()})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(frame, []byte{0x08, 0xdf, 0xff, 0xff, 0xff, 0x0f}) {
		t.Errorf("callId not encoded as uint32 4294967263: %x", frame)
	}
	r, err := parseResponse(frame[4:])
	if err != nil {
		t.Fatal(err)
	}
	if r.callID() != callIDSASL || r.remoteError() != nil {
		t.Errorf("callID %d, err %v", r.callID(), r.remoteError())
	}
}

func TestFrameErrors(t *testing.T) {
	frame, _ := marshalFrame(wrapperspb.String("hello"))
	if _, err := readFrame(bytes.NewReader(frame[:len(frame)-1])); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated frame: %v", err)
	}
	huge := binary.BigEndian.AppendUint32(nil, maxFrame+1)
	if _, err := readFrame(bytes.NewReader(huge)); !errors.Is(err, errFrameTooLarge) {
		t.Errorf("oversized frame: %v", err)
	}
	if _, err := unmarshalDelimited([]byte{0x05, 1, 2}, &wrapperspb.StringValue{}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short delimited message: %v", err)
	}
	if _, err := unmarshalDelimited([]byte{0x80}, &wrapperspb.StringValue{}); err == nil {
		t.Error("bad varint accepted")
	}
}
