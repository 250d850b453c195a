package cluster

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"

	"github.com/spindle-engine/spindle/am"
	"github.com/spindle-engine/spindle/am/pb"
	"github.com/spindle-engine/spindle/executor"
	"github.com/spindle-engine/spindle/security/handshake"
)

// TestClientModeNamesNodesAndSendsExclusions is the driver's side of client mode
// against a thin AM's end of the real link: the AM's launch records name the
// executors' nodes for NodeOf, and the nodes the scheduler excluded go to the AM
// whole, once per change, including the change that empties the set.
func TestClientModeNamesNodesAndSendsExclusions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	secret := []byte("s3cret")
	cl := &Cluster{cfg: Config{Log: zerolog.Nop()}}
	link, err := am.ListenDriver(ctx, am.LinkConfig{Listen: "127.0.0.1:0", AdvertiseHost: "127.0.0.1", Secret: secret,
		Launched: cl.linkLaunched(func() *executor.Backend { return nil }), Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	cl.link, cl.master = link, countedMaster{link, &cl.alloc}

	app := "application_1_0001"
	cc, err := grpc.NewClient(link.Addr(), grpc.WithTransportCredentials(handshake.NewClientCredentials(app, handshake.PurposeAMLink, secret, false)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	stream, err := pb.NewAMLinkClient(cc).Attach(ctx)
	if err != nil {
		t.Fatal(err)
	}
	send := func(m *pb.AMMessage) {
		t.Helper()
		if err := stream.Send(m); err != nil {
			t.Fatal(err)
		}
	}
	send(&pb.AMMessage{Msg: &pb.AMMessage_Hello{Hello: &pb.Hello{AppId: app}}})
	for _, x := range []*pb.ExecutorLaunched{
		{ExecutorId: "1", ContainerId: "container_1_0001_01_000002", Host: "nm", Node: "nm:45001"},
		{ExecutorId: "2", ContainerId: "container_1_0001_01_000003", Host: "nm", Node: "nm:45002"},
	} {
		send(&pb.AMMessage{Msg: &pb.AMMessage_Launched{Launched: x}})
	}
	for deadline := time.Now().Add(10 * time.Second); cl.NodeOf("2") == ""; {
		if time.Now().After(deadline) {
			t.Fatal("the launch records never named executor 2's node")
		}
		time.Sleep(2 * time.Millisecond) // polling the link's receiver
	}
	for _, tt := range []struct{ exec, want string }{{"1", "nm:45001"}, {"2", "nm:45002"}, {"3", ""}} {
		if got := cl.NodeOf(tt.exec); got != tt.want {
			t.Errorf("NodeOf(%s) = %q, want %q", tt.exec, got, tt.want)
		}
	}
	if got := cl.AllocatorCounts().Launched; got != 2 {
		t.Errorf("%d launches counted, want 2", got)
	}

	recv := func() map[string]time.Time {
		t.Helper()
		for {
			m, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if x := m.GetExcluded(); x != nil {
				out := map[string]time.Time{}
				for n, ms := range x.UntilUnixMilli {
					out[n] = time.UnixMilli(ms)
				}
				return out
			}
		}
	}
	until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	var sent map[string]time.Time
	for i, tt := range []struct {
		name  string
		nodes map[string]time.Time
		want  map[string]time.Time // the AM's next set
	}{
		{"a node excluded", map[string]time.Time{"nm:45002": until}, map[string]time.Time{"nm:45002": until}},
		// Unchanged: nothing is sent, so the AM's next set is the one after it.
		{"the same set again", map[string]time.Time{"nm:45002": until}, nil},
		{"its exclusion over", nil, map[string]time.Time{}},
	} {
		cl.excludeNodes(ctx, &sent, tt.nodes)
		if !maps.EqualFunc(sent, tt.nodes, time.Time.Equal) {
			t.Fatalf("step %d (%s): the driver holds %v as sent, want %v", i, tt.name, sent, tt.nodes)
		}
		if tt.want == nil {
			continue
		}
		if got := recv(); !maps.EqualFunc(got, tt.want, time.Time.Equal) {
			t.Fatalf("step %d (%s): the AM got %v, want %v", i, tt.name, got, tt.want)
		}
	}
}
