package am

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spindle-engine/spindle/am/pb"
	"github.com/spindle-engine/spindle/yarn"
)

// NodeNames maps executors to the RM scheduler's names of their nodes. Its
// writer (the AM's launch loop, or the driver's link receiver in client mode) and
// its reader (the driver's scheduler, when an executor registers) are different
// goroutines, so it has a lock of its own rather than going through a loop.
// Entries stay after their executors end: one string pair per executor launched,
// and a late lookup still gets the answer. The zero value is empty and ready.
type NodeNames struct {
	mu     sync.Mutex
	byExec map[string]string
}

// Set records exec's node; an empty node records nothing, so that lookups fall
// back on the executor's host.
func (n *NodeNames) Set(exec, node string) {
	if node == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.byExec == nil {
		n.byExec = map[string]string{}
	}
	n.byExec[exec] = node
}

// Get is exec's node, or "" if none was recorded.
func (n *NodeNames) Get(exec string) string {
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
func (m *Master) NodeOf(executorID string) string { return m.nodes.Get(executorID) }

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

// excludedMessage puts the driver's excluded nodes on the link's wire, to the
// millisecond: nanoseconds since 1970 overflow in 2262, and a timeout set to mean
// "for good" may reach past that. A zero end (which the scheduler never sets)
// stays zero.
func excludedMessage(nodes map[string]time.Time) *pb.ExcludedNodes {
	x := &pb.ExcludedNodes{UntilUnixMilli: make(map[string]int64, len(nodes))}
	for n, until := range nodes {
		var ms int64
		if !until.IsZero() {
			ms = until.UnixMilli()
		}
		x.UntilUnixMilli[n] = ms
	}
	return x
}

// excludedNodes reads the driver's excluded nodes off the link's wire, for
// Master.ExcludeNodes.
func excludedNodes(x *pb.ExcludedNodes) map[string]time.Time {
	nodes := make(map[string]time.Time, len(x.GetUntilUnixMilli()))
	for n, ms := range x.GetUntilUnixMilli() {
		var until time.Time
		if ms != 0 {
			until = time.UnixMilli(ms)
		}
		nodes[n] = until
	}
	return nodes
}
