package allocator

import (
	"cmp"
	"net"
	"strings"

	"github.com/spindle-engine/spindle/yarn"
)

// Node is a NodeManager as the RM reports it: its host and the rack YARN's
// topology script placed it on.
type Node struct {
	Host, Rack string
}

// OnNodes records the racks of nodes, from the RM's node reports at start and
// the updated nodes of allocate responses. Racks are what make rack-local
// matching and the rack rows of asks work: a container names only its host,
// and a hinted host may not have had a container yet. A node reported without
// a rack keeps the rack known before.
func (a *Allocator) OnNodes(nodes []Node) {
	for _, n := range nodes {
		if n.Host != "" && n.Rack != "" {
			a.racks[canonicalHost(n.Host)] = n.Rack
		}
	}
}

// rackOfHost is host's rack, DefaultRack until a node report or a container
// says otherwise (as YARN places nodes when it has no topology).
func (a *Allocator) rackOfHost(host string) string {
	return cmp.Or(a.racks[canonicalHost(host)], yarn.DefaultRack)
}

// canonicalHost names a host the same way whoever reported it, so that hints
// (HDFS's DataNode names), node reports and containers (YARN's NodeManager
// names) agree. It is scheduler.CanonicalHost's rule, copied to keep the
// allocator free of the scheduler: host names are case-insensitive and may
// end in a dot; every loopback address is "localhost".
func canonicalHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return "localhost"
	}
	return h
}
