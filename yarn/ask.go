package yarn

import (
	"sort"

	"github.com/spindle-engine/spindle/yarn/pb"
	"google.golang.org/protobuf/proto"
)

// AnyHost is the resource name that matches every node.
const AnyHost = "*"

// DefaultRack is the rack of every node when the cluster has no topology
// script (Hadoop's NetworkTopology.DEFAULT_RACK).
const DefaultRack = "/default-rack"

// ResourceRequest is one row of the scheduler's ask table, as sent on the
// wire: the total number of containers still wanted at (Priority,
// ResourceName, Capability). Each allocate replaces the RM's row.
type ResourceRequest struct {
	Priority      int32
	ResourceName  string // host (or host:port), rack, or AnyHost
	Capability    Resource
	NumContainers int32
	RelaxLocality bool
	NodeLabel     string
	// AllocationRequestID tags the containers allocated for this row.
	AllocationRequestID int64
}

func (r ResourceRequest) proto() *pb.ResourceRequestProto {
	p := &pb.ResourceRequestProto{
		Priority:            &pb.PriorityProto{Priority: proto.Int32(r.Priority)},
		ResourceName:        proto.String(r.ResourceName),
		Capability:          r.Capability.proto(),
		NumContainers:       proto.Int32(r.NumContainers),
		RelaxLocality:       proto.Bool(r.RelaxLocality),
		AllocationRequestId: proto.Int64(r.AllocationRequestID),
	}
	if r.NodeLabel != "" {
		p.NodeLabelExpression = proto.String(r.NodeLabel)
	}
	return p
}

// ContainerAsk asks for Count containers of Capability, optionally on given
// nodes or racks. With Strict, only those nodes/racks qualify (YARN's
// relax-locality false); YARN requires that asks at one priority agree on
// strictness, so use distinct priorities.
type ContainerAsk struct {
	Priority   int32
	Capability Resource
	Count      int32
	// Nodes are node names as the scheduler knows them: the host, or
	// host:port when yarn.scheduler.include-port-in-node-name is true.
	Nodes []string
	Racks []string
	// Strict disables falling back to other nodes or racks.
	Strict bool
}

// Expand turns asks into the wire rows YARN's AMRMClient would send: one per
// node, rack and AnyHost, counts summed per (priority, name, capability).
// Node rows relax locality (their rack and AnyHost rows carry the
// strictness); racks of named nodes default to DefaultRack.
func Expand(asks ...ContainerAsk) []ResourceRequest {
	type key struct {
		prio int32
		name string
		cap  Resource
	}
	rows := map[key]*ResourceRequest{}
	var order []key
	add := func(a ContainerAsk, name string, relax bool) {
		k := key{a.Priority, name, a.Capability}
		r, ok := rows[k]
		if !ok {
			r = &ResourceRequest{Priority: a.Priority, ResourceName: name, Capability: a.Capability, RelaxLocality: relax}
			rows[k] = r
			order = append(order, k)
		}
		r.NumContainers += a.Count
		r.RelaxLocality = r.RelaxLocality && relax
	}
	for _, a := range asks {
		for _, n := range dedupe(a.Nodes) {
			add(a, n, true)
		}
		racks := dedupe(a.Racks)
		for _, r := range racks {
			add(a, r, true)
		}
		if len(a.Nodes) > 0 && len(racks) == 0 {
			add(a, DefaultRack, !a.Strict)
		}
		add(a, AnyHost, !a.Strict || (len(a.Nodes) == 0 && len(a.Racks) == 0))
	}
	out := make([]ResourceRequest, 0, len(order))
	for _, k := range order {
		out = append(out, *rows[k])
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Priority < out[j].Priority })
	return out
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
