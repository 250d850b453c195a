package yarn

import (
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
//
// An ask pinned to nodes is a row per node plus one per rack and one for
// AnyHost, each counting every container of the ask, as Hadoop's AMRMClient
// sends them. Strict locality keeps RelaxLocality true on the node rows and
// sets it false on the rack and AnyHost rows; asks at one priority must agree
// on strictness.
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
