package yarn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spindle-engine/spindle/ipc"
	"google.golang.org/protobuf/proto"
)

// failoverPolicy is how a client of several RMs (HA) moves between them: Hadoop's
// RMProxy.createRetryPolicy with HA, RetryPolicies.failoverOnNetworkException.
// The first failover is immediate; the n-th after it waits sleepBase·2^n, capped
// at sleepMax, times a random 0.5 to 1.5. After max failovers the call fails.
type failoverPolicy struct {
	max                 int
	sleepBase, sleepMax time.Duration
}

// sleep is the wait before failover number n (0 for the first).
func (p failoverPolicy) sleep(n int) time.Duration {
	if n == 0 || p.sleepBase <= 0 {
		return 0
	}
	d := p.sleepMax
	if n < 62 && p.sleepBase <= p.sleepMax>>n {
		d = p.sleepBase << n
	}
	return time.Duration(float64(d) * (0.5 + rand.Float64()))
}

// failoverClient calls one protocol on a list of ResourceManager addresses
// (one without HA), moving to the next address when the current one is a
// standby, cannot be reached or dropped the connection during the call, like
// Hadoop's ConfiguredRMFailoverProxyProvider.
type failoverClient struct {
	mu      sync.Mutex
	base    ipc.Config // Addr is set per address
	addrs   []string
	cur     int
	clients map[int]*ipc.Client
	policy  failoverPolicy
}

func newFailoverClient(base ipc.Config, addrs []string, policy failoverPolicy) *failoverClient {
	return &failoverClient{base: base, addrs: addrs, clients: map[int]*ipc.Client{}, policy: policy}
}

// client returns the client for the current address, creating it on demand.
func (f *failoverClient) client() (*ipc.Client, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.cur
	if c, ok := f.clients[i]; ok {
		return c, i, nil
	}
	cfg := f.config(i)
	c, err := ipc.NewClient(cfg)
	if err != nil {
		return nil, i, fmt.Errorf("client for %s: %w", cfg.Addr, err)
	}
	f.clients[i] = c
	return c, i, nil
}

// config is the ipc configuration for address i. Each RM has its own principal:
// ipc substitutes _HOST with the host it dials, as Hadoop's
// SecurityUtil.getServerPrincipal does.
func (f *failoverClient) config(i int) ipc.Config {
	cfg := f.base
	cfg.Addr = f.addrs[i]
	return cfg
}

// failover moves past address i unless another caller already did.
func (f *failoverClient) failover(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur == i {
		f.cur = (i + 1) % len(f.addrs)
	}
}

// shouldFailover reports errors after which another RM may succeed: a standby's
// answer, no connection, or a connection lost during the call. Hadoop fails over
// on the last only for idempotent and at-most-once methods; every method of
// ApplicationClientProtocol and ApplicationMasterProtocol this package calls is
// one (allocate and finishApplicationMaster are @AtMostOnce: a repeated
// allocate with the same response id gets the RM's last response again).
func shouldFailover(err error) bool {
	var ce *ipc.ConnectError
	return errors.Is(err, ipc.ErrStandby) || errors.As(err, &ce) || connectionLost(err)
}

// connectionLost reports a connection that broke under a call: the RM that was
// active went standby or down, closing its sockets. A *ipc.RemoteError is the
// server's answer, never this.
func connectionLost(err error) bool {
	var re *ipc.RemoteError
	if errors.As(err, &re) {
		return false
	}
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.As(err, &ne)
}

// call is YARN's RPC boundary towards the RM: the error carries the sentinel
// of the YARN exception, if any (see classes).
func (f *failoverClient) call(ctx context.Context, method string, req, resp proto.Message) error {
	return mapRemote(f.callFailingOver(ctx, method, req, resp))
}

func (f *failoverClient) callFailingOver(ctx context.Context, method string, req, resp proto.Message) error {
	// tried holds the last error of each address, so that giving up names every RM
	// the call reached for and why each failed, not only the last one.
	tried := map[int]error{}
	for failovers := 0; ; failovers++ {
		c, i, err := f.client()
		if err != nil {
			return err
		}
		err = c.Call(ctx, method, req, resp)
		if err == nil || ctx.Err() != nil || !shouldFailover(err) || len(f.addrs) == 1 {
			return err
		}
		tried[i] = err
		if failovers >= f.policy.max {
			return f.giveUp(tried, fmt.Sprintf("after %d failovers", failovers))
		}
		f.failover(i)
		d := f.policy.sleep(failovers)
		if d <= 0 {
			continue
		}
		// Waiting past the caller's deadline cannot succeed: say so now, with
		// what every RM answered, instead of when the deadline strikes.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return fmt.Errorf("%w: %w", context.DeadlineExceeded,
				f.giveUp(tried, fmt.Sprintf("before the deadline (next failover in %v)", d.Round(time.Millisecond))))
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", ctx.Err(), f.giveUp(tried, "while failing over"))
		case <-t.C:
		}
	}
}

// giveUp is the error of a call no RM answered: each address tried with its
// last error, in failover order, all wrapped (errors.As finds an
// *ipc.ConnectError or ipc.ErrStandby among them).
func (f *failoverClient) giveUp(tried map[int]error, when string) error {
	errs := make([]error, 0, len(tried))
	for i, addr := range f.addrs {
		if err, ok := tried[i]; ok {
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
		}
	}
	return fmt.Errorf("no active resourcemanager among %s %s: %w", strings.Join(f.addrs, ", "), when, rmErrors(errs))
}

// rmErrors is the errors of several RMs on one line (errors.Join's are on several).
type rmErrors []error

func (e rmErrors) Error() string {
	s := make([]string, len(e))
	for i, err := range e {
		s[i] = err.Error()
	}
	return strings.Join(s, "; ")
}

func (e rmErrors) Unwrap() []error { return e }

// setToken makes later calls authenticate with t; existing connections are
// dropped so the next call does SASL with the new token.
func (f *failoverClient) setToken(t *ipc.Token) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.base.Token = t
	for i, c := range f.clients {
		c.Close()
		delete(f.clients, i)
	}
}

func (f *failoverClient) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for i, c := range f.clients {
		errs = append(errs, c.Close())
		delete(f.clients, i)
	}
	return errors.Join(errs...)
}

// unlimited is the failover count of yarn.resourcemanager.connect.max-wait.ms=-1.
const unlimited = math.MaxInt
