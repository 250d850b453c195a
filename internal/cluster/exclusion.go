package cluster

import (
	"context"
	"maps"
	"time"
)

// NodeOf names the node an executor runs on as YARN's scheduler does (the host, or
// host:port when the RM includes ports in node names): the driver's exclusion on
// failure counts by it, and the RM's blacklist matches it. In client mode the AM
// runs elsewhere and the name is unknown: "" (the executor's host is used).
func (cl *Cluster) NodeOf(executorID string) string {
	if cl.inAM == nil {
		return ""
	}
	return cl.inAM.NodeOf(executorID)
}

// excludeNodes hands the nodes the scheduler excluded for the application to the
// AM, which blacklists them at the RM. The client-mode AM is told nothing: the
// link to it carries no exclusions yet, and the driver's scheduler still keeps
// tasks off those nodes' executors.
func (cl *Cluster) excludeNodes(ctx context.Context, sent *map[string]time.Time, nodes map[string]time.Time) {
	if maps.EqualFunc(*sent, nodes, time.Time.Equal) {
		return
	}
	if cl.inAM == nil {
		if len(nodes) > 0 {
			cl.cfg.Log.Warn().Int("nodes", len(nodes)).Msg("nodes excluded on failure are not sent to the ResourceManager in client mode")
		}
		*sent = maps.Clone(nodes)
		return
	}
	if err := cl.inAM.ExcludeNodes(ctx, maps.Clone(nodes)); err != nil {
		if ctx.Err() == nil {
			cl.cfg.Log.Warn().Err(err).Msg("excluded nodes not sent to the ApplicationMaster")
		}
		return
	}
	*sent = maps.Clone(nodes)
}
