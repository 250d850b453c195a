package hdfs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/security/delegation"
)

// How HDFS clients authenticate (see docs/kerberos.md): colinmarc/hdfs keeps the
// DataNode reads, with SASL data protection from block access tokens (Spindle's
// own writer, writer.go and datatransfer_sasl.go, does its own for writes), and its
// NameNode RPC framing; but its NameNode connection is dialled through
// NamenodeDialFunc into ipc.DialStream, which authenticates as Hadoop's client does
// (TOKEN with the HDFS delegation token for that NameNode, else KERBEROS, else
// SIMPLE) and wraps the stream for integrity or privacy. colinmarc/hdfs then
// believes it speaks SIMPLE: its own preamble and connection context are dropped.

// Security is how a cluster's HDFS expects clients to authenticate and protect
// their traffic; the zero value is an open cluster.
type Security struct {
	// Principal is dfs.namenode.kerberos.principal (e.g. nn/_HOST@REALM);
	// PrincipalPattern its .pattern.
	Principal, PrincipalPattern string
	// RPCProtection is hadoop.rpc.protection, the least QOP towards NameNodes.
	RPCProtection ipc.QOP
	// DataTransferProtection is dfs.data.transfer.protection (the strongest
	// listed), or privacy with dfs.encrypt.data.transfer.
	DataTransferProtection string
	// AESDataTransfer is dfs.encrypt.data.transfer.cipher.suites naming
	// AES/CTR/NoPadding: with privacy, the DataNode connection is then AES/CTR
	// after the SASL handshake, rather than DIGEST-MD5's own privacy streams.
	AESDataTransfer bool
	// TokenServiceByName is hadoop.security.token.service.use_ip=false.
	TokenServiceByName bool
}

// HadoopConfig is the part of conf.Hadoop SecurityFrom reads.
type HadoopConfig interface {
	Get(key string) (string, bool)
}

// SecurityFrom reads Security from the cluster's configuration.
func SecurityFrom(h HadoopConfig) (Security, error) {
	var s Security
	if h == nil {
		return s, nil
	}
	get := func(k string) string { v, _ := h.Get(k); return strings.TrimSpace(v) }
	s.Principal, s.PrincipalPattern = get(principalKey), get(principalKey+".pattern")
	q, err := ipc.ParseProtection(get("hadoop.rpc.protection"))
	if err != nil {
		return s, err
	}
	s.RPCProtection = q
	for _, p := range strings.Split(strings.ToLower(get("dfs.data.transfer.protection")), ",") {
		// The strongest wins; the three names sort the way they rank.
		if p = strings.TrimSpace(p); p != "" && p > s.DataTransferProtection {
			s.DataTransferProtection = p
		}
	}
	if strings.EqualFold(get("dfs.encrypt.data.transfer"), "true") {
		s.DataTransferProtection = "privacy"
	}
	for _, c := range strings.Split(get("dfs.encrypt.data.transfer.cipher.suites"), ",") {
		s.AESDataTransfer = s.AESDataTransfer || strings.EqualFold(strings.TrimSpace(c), "AES/CTR/NoPadding")
	}
	s.TokenServiceByName = strings.EqualFold(get("hadoop.security.token.service.use_ip"), "false")
	return s, nil
}

const principalKey = "dfs.namenode.kerberos.principal"

// TokenExpiredError is a NameNode for which the client holds HDFS delegation
// tokens that are all past their max date, and no Kerberos login to fall back on:
// the application has lost access to it.
type TokenExpiredError struct {
	Service string
	At      time.Time // the latest max date among them
}

// Error says when access ended and why.
func (e *TokenExpiredError) Error() string {
	return fmt.Sprintf("HDFS delegation token for %s expired at %s (its max lifetime) and no new one arrived: with a keytab the ApplicationMaster obtains new ones; a job run from a ticket cache loses HDFS access then",
		e.Service, e.At.Local().Format(time.RFC3339))
}

// tokenSet is the HDFS delegation tokens a FileSystems holds; SetTokens
// replaces them.
type tokenSet struct {
	mu     sync.Mutex
	tokens []*ipc.Token
	now    func() time.Time
}

func (s *tokenSet) set(tokens []*ipc.Token) {
	var hdfs []*ipc.Token
	for _, t := range tokens {
		if t != nil && t.Kind == delegation.KindHDFS {
			hdfs = append(hdfs, t)
		}
	}
	s.mu.Lock()
	s.tokens = hdfs
	s.mu.Unlock()
}

// pick is the token for service: of those naming it, the unexpired one with the
// latest max date. It returns nil and the latest expiry when all have expired.
func (s *tokenSet) pick(service string) (*ipc.Token, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var best *ipc.Token
	var bestMax, expired time.Time
	for _, t := range s.tokens {
		if ipc.SelectToken([]*ipc.Token{t}, delegation.KindHDFS, service) == nil {
			continue
		}
		max := maxDate(t)
		if !max.IsZero() && !now.Before(max) {
			if max.After(expired) {
				expired = max
			}
			continue
		}
		if best == nil || max.After(bestMax) {
			best, bestMax = t, max
		}
	}
	return best, expired
}

// usable reports whether a connection authenticated with t may still be handed
// out: t is still the token chosen for service and has not expired. A
// connection without a token (Kerberos, SIMPLE) always may.
func (s *tokenSet) usable(t *ipc.Token, service string) bool {
	if t == nil {
		return true
	}
	cur, _ := s.pick(service)
	return cur != nil && sameToken(cur, t)
}

func sameToken(a, b *ipc.Token) bool {
	return a.Kind == b.Kind && string(a.Identifier) == string(b.Identifier) && string(a.Password) == string(b.Password)
}

// maxDate is when a token can no longer be renewed: after it, the NameNode
// refuses new connections with it. Zero when the identifier cannot be read.
func maxDate(t *ipc.Token) time.Time {
	id, err := delegation.Parse(t.Kind, t.Identifier)
	if err != nil {
		return time.Time{}
	}
	return id.MaxDate
}

// services lists the token services held, for errors.
func (s *tokenSet) services() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, t := range s.tokens {
		out = append(out, t.Service)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// nnConfig is the ipc configuration towards the NameNode at addr, with tok (may
// be nil) and opts' login.
func nnConfig(addr string, opts Options, tok *ipc.Token) (ipc.Config, error) {
	cfg := ipc.Config{
		Addr: addr, Protocol: clientProtocol, ProtocolVersion: clientProtocolVersion,
		User: opts.User, Token: tok, QOP: opts.Security.RPCProtection, Dial: opts.Dial,
	}
	if opts.Kerberos != nil {
		sec := opts.Security
		if sec.Principal == "" && sec.PrincipalPattern == "" {
			return cfg, fmt.Errorf("NameNode %s: Kerberos needs %s (the NameNode's principal, e.g. nn/_HOST@REALM)", addr, principalKey)
		}
		cfg.Kerberos = &ipc.Kerberos{Client: opts.Kerberos, ServicePrincipal: sec.Principal, Pattern: sec.PrincipalPattern, Key: principalKey}
	}
	return cfg, nil
}

// colinmarcConn is colinmarc/hdfs's NameNode connection over an authenticated
// ipc.Stream. That client writes its own preamble and connection context first
// (as SIMPLE); the stream has sent ours already, so those bytes are dropped and
// everything after them goes through.
type colinmarcConn struct {
	*ipc.Stream
	head []byte // colinmarc's handshake, collected until complete
	done bool
}

// handshakeLen is the preamble (7 bytes) and the context frame's length prefix.
const handshakeLen = 7 + 4

var errNotPreamble = errors.New("hdfs: colinmarc/hdfs wrote no RPC preamble first")

func (c *colinmarcConn) Write(p []byte) (int, error) {
	if c.done {
		return c.Stream.Write(p)
	}
	c.head = append(c.head, p...)
	if len(c.head) >= 4 && string(c.head[:4]) != "hrpc" {
		return 0, errNotPreamble
	}
	if len(c.head) < handshakeLen {
		return len(p), nil
	}
	end := handshakeLen + int(binary.BigEndian.Uint32(c.head[7:11]))
	if len(c.head) < end {
		return len(p), nil
	}
	rest := c.head[end:]
	c.head, c.done = nil, true
	if len(rest) > 0 {
		if _, err := c.Stream.Write(rest); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// dialer is colinmarc/hdfs's NamenodeDialFunc for one client: it dials through
// ipc.DialStream with cfg, bounded by ctx while the client is being created, and
// keeps the last failure, which colinmarc/hdfs would flatten into text.
type dialer struct {
	ctx  context.Context // nil once connected: reconnects use their own bound
	cfg  ipc.Config
	mu   sync.Mutex
	last error
}

func (d *dialer) dial(dctx context.Context, _, addr string) (net.Conn, error) {
	d.mu.Lock()
	if d.ctx != nil {
		dctx = d.ctx
	}
	cfg := d.cfg
	d.mu.Unlock()
	cfg.Addr = addr
	s, err := ipc.DialStream(dctx, cfg)
	if err != nil {
		d.mu.Lock()
		d.last = err
		d.mu.Unlock()
		return nil, err
	}
	return &colinmarcConn{Stream: s}, nil
}

func (d *dialer) connected() {
	d.mu.Lock()
	d.ctx = nil
	d.mu.Unlock()
}

func (d *dialer) lastErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

// OptionsFrom is Options for user from the cluster's configuration: fs.defaultFS
// and Security. Callers add a login or tokens.
func OptionsFrom(h HadoopConfig, user string) (Options, error) {
	o := Options{User: user}
	if h == nil {
		return o, nil
	}
	if v, ok := h.Get("fs.defaultFS"); ok {
		o.DefaultFS = strings.TrimSpace(v)
	}
	sec, err := SecurityFrom(h)
	if err != nil {
		return o, err
	}
	o.Security = sec
	return o, nil
}
