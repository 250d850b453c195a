package yarnlogs

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestVLong(t *testing.T) {
	tests := []struct {
		enc  []byte
		want int64
	}{
		{[]byte{0x00}, 0},
		{[]byte{0x7f}, 127},
		{[]byte{0xe0}, -32},
		{[]byte{0xcc, 0x80}, 128},
		{[]byte{0xcb, 0xdf}, -33},
		{[]byte{0xa9, 0x00, 0x00}, 1 << 16},
		{[]byte{0x97, 0xff, 0xff, 0xff}, 1<<27 - 1},
		{[]byte{0x85, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00}, 1 << 40},
		{[]byte{0x85, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00}, -(1 << 40)},
		{[]byte{0x87, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 1<<63 - 1},
	}
	for _, tt := range tests {
		// The table's encodings are writeVLong's; check them against the encoder below,
		// which follows Hadoop's writeVLong, so that both directions agree.
		if got := encodeVLong(tt.want); !bytes.Equal(got, tt.enc) {
			t.Errorf("encode %d: % x, want % x", tt.want, got, tt.enc)
		}
		d := &decoder{b: tt.enc}
		if got := d.vlong(); got != tt.want || d.err != nil || d.pos != len(tt.enc) {
			t.Errorf("decode % x: %d (err %v, %d bytes), want %d", tt.enc, got, d.err, d.pos, tt.want)
		}
	}
}

// TestAggregatedFileAsYarnLogs reads a node's aggregated log file that a
// NodeManager of the test cluster wrote (Hadoop 3.4.1) and prints it as `yarn logs`
// printed the same file.
func TestAggregatedFileAsYarnLogs(t *testing.T) {
	got := printFixture(t, "testdata/localhost_34879")
	want, err := os.ReadFile("testdata/yarn-logs-localhost_34879.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("output differs from Hadoop's LogsCLI:\n--- got\n%s\n--- want\n%s", head(got), head(string(want)))
	}
	blocks := Parse(got)
	if len(blocks) != 6 || blocks[4].Name != "stderr" || !strings.Contains(blocks[4].Content, `"message":"executor done"`) {
		t.Fatalf("parsed %d blocks: %+v", len(blocks), blocks)
	}
}

// TestCompressedTFile rewrites the fixture's records into a TFile with gz (zlib)
// data blocks, as yarn.nodemanager.log-aggregation.compression-type=gz makes, and
// reads the same logs back.
func TestCompressedTFile(t *testing.T) {
	b, err := os.ReadFile("testdata/localhost_34879")
	if err != nil {
		t.Fatal(err)
	}
	tf, err := openTFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var keys, values [][]byte
	if err := tf.records(func(k, v []byte) error {
		keys, values = append(keys, k), append(values, v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	gz := writeTFile(t, keys, values)
	got := printTFile(t, gz)
	if want := printFixture(t, "testdata/localhost_34879"); got != want {
		t.Fatalf("gz TFile reads differently:\n%s", head(got))
	}
}

func TestNotATFile(t *testing.T) {
	b, err := os.ReadFile("testdata/localhost_34879")
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{0, 10, len(b) - 1} {
		if _, err := openTFile(bytes.NewReader(b[:cut]), int64(cut)); !errors.Is(err, ErrNotTFile) {
			t.Errorf("%d bytes: %v, want ErrNotTFile", cut, err)
		}
	}
}

func TestParseSkipsNoise(t *testing.T) {
	var out bytes.Buffer
	out.WriteString("[main] WARN some Hadoop noise\n")
	f := LogFile{Container: "container_1_0001_01_000002", Node: "h:1", Name: "stdout"}
	if err := Print(&out, f, []byte("one\ntwo"), true); err != nil {
		t.Fatal(err)
	}
	if err := Print(&out, LogFile{Container: f.Container, Node: "h:1", Name: "stderr"}, nil, true); err != nil {
		t.Fatal(err)
	}
	got := Parse(out.String())
	want := []Block{{f.Container, "h:1", "stdout", "one\ntwo"}, {f.Container, "h:1", "stderr", ""}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("parsed %+v, want %+v", got, want)
	}
}

// fixtureTime is the fixture's modification time in HDFS, which `yarn logs` printed.
var fixtureTime = time.Date(2026, 12, 1, 23, 34, 43, 0, time.UTC)

func printFixture(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return printTFile(t, b)
}

func printTFile(t *testing.T, b []byte) string {
	t.Helper()
	tf, err := openTFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = tf.records(func(key, value []byte) error {
		c, _, err := readUTF(key)
		if err != nil || specialKeys[c] {
			return err
		}
		return containerLogs(value, func(name string, content []byte) error {
			return Print(&out, LogFile{Container: c, Node: "localhost_34879", Name: name, Modified: fixtureTime, Aggregated: true}, content, false)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func head(s string) string {
	if len(s) > 600 {
		return s[:600] + "..."
	}
	return s
}

// encodeVLong is Hadoop's Utils.writeVLong.
func encodeVLong(n int64) []byte {
	if n < 128 && n >= -32 {
		return []byte{byte(n)}
	}
	un := n
	if n < 0 {
		un = ^n
	}
	bits := 64
	for bits > 0 && un>>(bits-1)&1 == 0 {
		bits--
	}
	l := bits/8 + 1
	first := n >> ((l - 1) * 8)
	var out []byte
	be := func(v int64, k int) {
		for i := k - 1; i >= 0; i-- {
			out = append(out, byte(v>>(8*i)))
		}
	}
	switch {
	case l <= 2 && func() bool {
		if l == 1 {
			first >>= 8
		}
		return first < 20 && first >= -20
	}():
		out = append(out, byte(first-52))
		be(n, 1)
		return out
	}
	if l <= 3 {
		if l < 3 {
			first >>= 8
		}
		if first < 16 && first >= -16 {
			out = append(out, byte(first-88))
			be(n, 2)
			return out
		}
	}
	if l <= 4 {
		if l < 4 {
			first >>= 8
		}
		if first < 8 && first >= -8 {
			out = append(out, byte(first-112))
			be(n, 3)
			return out
		}
		l = 4
	}
	out = append(out, byte(l-129))
	be(n, l)
	return out
}

// writeTFile writes records as a TFile with one gz data block, the layout
// openTFile reads (the TFile.meta and TFile.index blocks, which it does not read,
// are left out).
func writeTFile(t *testing.T, keys, values [][]byte) []byte {
	t.Helper()
	var raw bytes.Buffer
	for i := range keys {
		raw.Write(encodeVLong(int64(len(keys[i]))))
		raw.Write(keys[i])
		v := values[i]
		for len(v) > 100 { // chunks, as a value of unknown length is written
			raw.Write(encodeVLong(-100))
			raw.Write(v[:100])
			v = v[100:]
		}
		raw.Write(encodeVLong(int64(len(v))))
		raw.Write(v)
	}
	var comp bytes.Buffer
	zw := zlib.NewWriter(&comp)
	zw.Write(raw.Bytes())
	zw.Close()
	str := func(b *bytes.Buffer, s string) {
		b.Write(encodeVLong(int64(len(s))))
		b.WriteString(s)
	}
	var file bytes.Buffer
	file.Write(comp.Bytes())
	var index bytes.Buffer
	str(&index, "gz")
	index.Write(encodeVLong(1))
	index.Write(encodeVLong(0))
	index.Write(encodeVLong(int64(comp.Len())))
	index.Write(encodeVLong(int64(raw.Len())))
	indexAt := file.Len()
	file.Write(index.Bytes())
	metaAt := file.Len()
	var meta bytes.Buffer
	meta.Write(encodeVLong(1))
	str(&meta, "data:BCFile.index")
	str(&meta, "none")
	meta.Write(encodeVLong(int64(indexAt)))
	meta.Write(encodeVLong(int64(index.Len())))
	meta.Write(encodeVLong(int64(index.Len())))
	file.Write(meta.Bytes())
	binary.Write(&file, binary.BigEndian, int64(metaAt))
	binary.Write(&file, binary.BigEndian, [2]int16{1, 0})
	file.Write(bcfileMagic[:])
	return file.Bytes()
}

// TestNodeManagerFraming: a NodeManager of the test cluster (Hadoop 3.4.1)
// answered /ws/v1/node/containerlogs/<id>/stderr of a running container in
// `yarn logs` form; Read takes the file out of it, and Print frames it again
// byte for byte as the NodeManager did.
func TestNodeManagerFraming(t *testing.T) {
	answer, err := os.ReadFile("testdata/nm-containerlogs-stderr.txt")
	if err != nil {
		t.Fatal(err)
	}
	content, err := os.ReadFile("testdata/nm-containerlogs-stderr.content")
	if err != nil {
		t.Fatal(err)
	}
	got, err := unframe(answer)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("unframed %d bytes (%v), want the file's %d", len(got), err, len(content))
	}
	modified, err := time.Parse(javaDate, "Wed Dec 02 01:11:46 +0000 2026")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	f := LogFile{Container: "container_1796173135237_0002_01_000001", Node: "localhost:42683", Name: "stderr", Modified: modified}
	if err := Print(&out, f, content, true); err != nil {
		t.Fatal(err)
	}
	if out.String() != string(answer) {
		t.Fatalf("printed\n%q\nwant the NodeManager's\n%q", out.String(), answer)
	}
	if b := Parse(out.String()); len(b) != 1 || b[0].Content != string(content) || b[0].Node != f.Node {
		t.Fatalf("parsed %+v", b)
	}
	// Without the framing (older NodeManagers) the answer is the file.
	if got, err := unframe(content); err != nil || !bytes.Equal(got, content) {
		t.Errorf("unframed plain content: %q %v", got, err)
	}
	if _, err := unframe([]byte("Container: c on n\nLogLength:99\nLogContents:\nshort")); err == nil {
		t.Error("a LogLength beyond the answer is not an error")
	}
}
