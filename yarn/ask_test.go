package yarn

import (
	"testing"

	"github.com/spindle-engine/spindle/yarn/pb"
	"google.golang.org/protobuf/proto"
)

// TestResourceRequestProto: RelaxLocality false must be sent, not left unset
// (proto2's default for relax_locality is true), and an empty node label is
// left out rather than sent as "".
func TestResourceRequestProto(t *testing.T) {
	small := Resource{MemoryMB: 256, VCores: 1}
	tests := []struct {
		name string
		in   ResourceRequest
		want *pb.ResourceRequestProto
	}{
		{
			name: "anywhere",
			in:   ResourceRequest{Priority: 2, ResourceName: AnyHost, Capability: small, NumContainers: 3, RelaxLocality: true},
			want: &pb.ResourceRequestProto{
				Priority: &pb.PriorityProto{Priority: proto.Int32(2)}, ResourceName: proto.String("*"), Capability: small.proto(),
				NumContainers: proto.Int32(3), RelaxLocality: proto.Bool(true), AllocationRequestId: proto.Int64(0),
			},
		},
		{
			name: "strict rack row with a label",
			in:   ResourceRequest{Priority: 1, ResourceName: DefaultRack, Capability: small, NumContainers: 2, NodeLabel: "gpu", AllocationRequestID: 7},
			want: &pb.ResourceRequestProto{
				Priority: &pb.PriorityProto{Priority: proto.Int32(1)}, ResourceName: proto.String(DefaultRack), Capability: small.proto(),
				NumContainers: proto.Int32(2), RelaxLocality: proto.Bool(false), NodeLabelExpression: proto.String("gpu"),
				AllocationRequestId: proto.Int64(7),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.proto(); !proto.Equal(got, tt.want) {
				t.Fatalf("proto:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}
