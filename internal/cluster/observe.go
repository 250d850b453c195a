package cluster

import (
	"context"
	"strings"
	"sync"

	"github.com/spindle-engine/spindle/am"
	"github.com/spindle-engine/spindle/conf"
)

// AllocatorCounts are the containers the driver asked the ApplicationMaster for
// and heard of, for /metrics. They are counted on the driver's side of the AM (in
// its process or over the client link), so both modes count the same way.
type AllocatorCounts struct {
	// Target is the executors the driver asks for now.
	Target int
	// Launched counts executors whose containers the AM started; Released those
	// the driver gave back (dynamic allocation's idle ones).
	Launched, Released int64
	// Exited counts containers that ended, by kind (allocator.ExitKind's name);
	// Failed those of them that count as the application's failures.
	Exited map[string]int64
	Failed int64
}

type allocCounts struct {
	mu sync.Mutex
	c  AllocatorCounts
}

func (a *allocCounts) update(f func(*AllocatorCounts)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.c.Exited == nil {
		a.c.Exited = map[string]int64{}
	}
	f(&a.c)
}

func (a *allocCounts) exited(e am.ExecutorExit) {
	a.update(func(c *AllocatorCounts) {
		c.Exited[e.Kind.String()]++
		if e.CountsAsFailure {
			c.Failed++
		}
	})
}

// AllocatorCounts reports the containers asked for and heard of so far.
func (cl *Cluster) AllocatorCounts() AllocatorCounts {
	cl.alloc.mu.Lock()
	defer cl.alloc.mu.Unlock()
	c := cl.alloc.c
	exited := make(map[string]int64, len(c.Exited))
	for k, v := range c.Exited {
		exited[k] = v
	}
	c.Exited = exited
	return c
}

// countedMaster counts the targets and releases the driver sends the AM.
type countedMaster struct {
	appMaster
	counts *allocCounts
}

func (m countedMaster) SetTarget(ctx context.Context, n int, hints map[string]int) error {
	err := m.appMaster.SetTarget(ctx, n, hints)
	if err == nil {
		m.counts.update(func(c *AllocatorCounts) { c.Target = n })
	}
	return err
}

func (m countedMaster) KillExecutors(ctx context.Context, ids []string) error {
	err := m.appMaster.KillExecutors(ctx, ids)
	if err == nil {
		m.counts.update(func(c *AllocatorCounts) { c.Released += int64(len(ids)) })
	}
	return err
}

// HistoryURL is an application attempt's page on the history server
// (spindle.yarn.historyServer.address), the tracking URL an ended application
// leaves on the ResourceManager; "" when no history server is configured.
func HistoryURL(c *conf.Conf, appID, attempt string) string {
	addr := c.Get("spindle.yarn.historyServer.address")
	if addr == "" {
		return ""
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u := strings.TrimSuffix(addr, "/") + "/history/" + appID + "/"
	if attempt != "" {
		u += attempt + "/"
	}
	return u
}
