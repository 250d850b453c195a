package handshake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// Defaults for servers: how long a peer has to complete the handshake, and how many
// peers may be in it at once.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultMaxPending = 64
)

// AuthInfo is what gRPC knows of a connection the handshake authenticated.
type AuthInfo struct {
	credentials.CommonAuthInfo
	*Result
}

// AuthType names the handshake.
func (AuthInfo) AuthType() string { return "spindle" }

// FromContext returns the handshake's result for the connection of an RPC, on
// either end.
func FromContext(ctx context.Context) (*Result, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, false
	}
	ai, ok := p.AuthInfo.(AuthInfo)
	if !ok || ai.Result == nil {
		return nil, false
	}
	return ai.Result, true
}

func authInfo(r *Result) AuthInfo {
	level := credentials.NoSecurity
	if r.Encrypted {
		level = credentials.PrivacyAndIntegrity
	}
	return AuthInfo{CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: level}, Result: r}
}

// wrap returns conn encrypted when the handshake says so.
func wrap(conn net.Conn, r *Result, client bool) (net.Conn, error) {
	if !r.Encrypted {
		return conn, nil
	}
	return encrypt(conn, r, client)
}

type clientCreds struct {
	app, purpose string
	secret       []byte
	encrypt      bool
}

// NewClientCredentials returns gRPC transport credentials that run the client side
// of the handshake for app on every connection, asking for encryption if encrypt.
func NewClientCredentials(app, purpose string, secret []byte, encrypt bool) credentials.TransportCredentials {
	return &clientCreds{app: app, purpose: purpose, secret: secret, encrypt: encrypt}
}

func (c *clientCreds) ClientHandshake(ctx context.Context, _ string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultTimeout)
	}
	raw.SetDeadline(deadline)
	r, err := Client(raw, c.app, c.purpose, c.secret, c.encrypt)
	raw.SetDeadline(time.Time{})
	if err != nil {
		return nil, nil, err
	}
	conn, err := wrap(raw, r, true)
	if err != nil {
		return nil, nil, err
	}
	return conn, authInfo(r), nil
}

func (c *clientCreds) ServerHandshake(net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("handshake: client credentials used by a server")
}

func (c *clientCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "spindle"}
}

func (c *clientCreds) Clone() credentials.TransportCredentials { cc := *c; return &cc }

func (c *clientCreds) OverrideServerName(string) error { return nil }

// ServerOptions tune a server's side.
type ServerOptions struct {
	// Purpose is the protocol the server speaks; a client naming another is refused.
	Purpose string
	// RequireEncryption encrypts every connection, whatever the client asked.
	RequireEncryption bool
	// Timeout bounds each handshake; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxPending bounds the connections in the handshake at once; more are closed at
	// once. 0 means DefaultMaxPending.
	MaxPending int
	// Refused, when set, hears of each refused handshake (for the server's log).
	Refused func(remote net.Addr, err error)
}

type serverCreds struct {
	secrets Secrets
	opts    ServerOptions
	pending chan struct{}
}

// NewServerCredentials returns gRPC transport credentials that run the server side
// of the handshake on every accepted connection, with the secrets of the
// applications it serves. gRPC reads no byte of a connection before it is accepted.
func NewServerCredentials(secrets Secrets, opts ServerOptions) credentials.TransportCredentials {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	return &serverCreds{secrets: secrets, opts: opts, pending: make(chan struct{}, opts.MaxPending)}
}

func (s *serverCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	select {
	case s.pending <- struct{}{}:
	default:
		err := fmt.Errorf("handshake: %w: %d handshakes already under way", ErrRefused, s.opts.MaxPending)
		s.refused(raw, err)
		return nil, nil, err
	}
	defer func() { <-s.pending }()
	raw.SetDeadline(time.Now().Add(s.opts.Timeout))
	r, err := Server(raw, s.secrets, s.opts.RequireEncryption)
	raw.SetDeadline(time.Time{})
	if err == nil && r.Purpose != s.opts.Purpose {
		err = fmt.Errorf("handshake: %w: a %q client at a %q server", ErrRefused, r.Purpose, s.opts.Purpose)
	}
	if err != nil {
		s.refused(raw, err)
		return nil, nil, err
	}
	conn, err := wrap(raw, r, false)
	if err != nil {
		return nil, nil, err
	}
	return conn, authInfo(r), nil
}

func (s *serverCreds) refused(raw net.Conn, err error) {
	if s.opts.Refused != nil {
		s.opts.Refused(raw.RemoteAddr(), err)
	}
}

func (s *serverCreds) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("handshake: server credentials used by a client")
}

func (s *serverCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "spindle"}
}

func (s *serverCreds) Clone() credentials.TransportCredentials {
	return &serverCreds{secrets: s.secrets, opts: s.opts, pending: make(chan struct{}, s.opts.MaxPending)}
}

func (s *serverCreds) OverrideServerName(string) error { return nil }

// OneApp is the Secrets of a server that serves one application.
type OneApp struct {
	App string
	Key []byte
}

// Secret implements Secrets.
func (o OneApp) Secret(app string) ([]byte, bool) {
	if app != o.App {
		return nil, false
	}
	return o.Key, true
}
