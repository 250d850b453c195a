package yarn

import (
	"bytes"
	"testing"
)

func TestVLong(t *testing.T) {
	// Encodings checked against Hadoop's WritableUtils.writeVLong.
	tests := []struct {
		v    int64
		want []byte
	}{
		{0, []byte{0x00}},
		{127, []byte{0x7f}},
		{-112, []byte{0x90}},
		{128, []byte{0x8f, 0x80}},
		{255, []byte{0x8f, 0xff}},
		{256, []byte{0x8e, 0x01, 0x00}},
		{-113, []byte{0x87, 0x70}},
		{-1 << 63, []byte{0x80, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{1<<63 - 1, []byte{0x88, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tt := range tests {
		got := appendVLong(nil, tt.v)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("appendVLong(%d) = % x, want % x", tt.v, got, tt.want)
		}
		r := &wreader{buf: got}
		back, err := r.vlong()
		if err != nil || back != tt.v || r.off != len(got) {
			t.Errorf("vlong(% x) = %d, %v (off %d), want %d", got, back, err, r.off, tt.v)
		}
	}
}

func TestWreaderRejectsBadLengths(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"truncated vint", []byte{0x8e, 0x01}},
		{"length past end", []byte{0x05, 'a', 'b'}},
		{"negative length", []byte{0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &wreader{buf: tt.in}
			if _, err := r.bytes(); err == nil {
				t.Fatalf("bytes(% x): want error", tt.in)
			}
		})
	}
}
