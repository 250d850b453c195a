package shuffle

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/shuffle/pb"
)

func TestParseServiceMeta(t *testing.T) {
	tests := []struct {
		name     string
		meta     []byte
		port     int
		down     string // the reason, when down
		wantFail bool
	}{
		{"port", []byte{0, 0, 0x1c, 0xa9}, 7337, "", false},
		{"port with a cleared reason", append([]byte{0, 0, 0x9c, 0x40}, "                "...), 40000, "", false},
		{"down", append([]byte{0, 0, 0, 0}, "daemon exited: exit status 2   "...), 0, "daemon exited: exit status 2", true},
		{"down, no reason", []byte{0, 0, 0, 0}, 0, "no reason given", true},
		{"short", []byte{1, 2}, 0, "", true},
		{"port out of range", []byte{0, 1, 0, 0}, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port, err := ParseServiceMeta(tt.meta)
			if (err != nil) != tt.wantFail || port != tt.port {
				t.Fatalf("ParseServiceMeta = %d, %v", port, err)
			}
			var down *ServiceDownError
			if tt.down != "" && (!errors.As(err, &down) || down.Reason != tt.down || !errors.Is(err, ErrServiceDown)) {
				t.Fatalf("want down %q, got %v", tt.down, err)
			}
		})
	}
}

// TestDecodeChunk: the client's decoder reads what proto writes, skipping fields it
// does not know.
func TestDecodeChunk(t *testing.T) {
	tests := []*pb.Chunk{
		{},
		{ReduceId: 7, Data: []byte("abc"), Last: true, Block: 3, Size: 1 << 40},
		{ReduceId: -1, Data: make([]byte, 70000)},
	}
	for _, want := range tests {
		b, err := proto.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		b = protowire.AppendTag(b, 99, protowire.BytesType)
		b = protowire.AppendBytes(b, []byte("future"))
		var got pb.Chunk
		if err := decodeChunk(b, &got); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(&got, want) {
			t.Errorf("decoded %v, want %v", &got, want)
		}
	}
	if err := decodeChunk([]byte{0x12, 0x05, 'a'}, &pb.Chunk{}); err == nil {
		t.Error("a truncated chunk decoded")
	}
}

// TestOutChunk: what the service's codec sends decodes as the Chunk it stands for.
func TestOutChunk(t *testing.T) {
	tests := []struct {
		c    outChunk
		data []byte
	}{
		{outChunk{reduceID: 3, block: 9, last: true, size: 5}, []byte("hello")},
		{outChunk{reduceID: -2}, nil},
		{outChunk{last: true}, bytes.Repeat([]byte{7}, 100000)},
	}
	for _, tt := range tests {
		bp := chunkBufs.Get(len(tt.data))
		copy(*bp, tt.data)
		tt.c.data = mem.NewBuffer(bp, chunkBufs)
		out := tt.c.encode()
		var got pb.Chunk
		if err := decodeChunk(out.Materialize(), &got); err != nil {
			t.Fatal(err)
		}
		out.Free()
		want := &pb.Chunk{ReduceId: tt.c.reduceID, Block: tt.c.block, Last: tt.c.last, Size: tt.c.size, Data: tt.data}
		if got.ReduceId != want.ReduceId || got.Block != want.Block || got.Last != want.Last || got.Size != want.Size || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("decoded %v, want %v", &got, want)
		}
	}
}
