package yarn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spindle-engine/spindle/ipc"
	"google.golang.org/protobuf/proto"
)

// failoverClient calls one protocol on a list of ResourceManager addresses
// (one without HA), moving to the next address when the current one is a
// standby or cannot be reached, like Hadoop's ConfiguredRMFailoverProxyProvider.
type failoverClient struct {
	mu           sync.Mutex
	base         ipc.Config // Addr is set per address
	addrs        []string
	cur          int
	clients      map[int]*ipc.Client
	maxFailovers int
}

func newFailoverClient(base ipc.Config, addrs []string, maxFailovers int) *failoverClient {
	if maxFailovers <= 0 {
		maxFailovers = 2 * (len(addrs) - 1)
	}
	return &failoverClient{base: base, addrs: addrs, clients: map[int]*ipc.Client{}, maxFailovers: maxFailovers}
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

// shouldFailover reports errors after which another RM may succeed.
func shouldFailover(err error) bool {
	var ce *ipc.ConnectError
	return errors.Is(err, ipc.ErrStandby) || errors.As(err, &ce)
}

// call is YARN's RPC boundary towards the RM: the error carries the sentinel
// of the YARN exception, if any (see classes).
func (f *failoverClient) call(ctx context.Context, method string, req, resp proto.Message) error {
	return mapRemote(f.callFailingOver(ctx, method, req, resp))
}

func (f *failoverClient) callFailingOver(ctx context.Context, method string, req, resp proto.Message) error {
	for attempt := 0; ; attempt++ {
		c, i, err := f.client()
		if err != nil {
			return err
		}
		err = c.Call(ctx, method, req, resp)
		if err == nil || !shouldFailover(err) || ctx.Err() != nil {
			return err
		}
		if attempt >= f.maxFailovers {
			if len(f.addrs) == 1 {
				return err
			}
			return fmt.Errorf("no active resourcemanager among %s after %d attempts: %w",
				strings.Join(f.addrs, ", "), attempt+1, err)
		}
		f.failover(i)
		// Once round the ring without luck, back off before the next round
		// (an RM may be in the middle of becoming active).
		if (attempt+1)%len(f.addrs) == 0 {
			t := time.NewTimer(time.Duration(attempt+1) * 200 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
	}
}

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
