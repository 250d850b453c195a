package hdfs

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/hdfs/pb"
)

// The framing of HDFS's DataTransferProtocol for writing a block, as Hadoop's
// Sender, PacketHeader and PipelineAck lay it out:
//
//	request:  uint16 version (28) | uint8 op (80, WRITE_BLOCK) | varint length | OpWriteBlockProto
//	response: varint length | BlockOpResponseProto
//	packet:   uint32 payload length (4 + checksums + data) | uint16 header length |
//	          PacketHeaderProto | one checksum per chunk (big-endian) | data
//	ack:      varint length | PipelineAckProto
const (
	dataTransferVersion = 28
	opWriteBlock        = 80
	// heartbeatSeqno is the sequence number of the packets a writer sends when it
	// has had nothing to send for a while, so the DataNodes do not time out.
	heartbeatSeqno = -1
	// maxPacketHeader is PacketHeader.PKT_MAX_HEADER_LEN: the two length fields
	// and a header with every field set, syncBlock too (27 bytes: all fields of
	// PacketHeaderProto are fixed-size).
	maxPacketHeader = 4 + 2 + 27
)

// checksum is a block's checksum scheme (dfs.checksum.type, dfs.bytes-per-checksum).
type checksum struct {
	kind  pb.ChecksumTypeProto
	chunk int // bytes per checksum
	table *crc32.Table
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// newChecksum is the scheme kind with chunk bytes per checksum.
func newChecksum(kind pb.ChecksumTypeProto, chunk int) (checksum, error) {
	if chunk <= 0 {
		return checksum{}, fmt.Errorf("hdfs: bytes per checksum %d", chunk)
	}
	c := checksum{kind: kind, chunk: chunk}
	switch kind {
	case pb.ChecksumTypeProto_CHECKSUM_CRC32C:
		c.table = castagnoli
	case pb.ChecksumTypeProto_CHECKSUM_CRC32:
		c.table = crc32.IEEETable
	case pb.ChecksumTypeProto_CHECKSUM_NULL:
	default:
		return checksum{}, fmt.Errorf("hdfs: unknown checksum type %v", kind)
	}
	return c, nil
}

// size is the bytes of one chunk's checksum.
func (c checksum) size() int {
	if c.table == nil {
		return 0
	}
	return crc32.Size
}

// packetData is how many data bytes a packet of packetSize bytes (dfs.client-
// write-packet-size) carries: whole chunks with their checksums after the
// largest header, as DFSOutputStream.computePacketChunkSize counts them.
func (c checksum) packetData(packetSize int) int {
	n := (packetSize - maxPacketHeader) / (c.chunk + c.size())
	return max(n, 1) * c.chunk
}

// packetHeader is a PacketHeaderProto's fields.
type packetHeader struct {
	offset int64 // of the packet's data in the block
	seqno  int64
	last   bool // the empty packet that ends the block
}

// encodePacket is a whole packet: lengths, header, checksums of each chunk of
// data, data.
func encodePacket(h packetHeader, data []byte, sum checksum) ([]byte, error) {
	hdr, err := proto.Marshal(&pb.PacketHeaderProto{
		OffsetInBlock: proto.Int64(h.offset), Seqno: proto.Int64(h.seqno),
		LastPacketInBlock: proto.Bool(h.last), DataLen: proto.Int32(int32(len(data))),
	})
	if err != nil {
		return nil, fmt.Errorf("hdfs: packet header: %w", err)
	}
	chunks := (len(data) + sum.chunk - 1) / sum.chunk
	sums := chunks * sum.size()
	b := make([]byte, 6, 6+len(hdr)+sums+len(data))
	binary.BigEndian.PutUint32(b, uint32(4+sums+len(data)))
	binary.BigEndian.PutUint16(b[4:], uint16(len(hdr)))
	b = append(b, hdr...)
	if sum.table != nil {
		for off := 0; off < len(data); off += sum.chunk {
			b = binary.BigEndian.AppendUint32(b, crc32.Checksum(data[off:min(off+sum.chunk, len(data))], sum.table))
		}
	}
	return append(b, data...), nil
}

// encodeWriteBlock is the WRITE_BLOCK request.
func encodeWriteBlock(op *pb.OpWriteBlockProto) ([]byte, error) {
	body, err := proto.Marshal(op)
	if err != nil {
		return nil, fmt.Errorf("hdfs: WRITE_BLOCK request: %w", err)
	}
	b := binary.BigEndian.AppendUint16(nil, dataTransferVersion)
	b = append(b, opWriteBlock)
	b = protowire.AppendVarint(b, uint64(len(body)))
	return append(b, body...), nil
}

// maxMessage bounds a varint-prefixed response: a DataNode's are tiny.
const maxMessage = 1 << 20

// readDelimited reads one varint-prefixed message into m.
func readDelimited(r *bufio.Reader, m proto.Message) error {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return err
	}
	if n > maxMessage {
		return fmt.Errorf("hdfs: DataNode message of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return proto.Unmarshal(b, m)
}

// ackStatus is the status a DataNode of the pipeline reported in an ack: the
// flag's low four bits when the ack has flags (Hadoop 2.8 on; ECN and SLOW
// above them), else its reply.
func ackStatus(a *pb.PipelineAckProto, i int) pb.Status {
	if len(a.GetFlag()) > 0 {
		return pb.Status(a.GetFlag()[i] & 0xf)
	}
	return a.GetReply()[i]
}

// ackReplies is how many DataNodes an ack speaks for.
func ackReplies(a *pb.PipelineAckProto) int {
	if n := len(a.GetFlag()); n > 0 {
		return n
	}
	return len(a.GetReply())
}

// badInAck is the index of the DataNode an ack reports failed, and its status;
// -1 when all succeeded. Like DataStreamer's ResponseProcessor it takes the
// furthest DataNode that failed: a DataNode reports its own success and the
// failure of the link after it.
func badInAck(a *pb.PipelineAckProto) (int, pb.Status) {
	for i := ackReplies(a) - 1; i >= 0; i-- {
		if s := ackStatus(a, i); s != pb.Status_SUCCESS {
			return i, s
		}
	}
	return -1, pb.Status_SUCCESS
}
