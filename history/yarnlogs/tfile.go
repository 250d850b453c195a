package yarnlogs

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// This file reads Hadoop's TFile (org.apache.hadoop.io.file.tfile), the container
// of YARN's default aggregated log format: a BCFile of data blocks holding
// key/value records, a meta block index and a trailer at the very end.
//
//	... data blocks ... meta blocks ... meta index | offset of meta index (int64) | version (2×int16) | magic (16 bytes)
//
// The meta block "BCFile.index" lists the data blocks' regions and their
// compression. A block holds records back to back: a key (a vint length and its
// bytes) and a value in chunks (a vint length before each, negative for every
// chunk but the last).

var bcfileMagic = [16]byte{0xd1, 0x11, 0xd3, 0x68, 0x91, 0xb5, 0xd7, 0xb6, 0x39, 0xdf, 0x41, 0x40, 0x92, 0xba, 0xe1, 0x50}

// ErrNotTFile says a file is not a TFile (or was cut short: the trailer is last).
var ErrNotTFile = errors.New("not a TFile")

// region is a block's place in the file.
type region struct {
	offset, compressed, raw int64
}

// tfile is an open TFile: its data blocks.
type tfile struct {
	r           io.ReadSeeker
	compression string
	blocks      []region
}

const trailerSize = 8 + 4 + 16

func openTFile(r io.ReadSeeker, size int64) (*tfile, error) {
	if size < trailerSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrNotTFile, size)
	}
	var tr [trailerSize]byte
	if _, err := r.Seek(size-trailerSize, io.SeekStart); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(r, tr[:]); err != nil {
		return nil, fmt.Errorf("trailer: %w", err)
	}
	if !bytes.Equal(tr[12:], bcfileMagic[:]) {
		return nil, fmt.Errorf("%w: no BCFile magic at the end", ErrNotTFile)
	}
	if major := binary.BigEndian.Uint16(tr[8:]); major != 1 {
		return nil, fmt.Errorf("BCFile version %d.%d: only 1.x is known", major, binary.BigEndian.Uint16(tr[10:]))
	}
	metaAt := int64(binary.BigEndian.Uint64(tr[:8]))
	if metaAt < 0 || metaAt > size-trailerSize {
		return nil, fmt.Errorf("%w: meta index at %d of %d bytes", ErrNotTFile, metaAt, size)
	}
	if _, err := r.Seek(metaAt, io.SeekStart); err != nil {
		return nil, err
	}
	metaBytes := make([]byte, size-trailerSize-metaAt)
	if _, err := io.ReadFull(r, metaBytes); err != nil {
		return nil, fmt.Errorf("meta index: %w", err)
	}
	d := &decoder{b: metaBytes}
	n := d.vint()
	metas := map[string]struct {
		compression string
		region
	}{}
	for i := 0; i < n && d.err == nil; i++ {
		name, comp := d.str(), d.str()
		reg := region{d.vlong(), d.vlong(), d.vlong()}
		metas[name] = struct {
			compression string
			region
		}{comp, reg}
	}
	if d.err != nil {
		return nil, fmt.Errorf("meta index: %w", d.err)
	}
	idx, ok := metas["data:BCFile.index"]
	if !ok {
		return nil, fmt.Errorf("%w: no BCFile.index meta block", ErrNotTFile)
	}
	t := &tfile{r: r}
	raw, err := t.block(idx.region, idx.compression)
	if err != nil {
		return nil, fmt.Errorf("BCFile.index: %w", err)
	}
	d = &decoder{b: raw}
	t.compression = d.str()
	n = d.vint()
	for i := 0; i < n && d.err == nil; i++ {
		t.blocks = append(t.blocks, region{d.vlong(), d.vlong(), d.vlong()})
	}
	if d.err != nil {
		return nil, fmt.Errorf("BCFile.index: %w", d.err)
	}
	return t, nil
}

// block reads and decompresses one block.
func (t *tfile) block(reg region, compression string) ([]byte, error) {
	if reg.offset < 0 || reg.compressed < 0 || reg.raw < 0 {
		return nil, fmt.Errorf("bad block region %+v", reg)
	}
	if _, err := t.r.Seek(reg.offset, io.SeekStart); err != nil {
		return nil, err
	}
	buf := make([]byte, reg.compressed)
	if _, err := io.ReadFull(t.r, buf); err != nil {
		return nil, err
	}
	switch compression {
	case "none":
		return buf, nil
	case "gz":
		// Hadoop's TFile "gz" is its DefaultCodec: a zlib stream, not gzip.
		zr, err := zlib.NewReader(bytes.NewReader(buf))
		if err != nil {
			return nil, fmt.Errorf("gz block: %w", err)
		}
		out := make([]byte, 0, reg.raw)
		w := bytes.NewBuffer(out)
		if _, err := io.Copy(w, zr); err != nil {
			return nil, fmt.Errorf("gz block: %w", err)
		}
		return w.Bytes(), nil
	}
	return nil, fmt.Errorf("block compression %q is not supported (none and gz are)", compression)
}

// records calls fn with each key and value of the TFile, in file order.
func (t *tfile) records(fn func(key, value []byte) error) error {
	for i, reg := range t.blocks {
		raw, err := t.block(reg, t.compression)
		if err != nil {
			return fmt.Errorf("data block %d: %w", i, err)
		}
		d := &decoder{b: raw}
		for d.err == nil && d.pos < len(d.b) {
			key := d.bytes(d.vint())
			var value []byte
			for d.err == nil {
				n := d.vint()
				last := n >= 0
				if !last {
					n = -n
				}
				value = append(value, d.bytes(n)...)
				if last {
					break
				}
			}
			if d.err != nil {
				break
			}
			if err := fn(key, value); err != nil {
				return err
			}
		}
		if d.err != nil {
			return fmt.Errorf("data block %d at byte %d: %w", i, d.pos, d.err)
		}
	}
	return nil
}

// decoder reads TFile's encodings from a byte slice; the first error sticks.
type decoder struct {
	b   []byte
	pos int
	err error
}

var errShort = errors.New("unexpected end of block")

func (d *decoder) byte1() int8 {
	if d.err != nil {
		return 0
	}
	if d.pos >= len(d.b) {
		d.err = errShort
		return 0
	}
	v := int8(d.b[d.pos])
	d.pos++
	return v
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || d.pos+n > len(d.b) {
		d.err = errShort
		return nil
	}
	v := d.b[d.pos : d.pos+n]
	d.pos += n
	return v
}

// uint reads n big-endian bytes as an unsigned number.
func (d *decoder) uint(n int) int64 {
	var v int64
	for _, c := range d.bytes(n) {
		v = v<<8 | int64(c)
	}
	return v
}

// vlong is TFile's Utils.readVLong: one byte for [-32, 127], else the first
// byte says how many follow.
func (d *decoder) vlong() int64 {
	first := int64(d.byte1())
	if first >= -32 {
		return first
	}
	switch (first + 128) / 8 {
	case 11, 10, 9, 8, 7:
		return (first+52)<<8 | d.uint(1)
	case 6, 5, 4, 3:
		return (first+88)<<16 | d.uint(2)
	case 2, 1:
		return (first+112)<<24 | d.uint(3)
	}
	n := int(first + 129)
	if n < 4 || n > 8 {
		if d.err == nil {
			d.err = fmt.Errorf("corrupt vlong (first byte %d)", first)
		}
		return 0
	}
	// A signed big-endian number of n bytes.
	v := d.uint(n)
	shift := uint(64 - 8*n)
	return v << shift >> shift
}

func (d *decoder) vint() int {
	v := d.vlong()
	if v > 1<<31-1 || v < -1<<31 {
		if d.err == nil {
			d.err = fmt.Errorf("vint %d out of range", v)
		}
		return 0
	}
	return int(v)
}

// str is Utils.readString: a vint length (-1 for null) and the bytes.
func (d *decoder) str() string {
	n := d.vint()
	if n == -1 {
		return ""
	}
	return string(d.bytes(n))
}
