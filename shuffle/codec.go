package shuffle

import (
	"fmt"
	"sync"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/shuffle/pb"
)

// chunkCodec is the protobuf codec of one Fetch stream on the client. It decodes
// each Chunk into a buffer it reuses, with Data aliasing it, where gRPC's codec
// copies every chunk twice and allocates it anew: a reducer reading a gigabyte
// would otherwise make a gigabyte of garbage. A Chunk's Data is therefore valid
// only until the stream's next Recv, which is how chunkReader uses it. Other
// messages go through proto as usual.
type chunkCodec struct {
	buf []byte
}

// Name is the content subtype: on the wire this is plain protobuf.
func (*chunkCodec) Name() string { return "proto" }

func (*chunkCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("shuffle codec: cannot marshal %T", v)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (c *chunkCodec) Unmarshal(data mem.BufferSlice, v any) error {
	ch, ok := v.(*pb.Chunk)
	if !ok {
		m, ok := v.(proto.Message)
		if !ok {
			return fmt.Errorf("shuffle codec: cannot unmarshal into %T", v)
		}
		return proto.Unmarshal(data.Materialize(), m)
	}
	n := data.Len()
	if cap(c.buf) < n {
		c.buf = make([]byte, n)
	}
	c.buf = c.buf[:n]
	data.CopyTo(c.buf)
	return decodeChunk(c.buf, ch)
}

// decodeChunk decodes b into ch, Data aliasing b.
func decodeChunk(b []byte, ch *pb.Chunk) error {
	ch.Reset()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("chunk: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 2 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("chunk data: %w", protowire.ParseError(n))
			}
			ch.Data, b = v, b[n:]
			continue
		case typ == protowire.VarintType && num >= 1 && num <= 5:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("chunk field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case 1:
				ch.ReduceId = int32(v)
			case 3:
				ch.Last = v != 0
			case 4:
				ch.Block = int32(v)
			case 5:
				ch.Size = int64(v)
			}
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b) // a field of a later version
		if n < 0 {
			return fmt.Errorf("chunk field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
	}
	return nil
}

// serverCodec is the protobuf codec of the service's server. A Chunk goes out as
// an outChunk: its data is a pooled buffer that gRPC's transport owns from Send on
// and returns to chunkBufs once written, so a segment's bytes are copied only from
// the file into that buffer and from it to the socket, where gRPC's codec would
// copy them once more into a buffer it clears first. Everything else is plain
// proto.
type serverCodec struct{}

func (serverCodec) Name() string { return "proto" }

func (serverCodec) Marshal(v any) (mem.BufferSlice, error) {
	if c, ok := v.(*outChunk); ok {
		return c.encode(), nil
	}
	return (*chunkCodec)(nil).Marshal(v)
}

func (serverCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("shuffle codec: cannot unmarshal into %T", v)
	}
	return proto.Unmarshal(data.Materialize(), m)
}

// outChunk is a pb.Chunk whose data is a buffer handed to the transport.
type outChunk struct {
	reduceID, block int32
	last            bool
	size            int64
	data            mem.Buffer
}

// encode writes the Chunk's fields, data last (protobuf's order of fields is free).
func (c *outChunk) encode() mem.BufferSlice {
	h := make([]byte, 0, 48)
	if c.reduceID != 0 {
		h = protowire.AppendTag(h, 1, protowire.VarintType)
		h = protowire.AppendVarint(h, uint64(int64(c.reduceID)))
	}
	if c.last {
		h = protowire.AppendTag(h, 3, protowire.VarintType)
		h = protowire.AppendVarint(h, 1)
	}
	if c.block != 0 {
		h = protowire.AppendTag(h, 4, protowire.VarintType)
		h = protowire.AppendVarint(h, uint64(int64(c.block)))
	}
	if c.size != 0 {
		h = protowire.AppendTag(h, 5, protowire.VarintType)
		h = protowire.AppendVarint(h, uint64(c.size))
	}
	n := c.data.Len()
	if n == 0 {
		c.data.Free()
		return mem.BufferSlice{mem.SliceBuffer(h)}
	}
	h = protowire.AppendTag(h, 2, protowire.BytesType)
	h = protowire.AppendVarint(h, uint64(n))
	return mem.BufferSlice{mem.SliceBuffer(h), c.data}
}

// chunkBufs holds the buffers of chunks being sent, and of the frames a Fetcher
// receives. Unlike gRPC's default pool it does not clear a buffer it hands out:
// every byte of one is overwritten (from the file, or from the socket) before it is
// read. Buffers come in power-of-two classes from 4 KiB to 2 MiB; others are
// allocated and dropped.
var chunkBufs = newBufferPool()

const (
	minClass = 12 // 4 KiB
	maxClass = 21 // 2 MiB
)

type bufferPool struct {
	classes [maxClass - minClass + 1]sync.Pool
}

func newBufferPool() *bufferPool { return &bufferPool{} }

// class returns the index of the smallest class holding n bytes, or -1.
func class(n int) int {
	for c := minClass; c <= maxClass; c++ {
		if n <= 1<<c {
			return c - minClass
		}
	}
	return -1
}

func (b *bufferPool) Get(n int) *[]byte {
	c := class(n)
	if c < 0 {
		s := make([]byte, n)
		return &s
	}
	if v, ok := b.classes[c].Get().(*[]byte); ok {
		*v = (*v)[:n]
		return v
	}
	s := make([]byte, n, 1<<(c+minClass))
	return &s
}

func (b *bufferPool) Put(v *[]byte) {
	// A buffer goes back to the class it can serve whole.
	c := class(cap(*v))
	if c < 0 || cap(*v) != 1<<(c+minClass) {
		return
	}
	b.classes[c].Put(v)
}
