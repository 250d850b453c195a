package shuffle

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/s2"
)

var (
	// ErrCorrupt is returned for a block or index whose checksum or framing is wrong.
	ErrCorrupt = errors.New("shuffle data corrupt")
	// ErrMissingOutput is returned when a map output's files are gone; the scheduler
	// turns it into a fetch failure and recomputes the map task.
	ErrMissingOutput = errors.New("shuffle map output missing")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const (
	flagS2          = 1
	defaultBlock    = 64 << 10
	maxBlockPayload = 64 << 20
)

// blockWriter frames records into checksummed, optionally compressed blocks.
type blockWriter struct {
	w         io.Writer
	compress  bool
	blockSize int
	buf       []byte // records of the current block
	out       []byte // framed block
	written   int64
}

func (bw *blockWriter) add(key, value []byte) error {
	bw.buf = binary.AppendUvarint(bw.buf, uint64(len(key)))
	bw.buf = append(bw.buf, key...)
	bw.buf = binary.AppendUvarint(bw.buf, uint64(len(value)))
	bw.buf = append(bw.buf, value...)
	if len(bw.buf) >= bw.blockSize {
		return bw.flush()
	}
	return nil
}

// flush writes the current block, if any.
func (bw *blockWriter) flush() error {
	if len(bw.buf) == 0 {
		return nil
	}
	payload, flags := bw.buf, byte(0)
	if bw.compress {
		c := s2.Encode(nil, bw.buf)
		if len(c) < len(bw.buf) {
			payload, flags = c, flagS2
		}
	}
	bw.out = binary.AppendUvarint(bw.out[:0], uint64(len(bw.buf)))
	bw.out = append(bw.out, flags)
	bw.out = binary.AppendUvarint(bw.out, uint64(len(payload)))
	bw.out = binary.BigEndian.AppendUint32(bw.out, crc32.Checksum(payload, castagnoli))
	bw.out = append(bw.out, payload...)
	n, err := bw.w.Write(bw.out)
	bw.written += int64(n)
	bw.buf = bw.buf[:0]
	return err
}

// RecordReader iterates over records. Key and Value are valid until the next Next.
type RecordReader interface {
	Next() bool
	Key() []byte
	Value() []byte
	Err() error
	Close() error
}

// segmentReader decodes the blocks of one segment.
type segmentReader struct {
	rc         io.ReadCloser
	r          *bufio.Reader
	name       string
	offset     int64 // of the current block, for errors
	next       int64 // of the next block
	block      []byte
	rest       []byte
	raw        []byte
	key, value []byte
	err        error
}

// NewSegmentReader reads the records of a segment's bytes; name labels errors.
func NewSegmentReader(r io.ReadCloser, name string) RecordReader {
	return &segmentReader{rc: r, r: bufio.NewReaderSize(r, 64<<10), name: name}
}

func (s *segmentReader) corrupt(format string, args ...any) bool {
	s.err = fmt.Errorf("%s: block at offset %d: %s: %w", s.name, s.offset, fmt.Sprintf(format, args...), ErrCorrupt)
	return false
}

func (s *segmentReader) Next() bool {
	if s.err != nil {
		return false
	}
	for len(s.rest) == 0 {
		if !s.readBlock() {
			return false
		}
	}
	kl, n := binary.Uvarint(s.rest)
	if n <= 0 || uint64(len(s.rest)-n) < kl {
		return s.corrupt("bad key length")
	}
	s.key = s.rest[n : n+int(kl)]
	s.rest = s.rest[n+int(kl):]
	vl, n := binary.Uvarint(s.rest)
	if n <= 0 || uint64(len(s.rest)-n) < vl {
		return s.corrupt("bad value length")
	}
	s.value = s.rest[n : n+int(vl)]
	s.rest = s.rest[n+int(vl):]
	return true
}

// readBlock loads the next block; false at the end of the segment or on error.
func (s *segmentReader) readBlock() bool {
	s.offset = s.next
	ulen, err := binary.ReadUvarint(s.r)
	if errors.Is(err, io.EOF) {
		return false
	}
	if err != nil {
		return s.ioErr(err)
	}
	flags, err := s.r.ReadByte()
	if err != nil {
		return s.ioErr(err)
	}
	plen, err := binary.ReadUvarint(s.r)
	if err != nil {
		return s.ioErr(err)
	}
	if plen > maxBlockPayload || ulen > maxBlockPayload {
		return s.corrupt("block of %d bytes", plen)
	}
	var hdr [4]byte
	if _, err := io.ReadFull(s.r, hdr[:]); err != nil {
		return s.ioErr(err)
	}
	s.raw = growTo(s.raw, int(plen))
	if _, err := io.ReadFull(s.r, s.raw); err != nil {
		return s.ioErr(err)
	}
	if crc32.Checksum(s.raw, castagnoli) != binary.BigEndian.Uint32(hdr[:]) {
		return s.corrupt("checksum mismatch")
	}
	switch flags {
	case 0:
		s.block = append(s.block[:0], s.raw...)
	case flagS2:
		s.block = growTo(s.block, int(ulen))
		if s.block, err = s2.Decode(s.block, s.raw); err != nil || len(s.block) != int(ulen) {
			return s.corrupt("decompress: %v", err)
		}
	default:
		return s.corrupt("unknown flags %#x", flags)
	}
	s.rest = s.block
	s.next = s.offset + int64(uvarintLen(ulen)+1+uvarintLen(plen)+4) + int64(plen)
	return true
}

func (s *segmentReader) ioErr(err error) bool {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return s.corrupt("truncated")
	}
	s.err = fmt.Errorf("%s: %w", s.name, err)
	return false
}

func growTo(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func (s *segmentReader) Key() []byte   { return s.key }
func (s *segmentReader) Value() []byte { return s.value }
func (s *segmentReader) Err() error    { return s.err }
func (s *segmentReader) Close() error  { return s.rc.Close() }
