package cluster

import (
	"context"
	"maps"
	"time"

	"github.com/spindle-engine/spindle/am"
	"github.com/spindle-engine/spindle/executor"
)

// NodeOf names the node an executor runs on as YARN's scheduler does (the host, or
// host:port when the RM includes ports in node names): the driver's exclusion on
// failure counts by it, and the RM's blacklist matches it. The AM names it, in
// this process (cluster mode) or in the launch record it sends over the link
// (client mode); "" for an executor the AM did not launch (the executor's host is
// used then).
func (cl *Cluster) NodeOf(executorID string) string {
	if cl.inAM != nil {
		return cl.inAM.NodeOf(executorID)
	}
	return cl.nodes.Get(executorID)
}

// excludeNodes hands the nodes the scheduler excluded for the application to the
// AM, in this process or over the link, which blacklists them at the RM. The set
// goes whole, so the AM works out additions and removals itself; it is sent
// again only when it changed.
func (cl *Cluster) excludeNodes(ctx context.Context, sent *map[string]time.Time, nodes map[string]time.Time) {
	if maps.EqualFunc(*sent, nodes, time.Time.Equal) {
		return
	}
	if err := cl.master.ExcludeNodes(ctx, maps.Clone(nodes)); err != nil {
		if ctx.Err() == nil {
			cl.cfg.Log.Warn().Err(err).Msg("excluded nodes not sent to the ApplicationMaster")
		}
		return
	}
	*sent = maps.Clone(nodes)
}

// linkLaunched is the client-mode link's hook for the AM's launch records: it
// counts the launch, learns the executor's node and admits the executor at the
// backend that backend returns (nil before it exists: records only come once the
// AM knows the backend's endpoint, so none is lost).
func (cl *Cluster) linkLaunched(backend func() *executor.Backend) func(am.Launched) {
	return func(l am.Launched) {
		cl.alloc.update(func(c *AllocatorCounts) { c.Launched++ })
		// Before the executor is admitted, so before it registers and the
		// scheduler asks NodeOf.
		cl.nodes.Set(l.ExecutorID, l.Node)
		if b := backend(); b != nil {
			expect(b, l)
		}
	}
}
