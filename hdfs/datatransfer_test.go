package hdfs

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/hdfs/pb"
)

// unhex is the bytes of a hex string with spaces between groups.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEncodePacket checks packets byte for byte against the layout of Hadoop's
// PacketHeader and DFSPacket.writeTo: payload length (4 + checksums + data),
// header length, PacketHeaderProto (offsetInBlock and seqno as sfixed64 little
// endian, lastPacketInBlock, dataLen as sfixed32), one big-endian CRC per
// 512-byte chunk, data.
func TestEncodePacket(t *testing.T) {
	crc32c, err := newChecksum(pb.ChecksumTypeProto_CHECKSUM_CRC32C, 512)
	if err != nil {
		t.Fatal(err)
	}
	crc32, err := newChecksum(pb.ChecksumTypeProto_CHECKSUM_CRC32, 512)
	if err != nil {
		t.Fatal(err)
	}
	none, err := newChecksum(pb.ChecksumTypeProto_CHECKSUM_NULL, 512)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1025)
	tests := []struct {
		name string
		h    packetHeader
		data []byte
		sum  checksum
		want string
	}{
		{"abc CRC32C", packetHeader{offset: 0, seqno: 0}, []byte("abc"), crc32c,
			"0000000b 0019 09 0000000000000000 11 0000000000000000 18 00 25 03000000 364b3fb7 616263"},
		{"abc CRC32", packetHeader{offset: 0x10000, seqno: 7}, []byte("abc"), crc32,
			"0000000b 0019 09 0000010000000000 11 0700000000000000 18 00 25 03000000 352441c2 616263"},
		{"end of block", packetHeader{offset: 1 << 20, seqno: 300, last: true}, nil, crc32c,
			"00000004 0019 09 0000100000000000 11 2c01000000000000 18 01 25 00000000"},
		{"heartbeat", packetHeader{seqno: heartbeatSeqno}, nil, crc32c,
			"00000004 0019 09 0000000000000000 11 ffffffffffffffff 18 00 25 00000000"},
		{"no checksum", packetHeader{seqno: 1}, []byte("abc"), none,
			"00000007 0019 09 0000000000000000 11 0100000000000000 18 00 25 03000000 616263"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodePacket(tt.h, tt.data, tt.sum)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("packet\n got %x\nwant %x", got, want)
			}
		})
	}
	t.Run("chunks", func(t *testing.T) {
		got, err := encodePacket(packetHeader{seqno: 2}, zeros, crc32c)
		if err != nil {
			t.Fatal(err)
		}
		// Three checksums: two of 512 zero bytes, one of a single zero byte
		// (CRC32C of 0x00 is 0x527d5351).
		head := 6 + 25
		if len(got) != head+3*4+len(zeros) {
			t.Fatalf("packet of %d bytes, want %d", len(got), head+3*4+len(zeros))
		}
		if got[0] != 0 || got[1] != 0 || got[2] != 0x04 || got[3] != 0x11 { // 4 + 12 + 1025 = 1041
			t.Fatalf("payload length %x, want 00000411", got[:4])
		}
		sums := got[head : head+12]
		if !bytes.Equal(sums[:4], sums[4:8]) {
			t.Fatalf("equal chunks, different checksums: %x", sums)
		}
		if !bytes.Equal(sums[8:], unhex(t, "527d5351")) {
			t.Fatalf("last chunk's checksum %x, want 527d5351", sums[8:])
		}
	})
}

// TestPacketData: Hadoop's 64 KiB packets carry 126 chunks of 512 bytes with
// CRCs (DFSOutputStream.computePacketChunkSize after PKT_MAX_HEADER_LEN, 33).
func TestPacketData(t *testing.T) {
	tests := []struct {
		kind  pb.ChecksumTypeProto
		chunk int
		want  int
	}{
		{pb.ChecksumTypeProto_CHECKSUM_CRC32C, 512, 126 * 512},
		{pb.ChecksumTypeProto_CHECKSUM_CRC32, 1024, 63 * 1024},
		{pb.ChecksumTypeProto_CHECKSUM_NULL, 512, 127 * 512},
		{pb.ChecksumTypeProto_CHECKSUM_CRC32C, 1 << 20, 1 << 20}, // at least one chunk
	}
	for _, tt := range tests {
		c, err := newChecksum(tt.kind, tt.chunk)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.packetData(writePacketSize); got != tt.want {
			t.Errorf("%v/%d: %d data bytes per packet, want %d", tt.kind, tt.chunk, got, tt.want)
		}
	}
	if maxPacketHeader != 33 {
		t.Errorf("maxPacketHeader %d, want PacketHeader.PKT_MAX_HEADER_LEN 33", maxPacketHeader)
	}
	full, err := proto.Marshal(&pb.PacketHeaderProto{OffsetInBlock: proto.Int64(0), Seqno: proto.Int64(0),
		LastPacketInBlock: proto.Bool(false), DataLen: proto.Int32(0), SyncBlock: proto.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(full)+6 != maxPacketHeader {
		t.Errorf("largest header %d bytes + 6, want %d", len(full), maxPacketHeader)
	}
}

// TestEncodeWriteBlock: version 28, op 80, then the varint-prefixed request.
func TestEncodeWriteBlock(t *testing.T) {
	op := &pb.OpWriteBlockProto{
		Header: &pb.ClientOperationHeaderProto{
			BaseHeader: &pb.BaseHeaderProto{Block: &pb.ExtendedBlockProto{PoolId: proto.String("BP-1"), BlockId: proto.Uint64(1073741825), GenerationStamp: proto.Uint64(1001)}},
			ClientName: proto.String("c"),
		},
		Stage: pb.OpWriteBlockProto_PIPELINE_SETUP_CREATE.Enum(), PipelineSize: proto.Uint32(3),
		MinBytesRcvd: proto.Uint64(0), MaxBytesRcvd: proto.Uint64(0), LatestGenerationStamp: proto.Uint64(0),
		RequestedChecksum: &pb.ChecksumProto{Type: pb.ChecksumTypeProto_CHECKSUM_CRC32C.Enum(), BytesPerChecksum: proto.Uint32(512)},
	}
	got, err := encodeWriteBlock(op)
	if err != nil {
		t.Fatal(err)
	}
	body, err := proto.Marshal(op)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) >= 128 {
		t.Fatalf("test request of %d bytes needs a one-byte varint", len(body))
	}
	want := append([]byte{0x00, 0x1c, 0x50, byte(len(body))}, body...)
	if !bytes.Equal(got, want) {
		t.Fatalf("request\n got %x\nwant %x", got, want)
	}
	// Field 4 (stage) is PIPELINE_SETUP_CREATE, 6; field 9 the checksum
	// {type CRC32C, 512}: 4a 05 08 02 10 80 04.
	if !bytes.Contains(body, unhex(t, "2006")) || !bytes.Contains(body, unhex(t, "4a05 0802 108004")) {
		t.Fatalf("request body %x lacks stage or checksum as Hadoop encodes them", body)
	}
}

// TestBadInAck: statuses come from the flags' low four bits when there are
// flags (ECN and SLOW bits above them do not make a failure), else from the
// replies; the failure reported is the furthest DataNode's.
func TestBadInAck(t *testing.T) {
	st := func(s ...pb.Status) []pb.Status { return s }
	tests := []struct {
		name     string
		ack      *pb.PipelineAckProto
		bad      int
		wantStat pb.Status
	}{
		{"replies all fine", &pb.PipelineAckProto{Reply: st(0, 0, 0)}, -1, pb.Status_SUCCESS},
		{"flags all fine, ECN congested", &pb.PipelineAckProto{Reply: st(0, 0), Flag: []uint32{0x40, 0x40}}, -1, pb.Status_SUCCESS},
		{"second failed", &pb.PipelineAckProto{Reply: st(0, 1, 0)}, 1, pb.Status_ERROR},
		{"flags win over replies", &pb.PipelineAckProto{Reply: st(0, 0), Flag: []uint32{0, 0x40 | 2}}, 1, pb.Status_ERROR_CHECKSUM},
		{"furthest failure", &pb.PipelineAckProto{Reply: st(1, 0, 1)}, 2, pb.Status_ERROR},
		{"restart is not success", &pb.PipelineAckProto{Flag: []uint32{8}}, 0, pb.Status_OOB_RESTART},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad, s := badInAck(tt.ack)
			if bad != tt.bad || s != tt.wantStat {
				t.Fatalf("badInAck = %d, %v; want %d, %v", bad, s, tt.bad, tt.wantStat)
			}
		})
	}
}
