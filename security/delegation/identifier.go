// Package delegation reads Hadoop's delegation token identifiers: whose token it
// is, who may renew it, when it was issued and when it can no longer be renewed.
// The renewal schedule, the NameNode clients' choice of token and submit's
// "access ends at" line are computed from them.
package delegation

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Token kinds Spindle obtains.
const (
	// KindHDFS is an HDFS delegation token (DelegationTokenIdentifier).
	KindHDFS = "HDFS_DELEGATION_TOKEN"
	// KindRM is a ResourceManager delegation token (RMDelegationTokenIdentifier).
	KindRM = "RM_DELEGATION_TOKEN"
)

// ErrUnknownKind is a token whose identifier layout this package does not know.
var ErrUnknownKind = errors.New("delegation: unknown token kind")

// Identifier is AbstractDelegationTokenIdentifier's fields.
type Identifier struct {
	Owner, Renewer, RealUser string
	IssueDate, MaxDate       time.Time
	SequenceNumber           int32
	MasterKeyID              int32
}

// Parse decodes the identifier of a token of kind: HDFS's is a Writable
// (AbstractDelegationTokenIdentifier.write), the RM's a protobuf
// (YARNDelegationTokenIdentifierProto).
func Parse(kind string, id []byte) (*Identifier, error) {
	switch kind {
	case KindHDFS:
		return parseWritable(id)
	case KindRM:
		return parseProto(id)
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownKind, kind)
}

// parseWritable reads version byte 0, owner, renewer and realUser as Text, the
// two dates as VLong and the two numbers as VInt.
func parseWritable(b []byte) (*Identifier, error) {
	r := &reader{b: b}
	if v := r.byte(); v != 0 {
		return nil, fmt.Errorf("delegation token identifier version %d, want 0", v)
	}
	id := &Identifier{Owner: r.text(), Renewer: r.text(), RealUser: r.text()}
	id.IssueDate = time.UnixMilli(r.vlong())
	id.MaxDate = time.UnixMilli(r.vlong())
	id.SequenceNumber = int32(r.vlong())
	id.MasterKeyID = int32(r.vlong())
	if r.err != nil {
		return nil, fmt.Errorf("delegation token identifier: %w", r.err)
	}
	return id, nil
}

func parseProto(b []byte) (*Identifier, error) {
	id := &Identifier{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("RM delegation token identifier: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.BytesType && num <= 3 {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil, fmt.Errorf("RM delegation token identifier: %w", protowire.ParseError(m))
			}
			switch num {
			case 1:
				id.Owner = string(v)
			case 2:
				id.Renewer = string(v)
			case 3:
				id.RealUser = string(v)
			}
			b = b[m:]
			continue
		}
		if typ == protowire.VarintType && num >= 4 && num <= 7 {
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return nil, fmt.Errorf("RM delegation token identifier: %w", protowire.ParseError(m))
			}
			switch num {
			case 4:
				id.IssueDate = time.UnixMilli(int64(v))
			case 5:
				id.MaxDate = time.UnixMilli(int64(v))
			case 6:
				id.SequenceNumber = int32(v)
			case 7:
				id.MasterKeyID = int32(v)
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return nil, fmt.Errorf("RM delegation token identifier: %w", protowire.ParseError(m))
		}
		b = b[m:]
	}
	return id, nil
}

// Writable encodes id as an HDFS delegation token identifier, for fakes and tests.
func (id *Identifier) Writable() []byte {
	b := []byte{0}
	for _, s := range []string{id.Owner, id.Renewer, id.RealUser} {
		b = appendVLong(b, int64(len(s)))
		b = append(b, s...)
	}
	b = appendVLong(b, id.IssueDate.UnixMilli())
	b = appendVLong(b, id.MaxDate.UnixMilli())
	b = appendVLong(b, int64(id.SequenceNumber))
	return appendVLong(b, int64(id.MasterKeyID))
}

// reader reads Hadoop Writable primitives, keeping the first error.
type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("identifier ends early")

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errShort
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// vlong is WritableUtils.readVLong: -112..127 in one byte, else a length byte
// (-113..-120 positive, -121..-128 negative) and that many big-endian bytes.
func (r *reader) vlong() int64 {
	first := int8(r.byte())
	if first >= -112 {
		return int64(first)
	}
	neg := first < -120
	n := int(-112 - int(first))
	if neg {
		n = int(-120 - int(first))
	}
	var v int64
	for i := 0; i < n; i++ {
		v = v<<8 | int64(r.byte())
	}
	if neg {
		return ^v
	}
	return v
}

func (r *reader) text() string {
	n := r.vlong()
	if r.err != nil {
		return ""
	}
	if n < 0 || int64(len(r.b)) < n {
		r.err = errShort
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// appendVLong is WritableUtils.writeVLong.
func appendVLong(b []byte, v int64) []byte {
	if v >= -112 && v <= 127 {
		return append(b, byte(int8(v)))
	}
	l := int8(-112)
	if v < 0 {
		v = ^v
		l = -120
	}
	for t := v; t != 0; t >>= 8 {
		l--
	}
	b = append(b, byte(l))
	n := -112 - int(l)
	if l < -120 {
		n = -120 - int(l)
	}
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}
