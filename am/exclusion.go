package am

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spindle-engine/spindle/yarn"
)

// nodeNames maps executors to the RM scheduler's names of their nodes. The driver's
// scheduler reads it from its own goroutine when an executor registers, so it has
// a lock of its own rather than going through the loop.
type nodeNames struct {
	mu     sync.Mutex
	byExec map[string]string
}

func (n *nodeNames) set(exec, node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.byExec == nil {
		n.byExec = map[string]string{}
	}
	n.byExec[exec] = node
}

func (n *nodeNames) get(exec string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.byExec[exec]
}

// schedulerNodeName is the name the RM's scheduler gives node, which its blacklist
// matches: SchedulerNode.getNodeName, the host, with the NodeManager's port when
// yarn.scheduler.include-port-in-node-name is true (several NodeManagers on one
// host, as in a MiniYARNCluster).
func schedulerNodeName(h yarn.HadoopConfig, node yarn.NodeID) string {
	if h != nil {
		if v, ok := h.Get("yarn.scheduler.include-port-in-node-name"); ok {
			if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil && b {
				return node.String()
			}
		}
	}
	return node.Host
}

// NodeOf names the node executorID runs on as the RM's scheduler does, "" for an
// executor this AM did not launch. It never blocks on the loop: the driver calls
// it when the executor registers.
func (m *Master) NodeOf(executorID string) string { return m.nodes.get(executorID) }

// ExcludeNodes replaces the nodes the driver's scheduler excluded on failure (node,
// as NodeOf names it, → end of exclusion): the next allocate call blacklists the new
// ones at the RM and takes the others off, and containers granted on them before
// that are released.
func (m *Master) ExcludeNodes(ctx context.Context, nodes map[string]time.Time) error {
	return m.do(ctx, func() {
		m.alloc.SetExcludedNodes(nodes)
		m.log.Info().Strs("nodes", m.alloc.ExcludedNodes()).Msg("nodes excluded on failure, to be blacklisted at the ResourceManager")
	})
}
