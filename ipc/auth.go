package ipc

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
)

// This file is how the client picks its credentials for one server, as Hadoop's
// SaslRpcClient does: a token only if its service names this server
// (SecurityUtil.buildTokenService), and Kerberos only towards the principal the
// configuration expects there (getServerPrincipal: _HOST or a .pattern).

// TokenService is the service Hadoop stamps on a token for the server at addr
// (host:port): the server's IP and port, or its host name and port when byName
// (hadoop.security.token.service.use_ip=false). It resolves the host.
func TokenService(ctx context.Context, addr string, byName bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("token service of %q: %w", addr, err)
	}
	if byName {
		return net.JoinHostPort(strings.ToLower(host), port), nil
	}
	if ip := net.ParseIP(host); ip != nil {
		return net.JoinHostPort(ip.String(), port), nil
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return "", fmt.Errorf("token service of %s: %w", addr, err)
	}
	ip := ips[0].IP
	for _, a := range ips {
		if v4 := a.IP.To4(); v4 != nil {
			ip = v4 // Java's InetAddress prefers IPv4 by default
			break
		}
	}
	return net.JoinHostPort(ip.String(), port), nil
}

// SelectToken returns the first token of kind whose service is service, or one of
// a comma-separated list (the RM's HA token service), or nil.
func SelectToken(tokens []*Token, kind, service string) *Token {
	for _, t := range tokens {
		if t == nil || t.Kind != kind {
			continue
		}
		for _, s := range strings.Split(t.Service, ",") {
			if strings.TrimSpace(s) == service {
				return t
			}
		}
	}
	return nil
}

// selectToken is the token TOKEN authentication uses towards cfg.Addr: cfg.Token,
// else the one of cfg.Tokens of kind cfg.TokenKind that names this server.
func (cfg *Config) selectToken(ctx context.Context) (*Token, error) {
	if cfg.Token != nil || len(cfg.Tokens) == 0 {
		return cfg.Token, nil
	}
	svc, err := TokenService(ctx, cfg.Addr, cfg.TokenServiceByName)
	if err != nil {
		return nil, err
	}
	return SelectToken(cfg.Tokens, cfg.TokenKind, svc), nil
}

// PrincipalError is a server whose advertised Kerberos principal is not the one
// the client's configuration expects: a wrong address, a misconfigured key, or a
// server impersonating another.
type PrincipalError struct {
	Addr       string
	Advertised string // the principal the server announced
	Expected   string // the configured principal, _HOST substituted
	Pattern    string // set instead of Expected when <key>.pattern is configured
	Key        string // the configuration key, e.g. dfs.namenode.kerberos.principal
}

// Error says both principals and the key that sets the expected one.
func (e *PrincipalError) Error() string {
	key := e.Key
	if key == "" {
		key = "the configured principal"
	}
	if e.Pattern != "" {
		return fmt.Sprintf("server %s has Kerberos principal %s, which does not match %s.pattern %q",
			e.Addr, e.Advertised, key, e.Pattern)
	}
	return fmt.Sprintf("server %s has Kerberos principal %s, but %s expects %s",
		e.Addr, e.Advertised, key, e.Expected)
}

// AuthError says that the client holds no credential the server accepts.
type AuthError struct {
	Addr    string
	Offered []string // the server's methods, in its order
	// Why says what the client lacked for each offered method.
	Why string
}

// Error reads like Hadoop's "Client cannot authenticate via:[TOKEN, KERBEROS]".
func (e *AuthError) Error() string {
	return fmt.Sprintf("server %s: client cannot authenticate via [%s]: %s", e.Addr, strings.Join(e.Offered, ", "), e.Why)
}

// expectedPrincipal is k.ServicePrincipal with _HOST replaced by host and the
// default realm added when it names none.
func (k *Kerberos) expectedPrincipal(host, defaultRealm string) string {
	p := k.ServicePrincipal
	if name, realm, ok := strings.Cut(p, "@"); ok {
		p = replaceHost(name, host) + "@" + realm
	} else {
		p = replaceHost(p, host)
		if defaultRealm != "" {
			p += "@" + defaultRealm
		}
	}
	return p
}

// replaceHost substitutes _HOST in the instance part of service/_HOST.
func replaceHost(name, host string) string {
	svc, inst, ok := strings.Cut(name, "/")
	if !ok || inst != "_HOST" {
		return name
	}
	return svc + "/" + strings.ToLower(host)
}

// checkPrincipal compares the principal a server advertised (protocol/serverId,
// in the default realm) with what the configuration expects there, and returns
// it: the principal to ask the KDC a ticket for.
func (k *Kerberos) checkPrincipal(addr, protocol, serverID, host, defaultRealm string) (string, error) {
	advertised := protocol + "/" + serverID
	if defaultRealm != "" {
		advertised += "@" + defaultRealm
	}
	if k.Pattern != "" {
		re, err := globRegexp(k.Pattern)
		if err != nil {
			return "", fmt.Errorf("%s.pattern %q: %w", k.Key, k.Pattern, err)
		}
		if !re.MatchString(advertised) {
			return "", &PrincipalError{Addr: addr, Advertised: advertised, Pattern: k.Pattern, Key: k.Key}
		}
		return advertised, nil
	}
	want := k.expectedPrincipal(host, defaultRealm)
	if serverID == "" || want != advertised {
		return "", &PrincipalError{Addr: addr, Advertised: advertised, Expected: want, Key: k.Key}
	}
	return advertised, nil
}

// globRegexp compiles Hadoop's GlobPattern syntax (*, ?, [...], {a,b}, \ escapes)
// into an anchored regular expression.
func globRegexp(g string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	inClass, inGroup := false, 0
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch {
		case c == '\\' && i+1 < len(g):
			i++
			b.WriteString(regexp.QuoteMeta(string(g[i])))
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
		case c == '*':
			b.WriteString(".*")
		case c == '?':
			b.WriteByte('.')
		case c == '{':
			inGroup++
			b.WriteString("(?:")
		case c == '}' && inGroup > 0:
			inGroup--
			b.WriteByte(')')
		case c == ',' && inGroup > 0:
			b.WriteByte('|')
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if inClass || inGroup > 0 {
		return nil, fmt.Errorf("unterminated [ or {")
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// canonicalHost is the host _HOST stands for towards addr: the first name the
// address's IP reverses to, as Java's InetAddress.getCanonicalHostName, else the IP.
func canonicalHost(ctx context.Context, addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	ip := host
	if net.ParseIP(host) == nil {
		ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil || len(ips) == 0 {
			return strings.ToLower(host)
		}
		ip = ips[0].IP.String()
		for _, a := range ips {
			if v4 := a.IP.To4(); v4 != nil {
				ip = v4.String()
				break
			}
		}
	}
	names, err := net.DefaultResolver.LookupAddr(ctx, ip)
	if err != nil || len(names) == 0 {
		return ip
	}
	return strings.ToLower(strings.TrimSuffix(names[0], "."))
}
