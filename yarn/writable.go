package yarn

import (
	"bytes"
	"errors"
	"fmt"
)

// Hadoop's Writable encodings (org.apache.hadoop.io.WritableUtils, Text) used
// by the credentials file. A VInt is not a protobuf varint: values in
// -112..127 take one byte; otherwise the first byte says how many big-endian
// bytes follow and whether the value was negated (one's complement).

// errShort marks input that ended inside a value.
var errShort = errors.New("unexpected end of data")

func appendVLong(b []byte, v int64) []byte {
	if v >= -112 && v <= 127 {
		return append(b, byte(v))
	}
	n := -112
	if v < 0 {
		v = ^v
		n = -120
	}
	for t := v; t != 0; t >>= 8 {
		n--
	}
	b = append(b, byte(int8(n)))
	size := -(n + 112)
	if n < -120 {
		size = -(n + 120)
	}
	for i := size; i > 0; i-- {
		b = append(b, byte(v>>(8*(i-1))))
	}
	return b
}

func appendText(b []byte, s string) []byte {
	b = appendVLong(b, int64(len(s)))
	return append(b, s...)
}

func appendBytes(b, p []byte) []byte {
	b = appendVLong(b, int64(len(p)))
	return append(b, p...)
}

// wreader decodes Writable values from a byte slice, remembering where it is
// so that errors can name the offset of the bad value.
type wreader struct {
	buf []byte
	off int
}

func (r *wreader) byte() (byte, error) {
	if r.off >= len(r.buf) {
		return 0, errShort
	}
	c := r.buf[r.off]
	r.off++
	return c, nil
}

func (r *wreader) vlong() (int64, error) {
	first, err := r.byte()
	if err != nil {
		return 0, err
	}
	f := int8(first)
	if f >= -112 {
		return int64(f), nil
	}
	neg := f < -120
	size := int(-111 - int(f))
	if neg {
		size = int(-119 - int(f))
	}
	var v int64
	for i := 1; i < size; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v = v<<8 | int64(c)
	}
	if neg {
		v = ^v
	}
	return v, nil
}

// bytes reads a VInt length and that many bytes (limit guards against
// a corrupt length asking for more than the file holds).
func (r *wreader) bytes() ([]byte, error) {
	start := r.off
	n, err := r.vlong()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > int64(len(r.buf)-r.off) {
		r.off = start
		return nil, fmt.Errorf("length %d exceeds the %d bytes left", n, len(r.buf)-r.off)
	}
	p := bytes.Clone(r.buf[r.off : r.off+int(n)])
	r.off += int(n)
	return p, nil
}

func (r *wreader) text() (string, error) {
	p, err := r.bytes()
	return string(p), err
}

// count reads a VInt element count, rejecting negative or absurd values.
func (r *wreader) count() (int, error) {
	start := r.off
	n, err := r.vlong()
	if err != nil {
		return 0, err
	}
	if n < 0 || n > int64(len(r.buf)) {
		r.off = start
		return 0, fmt.Errorf("bad element count %d", n)
	}
	return int(n), nil
}
