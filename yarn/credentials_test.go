package yarn

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spindle-engine/spindle/ipc"
)

func sampleCredentials() *Credentials {
	c := NewCredentials()
	c.Tokens[""] = &ipc.Token{Identifier: []byte{0x0a, 0x06, 0x08, 0x01}, Password: bytes.Repeat([]byte{0xab}, 20), Kind: "YARN_AM_RM_TOKEN"}
	c.Tokens["hdfs"] = &ipc.Token{Identifier: bytes.Repeat([]byte{1}, 200), Password: []byte("pw"), Kind: "HDFS_DELEGATION_TOKEN", Service: "127.0.0.1:8020"}
	c.Secrets["spindle.secret"] = []byte("s3cr3t")
	return c
}

func TestCredentialsRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		write func(*Credentials, *bytes.Buffer) error
		fmt   byte
	}{
		{"writable", func(c *Credentials, b *bytes.Buffer) error { return c.WriteWritable(b) }, formatWritable},
		{"protobuf", func(c *Credentials, b *bytes.Buffer) error { return c.WriteProtobuf(b) }, formatProtobuf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := sampleCredentials()
			var buf bytes.Buffer
			if err := tt.write(want, &buf); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(buf.Bytes(), []byte{'H', 'D', 'T', 'S', tt.fmt}) {
				t.Fatalf("header % x", buf.Bytes()[:5])
			}
			got, err := ParseCredentials(buf.Bytes(), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
			if tok := got.TokenOfKind("YARN_AM_RM_TOKEN"); tok == nil || tok.Service != "" {
				t.Fatalf("TokenOfKind = %+v", tok)
			}
		})
	}
}

// The fixtures in testdata were laid out by hand from Hadoop's
// Credentials.writeTokenStorageToStream: one token (alias "a", identifier
// 01 02, password 03, kind "K", service "S") and one secret ("k" = 09).
func TestParseCredentialsFixtures(t *testing.T) {
	want := &Credentials{
		Tokens:  map[string]*ipc.Token{"a": {Identifier: []byte{1, 2}, Password: []byte{3}, Kind: "K", Service: "S"}},
		Secrets: map[string][]byte{"k": {9}},
	}
	for _, name := range []string{"tiny.writable", "tiny.protobuf"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			got, err := ReadCredentials(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			// Our writer must reproduce the fixture byte for byte.
			var buf bytes.Buffer
			if strings.HasSuffix(name, ".writable") {
				err = got.WriteWritable(&buf)
			} else {
				err = got.WriteProtobuf(&buf)
			}
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(path)
			if !bytes.Equal(buf.Bytes(), raw) {
				t.Fatalf("rewrite differs:\n got % x\nwant % x", buf.Bytes(), raw)
			}
		})
	}
}

func TestParseCredentialsCorrupt(t *testing.T) {
	good := sampleCredentials().Bytes()
	var pbuf bytes.Buffer
	if err := sampleCredentials().WriteProtobuf(&pbuf); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		in      []byte
		wantOff int64
	}{
		{"short", []byte("HDT"), 3},
		{"bad magic", []byte("XDTS\x00\x00\x00"), 0},
		{"bad version", []byte("HDTS\x07\x00\x00"), 4},
		{"truncated writable", good[:40], 0},
		{"trailing bytes", append(bytes.Clone(good), 1), int64(len(good))},
		{"truncated protobuf", pbuf.Bytes()[:30], 5},
		{"protobuf garbage", []byte("HDTS\x01\x03\xff\xff\xff"), 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCredentials(tt.in, "/x/container_tokens")
			var ce *CorruptCredentialsError
			if !errors.As(err, &ce) {
				t.Fatalf("want *CorruptCredentialsError, got %v", err)
			}
			if !strings.Contains(err.Error(), "/x/container_tokens") || !strings.Contains(err.Error(), "offset") {
				t.Fatalf("error %q does not name the file and offset", err)
			}
			if tt.wantOff > 0 && ce.Offset != tt.wantOff {
				t.Fatalf("offset %d, want %d (%v)", ce.Offset, tt.wantOff, err)
			}
		})
	}
}

func TestReadCredentialsMissingFile(t *testing.T) {
	_, err := ReadCredentials(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("want ErrNotExist, got %v", err)
	}
}
