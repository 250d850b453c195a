package yarn

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/spindle-engine/spindle/ipc"
	ipcpb "github.com/spindle-engine/spindle/ipc/pb"
	"github.com/spindle-engine/spindle/yarn/pb"
	"google.golang.org/protobuf/proto"
)

// Credentials is the content of a Hadoop credentials file
// (org.apache.hadoop.security.Credentials): tokens and secret keys by alias.
// The NodeManager writes one for every container (HADOOP_TOKEN_FILE_LOCATION)
// from ContainerLaunchContext.tokens, which holds the same bytes.
type Credentials struct {
	Tokens  map[string]*ipc.Token
	Secrets map[string][]byte
}

// credentialsMagic starts every credentials file; the byte after it selects
// the layout.
const credentialsMagic = "HDTS"

const (
	formatWritable byte = 0
	formatProtobuf byte = 1
)

// NewCredentials returns empty credentials ready to fill.
func NewCredentials() *Credentials {
	return &Credentials{Tokens: map[string]*ipc.Token{}, Secrets: map[string][]byte{}}
}

// CorruptCredentialsError reports a credentials file that cannot be decoded:
// Name is the file (or a description of the bytes), Offset where decoding stopped.
type CorruptCredentialsError struct {
	Name   string
	Offset int64
	Err    error
}

// Error names the file and the byte offset.
func (e *CorruptCredentialsError) Error() string {
	return fmt.Sprintf("credentials %s: corrupt at offset %d: %v", e.Name, e.Offset, e.Err)
}

// Unwrap returns the decoding failure.
func (e *CorruptCredentialsError) Unwrap() error { return e.Err }

// ReadCredentials reads a credentials file in either of Hadoop's layouts.
func ReadCredentials(path string) (*Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	return ParseCredentials(b, path)
}

// ParseCredentials decodes credentials file bytes; name is used in errors.
func ParseCredentials(b []byte, name string) (*Credentials, error) {
	corrupt := func(off int, format string, args ...any) error {
		return &CorruptCredentialsError{Name: name, Offset: int64(off), Err: fmt.Errorf(format, args...)}
	}
	if len(b) < len(credentialsMagic)+1 {
		return nil, corrupt(len(b), "%d bytes is too short for a header", len(b))
	}
	if string(b[:4]) != credentialsMagic {
		return nil, corrupt(0, "bad magic %q, want %q", b[:4], credentialsMagic)
	}
	switch b[4] {
	case formatWritable:
		return parseWritable(b, name)
	case formatProtobuf:
		return parseProtobuf(b, name)
	default:
		return nil, corrupt(4, "unknown format version %d", b[4])
	}
}

func parseWritable(b []byte, name string) (*Credentials, error) {
	r := &wreader{buf: b, off: 5}
	c := NewCredentials()
	fail := func(what string, err error) error {
		return &CorruptCredentialsError{Name: name, Offset: int64(r.off), Err: fmt.Errorf("%s: %w", what, err)}
	}
	n, err := r.count()
	if err != nil {
		return nil, fail("token count", err)
	}
	for i := 0; i < n; i++ {
		alias, err := r.text()
		if err != nil {
			return nil, fail(fmt.Sprintf("token %d alias", i), err)
		}
		var t ipc.Token
		if t.Identifier, err = r.bytes(); err != nil {
			return nil, fail(fmt.Sprintf("token %q identifier", alias), err)
		}
		if t.Password, err = r.bytes(); err != nil {
			return nil, fail(fmt.Sprintf("token %q password", alias), err)
		}
		if t.Kind, err = r.text(); err != nil {
			return nil, fail(fmt.Sprintf("token %q kind", alias), err)
		}
		if t.Service, err = r.text(); err != nil {
			return nil, fail(fmt.Sprintf("token %q service", alias), err)
		}
		c.Tokens[alias] = &t
	}
	if n, err = r.count(); err != nil {
		return nil, fail("secret count", err)
	}
	for i := 0; i < n; i++ {
		alias, err := r.text()
		if err != nil {
			return nil, fail(fmt.Sprintf("secret %d alias", i), err)
		}
		if c.Secrets[alias], err = r.bytes(); err != nil {
			return nil, fail(fmt.Sprintf("secret %q", alias), err)
		}
	}
	if r.off != len(b) {
		return nil, fail("trailing data", fmt.Errorf("%d bytes after the secrets", len(b)-r.off))
	}
	return c, nil
}

func parseProtobuf(b []byte, name string) (*Credentials, error) {
	const start = 5
	n, k := binary.Uvarint(b[start:])
	if k <= 0 || n > uint64(len(b)-start-k) {
		return nil, &CorruptCredentialsError{Name: name, Offset: start, Err: fmt.Errorf("bad message length prefix")}
	}
	msg := b[start+k : start+k+int(n)]
	var cp pb.CredentialsProto
	if err := proto.Unmarshal(msg, &cp); err != nil {
		return nil, &CorruptCredentialsError{Name: name, Offset: int64(start + k), Err: err}
	}
	c := NewCredentials()
	for _, kv := range cp.GetTokens() {
		t := kv.GetToken()
		c.Tokens[kv.GetAlias()] = &ipc.Token{
			Identifier: t.GetIdentifier(), Password: t.GetPassword(),
			Kind: t.GetKind(), Service: t.GetService(),
		}
	}
	for _, kv := range cp.GetSecrets() {
		c.Secrets[kv.GetAlias()] = kv.GetSecret()
	}
	return c, nil
}

// sortedKeys gives a stable file layout (Hadoop's order is a HashMap's).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Bytes encodes the credentials in the Writable layout, the one Hadoop 3
// writes by default and the one for ContainerLaunchContext.tokens.
func (c *Credentials) Bytes() []byte {
	b := append([]byte(credentialsMagic), formatWritable)
	b = appendVLong(b, int64(len(c.Tokens)))
	for _, alias := range sortedKeys(c.Tokens) {
		t := c.Tokens[alias]
		b = appendText(b, alias)
		b = appendBytes(b, t.Identifier)
		b = appendBytes(b, t.Password)
		b = appendText(b, t.Kind)
		b = appendText(b, t.Service)
	}
	b = appendVLong(b, int64(len(c.Secrets)))
	for _, alias := range sortedKeys(c.Secrets) {
		b = appendText(b, alias)
		b = appendBytes(b, c.Secrets[alias])
	}
	return b
}

// WriteWritable writes the Writable layout (format byte 0).
func (c *Credentials) WriteWritable(w io.Writer) error {
	if _, err := w.Write(c.Bytes()); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}

// WriteProtobuf writes the protobuf layout (format byte 1): one
// length-delimited CredentialsProto.
func (c *Credentials) WriteProtobuf(w io.Writer) error {
	var cp pb.CredentialsProto
	for _, alias := range sortedKeys(c.Tokens) {
		t := c.Tokens[alias]
		cp.Tokens = append(cp.Tokens, &pb.CredentialsKVProto{Alias: proto.String(alias), Token: tokenProto(t)})
	}
	for _, alias := range sortedKeys(c.Secrets) {
		cp.Secrets = append(cp.Secrets, &pb.CredentialsKVProto{Alias: proto.String(alias), Secret: c.Secrets[alias]})
	}
	msg, err := proto.Marshal(&cp)
	if err != nil {
		return fmt.Errorf("encode credentials: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString(credentialsMagic)
	buf.WriteByte(formatProtobuf)
	buf.Write(binary.AppendUvarint(nil, uint64(len(msg))))
	buf.Write(msg)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}

// TokenOfKind returns a token of the given kind, or nil. YARN's AMRMToken is
// found this way because its alias and service are empty.
func (c *Credentials) TokenOfKind(kind string) *ipc.Token {
	for _, alias := range sortedKeys(c.Tokens) {
		if t := c.Tokens[alias]; t.Kind == kind {
			return t
		}
	}
	return nil
}

func tokenProto(t *ipc.Token) *ipcpb.TokenProto {
	return &ipcpb.TokenProto{
		Identifier: nonNil(t.Identifier), Password: nonNil(t.Password),
		Kind: proto.String(t.Kind), Service: proto.String(t.Service),
	}
}

func tokenFromProto(p *ipcpb.TokenProto) *ipc.Token {
	if p == nil {
		return nil
	}
	return &ipc.Token{Identifier: p.GetIdentifier(), Password: p.GetPassword(), Kind: p.GetKind(), Service: p.GetService()}
}

// nonNil keeps required bytes fields present on the wire when empty.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// TokenList returns the tokens, sorted by alias; none for nil credentials.
func (c *Credentials) TokenList() []*ipc.Token {
	if c == nil {
		return nil
	}
	out := make([]*ipc.Token, 0, len(c.Tokens))
	for _, alias := range sortedKeys(c.Tokens) {
		out = append(out, c.Tokens[alias])
	}
	return out
}
