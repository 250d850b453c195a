package delegation

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// TestWritableRoundTrip: identifiers survive encoding, including dates that take
// eight VLong bytes and negative numbers.
func TestWritableRoundTrip(t *testing.T) {
	for _, id := range []Identifier{
		{Owner: "alice@R", Renewer: "yarn", IssueDate: time.UnixMilli(1700000000123), MaxDate: time.UnixMilli(1700604800123), SequenceNumber: 7, MasterKeyID: 2},
		{Owner: "", IssueDate: time.UnixMilli(0), MaxDate: time.UnixMilli(127), SequenceNumber: -1, MasterKeyID: -300},
	} {
		got, err := Parse(KindHDFS, id.Writable())
		if err != nil || *got != id {
			t.Errorf("round trip of %+v = %+v, %v", id, got, err)
		}
	}
}

// TestHadoopIdentifier decodes an identifier as Hadoop 3.4.1's NameNode issued it
// on the secure test cluster (owner spindle@SPINDLE.TEST, renewer yarn/localhost,
// which the NameNode shortens; a max lifetime of two minutes).
func TestHadoopIdentifier(t *testing.T) {
	b, err := base64.StdEncoding.DecodeString("ABRzcGluZGxlQFNQSU5ETEUuVEVTVAR5YXJuAIoBojOuwemKAaIzsJapIwI=")
	if err != nil {
		t.Fatal(err)
	}
	id, err := Parse(KindHDFS, b)
	if err != nil {
		t.Fatal(err)
	}
	want := Identifier{Owner: "spindle@SPINDLE.TEST", Renewer: "yarn", IssueDate: time.UnixMilli(1796163420649),
		MaxDate: time.UnixMilli(1796163540649), SequenceNumber: 35, MasterKeyID: 2}
	if *id != want {
		t.Fatalf("%+v, want %+v", id, want)
	}
	if got := want.Writable(); string(got) != string(b) {
		t.Fatalf("re-encoded %x, want Hadoop's %x", got, b)
	}
}

// TestRMIdentifier decodes YARNDelegationTokenIdentifierProto.
func TestRMIdentifier(t *testing.T) {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, "alice@R")
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, "yarn")
	b = protowire.AppendTag(b, 4, protowire.VarintType)
	b = protowire.AppendVarint(b, 1000)
	b = protowire.AppendTag(b, 5, protowire.VarintType)
	b = protowire.AppendVarint(b, 5000)
	b = protowire.AppendTag(b, 9, protowire.BytesType) // a field from a newer release
	b = protowire.AppendString(b, "ignored")
	id, err := Parse(KindRM, b)
	if err != nil || id.Owner != "alice@R" || id.Renewer != "yarn" || id.IssueDate.UnixMilli() != 1000 || id.MaxDate.UnixMilli() != 5000 {
		t.Fatalf("%+v, %v", id, err)
	}
	if _, err := Parse("NMToken", b); !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, err := Parse(KindHDFS, []byte{0, 5, 'a'}); err == nil {
		t.Fatal("a short identifier parsed")
	}
}
