package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/ipc/pb"
)

// Kerberos enables KERBEROS (GSSAPI) authentication with a logged-in client.
// The server's advertised principal must be the one the configuration expects,
// as Hadoop's SaslRpcClient.getServerPrincipal checks.
type Kerberos struct {
	// Client is a logged-in gokrb5 client.
	Client *client.Client
	// ServicePrincipal is the server's principal as configured, e.g.
	// "nn/_HOST@REALM": _HOST becomes the canonical name of the server's host
	// (its address reversed, as Java's getCanonicalHostName), and a principal
	// without a realm gets the default realm.
	ServicePrincipal string
	// Pattern, when set (the key's ".pattern"), is a glob the advertised
	// principal must match instead; ServicePrincipal is then not used.
	Pattern string
	// Key names the configuration key of ServicePrincipal, for errors.
	Key string
}

// Config describes a connection to one Hadoop RPC server and protocol.
type Config struct {
	Addr            string // host:port
	Protocol        string // e.g. "org.apache.hadoop.yarn.api.ApplicationClientProtocolPB"
	ProtocolVersion uint64 // 1 for YARN/HDFS protocols
	User            string // effective user under SIMPLE; ignored with Token or Kerberos
	// Token is used for TOKEN auth (DIGEST-MD5) whatever its service: the
	// AMRMToken and NMTokens, which are picked by kind.
	Token *Token
	// Tokens are delegation tokens held for many servers: TOKEN auth uses the
	// one of kind TokenKind whose service names this server (its IP and port,
	// as SecurityUtil.buildTokenService makes it). Ignored when Token is set.
	Tokens    []*Token
	TokenKind string
	// TokenServiceByName matches services by host name instead of IP
	// (hadoop.security.token.service.use_ip=false).
	TokenServiceByName bool
	// Kerberos enables KERBEROS auth. With a token too, the server's order
	// decides, as in Hadoop: servers list TOKEN first.
	Kerberos *Kerberos
	// QOP is the minimum protection; "" means auth. The server's offer
	// decides among the levels at or above it.
	QOP         QOP
	DialTimeout time.Duration // per attempt; default 20s
	// Dial, when set, opens the TCP connections instead of a net.Dialer: a
	// proxy's, or a test's tap.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxRetries is ipc.client.connect.max.retries: how many times a failed
	// connect is retried with backoff. 0 means the default, 3; negative
	// means no retries.
	MaxRetries   int
	PingInterval time.Duration // default 60s
	// IdleTimeout is ipc.client.connection.maxidletime: a connection with no
	// call for this long is closed. Default 10s.
	IdleTimeout time.Duration
	Logger      *zerolog.Logger // optional
	// Pool shares connections; nil means the package's default pool.
	Pool *Pool
}

// Defaults taken from Hadoop's core-default.xml where one exists.
const (
	defaultDialTimeout  = 20 * time.Second
	defaultMaxRetries   = 3
	defaultPingInterval = 60 * time.Second
	defaultIdleTimeout  = 10 * time.Second
)

// withDefaults validates cfg and fills in its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Addr == "" {
		return cfg, errors.New("ipc: Config.Addr is empty")
	}
	if cfg.Protocol == "" {
		return cfg, errors.New("ipc: Config.Protocol is empty")
	}
	if k := cfg.Kerberos; k != nil && (k.Client == nil || k.Client.Credentials == nil || (k.ServicePrincipal == "" && k.Pattern == "")) {
		return cfg, errors.New("ipc: Config.Kerberos needs a logged-in Client and ServicePrincipal or Pattern")
	}
	if len(cfg.Tokens) > 0 && cfg.TokenKind == "" {
		return cfg, errors.New("ipc: Config.Tokens needs TokenKind")
	}
	if cfg.QOP == "" {
		cfg.QOP = QOPAuth
	}
	if cfg.QOP.rank() < 0 {
		return cfg, fmt.Errorf("ipc: unknown QOP %q", cfg.QOP)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = defaultDialTimeout
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = defaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = defaultPingInterval
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = defaultIdleTimeout
	}
	if cfg.Logger == nil {
		nop := zerolog.Nop()
		cfg.Logger = &nop
	}
	if cfg.Pool == nil {
		cfg.Pool = defaultPool
	}
	return cfg, nil
}

// poolKey identifies connections that may be shared: same address,
// protocol, user and credentials.
func (cfg *Config) poolKey() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%d|%s|%s|", cfg.Addr, cfg.Protocol, cfg.ProtocolVersion, cfg.QOP, cfg.User)
	if cfg.Token != nil {
		b.WriteString("token:" + cfg.Token.identity())
	} else {
		for _, t := range cfg.Tokens {
			if t != nil && t.Kind == cfg.TokenKind {
				b.WriteString("tokens:" + t.identity() + ",")
			}
		}
	}
	if k := cfg.Kerberos; k != nil {
		fmt.Fprintf(&b, "|krb:%p:%s:%s", k.Client, k.ServicePrincipal, k.Pattern)
	}
	return b.String()
}

// Client calls one protocol on one server. It is safe for concurrent use;
// concurrent calls share one connection.
type Client struct {
	cfg    Config
	key    string
	closed atomic.Bool
}

// ErrClientClosed is returned by Call after Close.
var ErrClientClosed = errors.New("ipc: client closed")

// NewClient validates cfg and returns a client. It does not connect: the
// first Call does, and later calls reconnect transparently when the
// connection was closed.
func NewClient(cfg Config) (*Client, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, key: cfg.poolKey()}
	cfg.Pool.acquire(c.key)
	return c, nil
}

// Call invokes method with req and decodes the reply into resp. A server
// exception is returned as *RemoteError. When ctx ends first, Call returns
// ctx.Err() and the late reply is dropped.
func (c *Client) Call(ctx context.Context, method string, req, resp proto.Message) error {
	if c.closed.Load() {
		return ErrClientClosed
	}
	cn, err := c.cfg.Pool.get(ctx, c.key, &c.cfg)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
			return cerr
		}
		return err
	}
	rh := &pb.RequestHeaderProto{
		MethodName:                 proto.String(method),
		DeclaringClassProtocolName: proto.String(c.cfg.Protocol),
		ClientProtocolVersion:      proto.Uint64(c.cfg.ProtocolVersion),
	}
	body, err := cn.call(ctx, rh, req)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
			return cerr
		}
		return fmt.Errorf("%s.%s on %s: %w", shortName(c.cfg.Protocol), method, c.cfg.Addr, err)
	}
	if _, err := unmarshalDelimited(body, resp); err != nil {
		return fmt.Errorf("%s.%s on %s: decode response: %w", shortName(c.cfg.Protocol), method, c.cfg.Addr, err)
	}
	return nil
}

// Close releases the client's share of its connection; the connection
// closes when no client uses it. Close is idempotent.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.cfg.Pool.release(c.key)
	return nil
}

// shortName returns the last dotted element of a Java name.
func shortName(s string) string {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[i+1:]
	}
	return s
}
