package yarn

import (
	"reflect"
	"testing"
)

func TestExpand(t *testing.T) {
	small := Resource{MemoryMB: 256, VCores: 1}
	tests := []struct {
		name string
		asks []ContainerAsk
		want []ResourceRequest
	}{
		{
			name: "anywhere",
			asks: []ContainerAsk{{Priority: 2, Capability: small, Count: 3}},
			want: []ResourceRequest{{Priority: 2, ResourceName: "*", Capability: small, NumContainers: 3, RelaxLocality: true}},
		},
		{
			name: "strict on two nodes",
			asks: []ContainerAsk{
				{Priority: 1, Capability: small, Count: 1, Nodes: []string{"localhost:1"}, Strict: true},
				{Priority: 1, Capability: small, Count: 1, Nodes: []string{"localhost:2"}, Strict: true},
			},
			want: []ResourceRequest{
				{Priority: 1, ResourceName: "localhost:1", Capability: small, NumContainers: 1, RelaxLocality: true},
				{Priority: 1, ResourceName: DefaultRack, Capability: small, NumContainers: 2, RelaxLocality: false},
				{Priority: 1, ResourceName: "*", Capability: small, NumContainers: 2, RelaxLocality: false},
				{Priority: 1, ResourceName: "localhost:2", Capability: small, NumContainers: 1, RelaxLocality: true},
			},
		},
		{
			name: "preferred rack",
			asks: []ContainerAsk{{Priority: 3, Capability: small, Count: 2, Racks: []string{"/r1", "/r1"}}},
			want: []ResourceRequest{
				{Priority: 3, ResourceName: "/r1", Capability: small, NumContainers: 2, RelaxLocality: true},
				{Priority: 3, ResourceName: "*", Capability: small, NumContainers: 2, RelaxLocality: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Expand(tt.asks...); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Expand:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
