package yarn

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"

	"github.com/spindle-engine/spindle/ipc"
)

// HadoopConfig is the part of conf.Hadoop the clients read.
type HadoopConfig interface {
	Get(key string) (string, bool)
}

// Option adjusts a client.
type Option func(*options)

type options struct {
	user         string
	maxRetries   int
	retriesSet   bool // WithMaxRetries was given
	dialTimeout  time.Duration
	maxFailovers int
	kerberos     *client.Client
	tokens       []*ipc.Token
	pool         *ipc.Pool
	retryNotice  RetryNotice
}

// WithUser sets the user for SIMPLE authentication (default: HADOOP_USER_NAME,
// then USER, then the OS user).
func WithUser(u string) Option { return func(o *options) { o.user = u } }

// WithMaxRetries sets how often a failed connect to one RM or NM is retried
// (default ipc.client.connect.max.retries, else the ipc default; with RM HA,
// yarn.client.failover-retries, else none: the next RM is tried instead).
func WithMaxRetries(n int) Option { return func(o *options) { o.maxRetries, o.retriesSet = n, true } }

// WithDialTimeout sets the per-attempt connect timeout.
func WithDialTimeout(d time.Duration) Option { return func(o *options) { o.dialTimeout = d } }

// WithMaxFailovers sets how many times a call moves to the next RM before
// giving up (default yarn.client.failover-max-attempts, else as Hadoop's RMProxy:
// yarn.resourcemanager.connect.max-wait.ms over yarn.client.failover-sleep-base-ms).
func WithMaxFailovers(n int) Option { return func(o *options) { o.maxFailovers = n } }

// WithKerberos authenticates to the RM with Kerberos as the logged-in cl (secure
// clusters), towards yarn.resourcemanager.principal (_HOST becomes each RM's
// host) or, when set, the principal glob yarn.resourcemanager.principal.pattern.
func WithKerberos(cl *client.Client) Option { return func(o *options) { o.kerberos = cl } }

// WithTokens gives the client delegation tokens: it authenticates to an RM with
// the RM_DELEGATION_TOKEN whose service names it (the AM on a secure cluster).
// The RM lists TOKEN before KERBEROS, so a matching token wins over a login.
func WithTokens(tokens []*ipc.Token) Option { return func(o *options) { o.tokens = tokens } }

// WithPool makes the client share connections through p.
func WithPool(p *ipc.Pool) Option { return func(o *options) { o.pool = p } }

func buildOptions(h HadoopConfig, opts []Option) options {
	var o options
	if v, ok := lookup(h, "ipc.client.connect.max.retries"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			// ipc counts retries the same way; 0 there means "default", so
			// map Hadoop's 0 to no retries.
			o.maxRetries = n
			if n == 0 {
				o.maxRetries = -1
			}
		}
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.user == "" {
		o.user = defaultUser()
	}
	return o
}

func defaultUser() string {
	for _, k := range []string{"HADOOP_USER_NAME", "USER"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "nobody"
}

// lookup reads a key and expands ${other.key} references, which raw
// *-site.xml dumps (e.g. the minicluster's) still contain.
func lookup(h HadoopConfig, key string) (string, bool) {
	if h == nil {
		return "", false
	}
	v, ok := h.Get(key)
	if !ok {
		return "", false
	}
	for depth := 0; depth < 20 && strings.Contains(v, "${"); depth++ {
		i := strings.Index(v, "${")
		j := strings.IndexByte(v[i:], '}')
		if j < 0 {
			break
		}
		ref := v[i+2 : i+j]
		sub, _ := h.Get(ref)
		if sub == "" {
			sub = os.Getenv(strings.TrimPrefix(ref, "env."))
		}
		v = v[:i] + sub + v[i+j+1:]
	}
	return strings.TrimSpace(v), true
}

// rmAddrs returns the RM addresses for one RPC service: key is e.g.
// yarn.resourcemanager.address, port its default port. With HA, one address
// per yarn.resourcemanager.ha.rm-ids entry, in order.
func rmAddrs(h HadoopConfig, key string, port int) ([]string, error) {
	if v, _ := lookup(h, "yarn.resourcemanager.ha.enabled"); strings.EqualFold(v, "true") {
		ids, _ := lookup(h, "yarn.resourcemanager.ha.rm-ids")
		var addrs []string
		for _, id := range strings.Split(ids, ",") {
			if id = strings.TrimSpace(id); id == "" {
				continue
			}
			if a, ok := lookup(h, key+"."+id); ok && a != "" {
				addrs = append(addrs, a)
				continue
			}
			host, ok := lookup(h, "yarn.resourcemanager.hostname."+id)
			if !ok || host == "" {
				return nil, fmt.Errorf("resourcemanager %s: neither %s.%s nor yarn.resourcemanager.hostname.%s is set", id, key, id, id)
			}
			addrs = append(addrs, host+":"+strconv.Itoa(port))
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("resourcemanager HA is enabled but yarn.resourcemanager.ha.rm-ids is empty")
		}
		return addrs, nil
	}
	if a, ok := lookup(h, key); ok && a != "" && !strings.HasPrefix(a, ":") {
		return []string{a}, nil
	}
	host, ok := lookup(h, "yarn.resourcemanager.hostname")
	if !ok || host == "" {
		host = "0.0.0.0"
	}
	return []string{host + ":" + strconv.Itoa(port)}, nil
}

// rmPrincipalKey is the RM's Kerberos principal (ClientRMSecurityInfo's KerberosInfo).
const rmPrincipalKey = "yarn.resourcemanager.principal"

// RMDelegationTokenKind is the kind of the RM's delegation tokens.
const RMDelegationTokenKind = "RM_DELEGATION_TOKEN"

// kerberosFor is the Kerberos side of a client towards the service whose principal
// key is key: the configured principal, or the glob in key.pattern.
func kerberosFor(h HadoopConfig, cl *client.Client, key string) (*ipc.Kerberos, error) {
	k := &ipc.Kerberos{Client: cl, Key: key}
	k.ServicePrincipal, _ = lookup(h, key)
	k.Pattern, _ = lookup(h, key+".pattern")
	if k.ServicePrincipal == "" && k.Pattern == "" {
		return nil, fmt.Errorf("Kerberos needs %s (the server's principal, e.g. rm/_HOST@REALM)", key)
	}
	return k, nil
}

// tokenServiceByName is hadoop.security.token.service.use_ip=false: tokens name
// servers by host instead of IP.
func tokenServiceByName(h HadoopConfig) bool {
	v, _ := lookup(h, "hadoop.security.token.service.use_ip")
	return strings.EqualFold(v, "false")
}

// RMPrincipal is the RM's Kerberos principal as the configuration names it, with
// _HOST replaced by the host of the first RM address: the renewer Hadoop's clients
// name in the delegation tokens they give YARN (Master.getMasterPrincipal), so
// that the RM may renew them. "" when the cluster is not Kerberized.
func RMPrincipal(h HadoopConfig) (string, error) {
	p, _ := lookup(h, rmPrincipalKey)
	if p == "" {
		return "", nil
	}
	if !strings.Contains(p, "_HOST") {
		return p, nil
	}
	addrs, err := rmAddrs(h, "yarn.resourcemanager.address", rmClientPort)
	if err != nil {
		return "", err
	}
	host := addrs[0]
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Replace(p, "_HOST", strings.ToLower(host), 1), nil
}

// Hadoop's defaults of yarn.resourcemanager.connect.retry-interval.ms and
// yarn.resourcemanager.connect.max-wait.ms.
const (
	defaultRMRetryInterval = 30 * time.Second
	defaultRMMaxWait       = 15 * time.Minute
)

// rmFailover is the failover policy of a client of HA ResourceManagers, from the
// keys Hadoop's RMProxy.createRetryPolicy reads: sleeps from
// yarn.client.failover-sleep-base-ms and -max-ms (both default to
// yarn.resourcemanager.connect.retry-interval.ms), and at most
// yarn.client.failover-max-attempts failovers, else
// yarn.resourcemanager.connect.max-wait.ms over the base sleep (-1: no limit).
func rmFailover(h HadoopConfig, o options) (failoverPolicy, error) {
	interval, err := millisKey(h, "yarn.resourcemanager.connect.retry-interval.ms", defaultRMRetryInterval)
	if err != nil {
		return failoverPolicy{}, err
	}
	maxWait, err := millisKey(h, "yarn.resourcemanager.connect.max-wait.ms", defaultRMMaxWait)
	if err != nil {
		return failoverPolicy{}, err
	}
	if maxWait < 0 && maxWait != -time.Millisecond {
		return failoverPolicy{}, fmt.Errorf("yarn.resourcemanager.connect.max-wait.ms=%d: want -1 (wait forever) or a wait in ms", maxWait.Milliseconds())
	}
	p := failoverPolicy{}
	if p.sleepBase, err = millisKey(h, "yarn.client.failover-sleep-base-ms", interval); err != nil {
		return p, err
	}
	if p.sleepMax, err = millisKey(h, "yarn.client.failover-sleep-max-ms", interval); err != nil {
		return p, err
	}
	if p.sleepBase <= 0 {
		return p, fmt.Errorf("yarn.client.failover-sleep-base-ms=%d: want a positive wait in ms", p.sleepBase.Milliseconds())
	}
	attempts := -1
	if v, ok := lookup(h, "yarn.client.failover-max-attempts"); ok && v != "" {
		if attempts, err = strconv.Atoi(v); err != nil || attempts < -1 {
			return p, fmt.Errorf("yarn.client.failover-max-attempts=%q: want a count, or -1 for the default", v)
		}
	}
	switch {
	case o.maxFailovers > 0:
		p.max = o.maxFailovers
	case attempts >= 0:
		p.max = attempts
	case maxWait < 0:
		p.max = unlimited
	case maxWait < interval:
		p.max = 0 // Hadoop: "max-wait.ms is smaller than retry-interval.ms. Only try connect once."
	default:
		p.max = int(maxWait / p.sleepBase)
	}
	return p, nil
}

// haConnectRetries is how often a client of HA ResourceManagers retries a connect
// to one RM before it fails over: yarn.client.failover-retries, default 0, which
// ConfiguredRMFailoverProxyProvider puts in place of ipc.client.connect.max.retries.
// It is in ipc.Config.MaxRetries's terms (negative: none).
func haConnectRetries(h HadoopConfig) (int, error) {
	v, ok := lookup(h, "yarn.client.failover-retries")
	if !ok || v == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("yarn.client.failover-retries=%q: want a count", v)
	}
	if n == 0 {
		return -1, nil
	}
	return n, nil
}

// millisKey reads a key holding milliseconds (Configuration.getLong, as RMProxy
// reads these), or def when it is unset.
func millisKey(h HadoopConfig, key string, def time.Duration) (time.Duration, error) {
	v, ok := lookup(h, key)
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want milliseconds", key, v)
	}
	return time.Duration(n) * time.Millisecond, nil
}

// clientFailover returns the failover policy of a client of the RMs at addrs and
// sets base's connect retries when there are several.
func clientFailover(h HadoopConfig, o options, addrs []string, base *ipc.Config) (failoverPolicy, error) {
	if len(addrs) < 2 {
		return failoverPolicy{}, nil
	}
	p, err := rmFailover(h, o)
	if err != nil {
		return p, fmt.Errorf("resourcemanager failover: %w", err)
	}
	if !o.retriesSet {
		if base.MaxRetries, err = haConnectRetries(h); err != nil {
			return p, fmt.Errorf("resourcemanager failover: %w", err)
		}
	}
	return p, nil
}
