package yarn

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/ipc"
	ipcpb "github.com/spindle-engine/spindle/ipc/pb"
	"github.com/spindle-engine/spindle/yarn/pb"
	"google.golang.org/protobuf/proto"
)

const (
	classNotRegistered = "org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException"
	classStandby       = "org.apache.hadoop.ipc.StandbyException"
	classInvalidReq    = "org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var testAMRMToken = &ipc.Token{Identifier: []byte("id"), Password: []byte("pw"), Kind: amrmTokenKind}

func TestAMRMAllocateFlow(t *testing.T) {
	node := NodeID{Host: "localhost", Port: 4545}
	cid := ContainerID{Attempt: AttemptID{App: AppID{1, 1}, Attempt: 1}, ID: 2}
	rolled := &ipcpb.TokenProto{Identifier: []byte("id2"), Password: []byte("pw2"), Kind: proto.String(amrmTokenKind), Service: proto.String("")}
	var mu sync.Mutex
	var seenIDs []int32
	var seenAsks int
	srv := newFakeRPC(t, func(method string, body []byte) (proto.Message, string, string) {
		switch method {
		case "registerApplicationMaster":
			return &pb.RegisterApplicationMasterResponseProto{MaximumCapability: Resource{8192, 4}.proto(), Queue: proto.String("default")}, "", ""
		case "allocate":
			var req pb.AllocateRequestProto
			decode(t, body, &req)
			mu.Lock()
			defer mu.Unlock()
			seenIDs = append(seenIDs, req.GetResponseId())
			seenAsks += len(req.GetAsk())
			resp := &pb.AllocateResponseProto{ResponseId: proto.Int32(req.GetResponseId() + 1)}
			if len(seenIDs) == 1 {
				resp.AllocatedContainers = []*pb.ContainerProto{{Id: cid.proto(), NodeId: node.proto(), Resource: Resource{1024, 1}.proto(),
					Priority: &pb.PriorityProto{Priority: proto.Int32(1)}, ContainerToken: tokenProto(&ipc.Token{Kind: "ContainerToken"})}}
				resp.NmTokens = []*pb.NMTokenProto{{NodeId: node.proto(), Token: tokenProto(&ipc.Token{Identifier: []byte("nm"), Kind: "NMToken"})}}
				resp.AmRmToken = rolled
			} else {
				resp.CompletedContainerStatuses = []*pb.ContainerStatusProto{{ContainerId: cid.proto(), State: pb.ContainerStateProto_C_COMPLETE.Enum(), ExitStatus: proto.Int32(3)}}
			}
			return resp, "", ""
		}
		return nil, "java.lang.UnsupportedOperationException", method
	})
	c, err := NewAMRMClient(mapConf{"yarn.resourcemanager.scheduler.address": srv.addr()}, testAMRMToken)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testCtx(t)
	if _, err := c.Allocate(ctx, &AllocateRequest{}); !errors.Is(err, ErrAMNotRegistered) {
		t.Fatalf("allocate before register: %v", err)
	}
	reg, err := c.Register(ctx, "host", -1, "")
	if err != nil {
		t.Fatal(err)
	}
	if reg.MaxCapability != (Resource{8192, 4}) || reg.Queue != "default" {
		t.Fatalf("register response %+v", reg)
	}
	r1, err := c.Allocate(ctx, &AllocateRequest{Asks: []ResourceRequest{{Priority: 1, ResourceName: AnyHost, Capability: Resource{1024, 1}, NumContainers: 1, RelaxLocality: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r1.Allocated) != 1 || r1.Allocated[0].ID != cid || r1.Allocated[0].Node != node || r1.Allocated[0].Token == nil {
		t.Fatalf("allocated %+v", r1.Allocated)
	}
	if tok, ok := c.NMToken(node); !ok || string(tok.Identifier) != "nm" {
		t.Fatalf("NMToken = %+v, %v", tok, ok)
	}
	if got := c.AMRMToken(); string(got.Password) != "pw2" {
		t.Fatalf("AMRM token not rolled: %+v", got)
	}
	r2, err := c.Allocate(ctx, &AllocateRequest{Progress: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.Completed) != 1 || r2.Completed[0].ExitStatus != 3 || r2.Completed[0].State != ContainerComplete {
		t.Fatalf("completed %+v", r2.Completed)
	}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(seenIDs, []int32{0, 1}) || seenAsks != 1 {
		t.Fatalf("response ids %v, asks %d", seenIDs, seenAsks)
	}
	// The rolled token forces a new connection (new SASL handshake).
	if n := srv.connections(); n != 2 {
		t.Fatalf("connections = %d, want 2 (one per AMRM token)", n)
	}
}

func TestAMRMResyncAndShutdown(t *testing.T) {
	var mu sync.Mutex
	allocs := 0
	srv := newFakeRPC(t, func(method string, body []byte) (proto.Message, string, string) {
		mu.Lock()
		defer mu.Unlock()
		switch method {
		case "registerApplicationMaster":
			return &pb.RegisterApplicationMasterResponseProto{}, "", ""
		case "allocate":
			allocs++
			switch allocs {
			case 1:
				return nil, classNotRegistered, "AM not registered (RM restarted)"
			case 2:
				return &pb.AllocateResponseProto{ResponseId: proto.Int32(1)}, "", ""
			case 3:
				return &pb.AllocateResponseProto{AMCommand: pb.AMCommandProto_AM_SHUTDOWN.Enum()}, "", ""
			}
		}
		return nil, "java.lang.UnsupportedOperationException", method
	})
	c, err := NewAMRMClient(mapConf{"yarn.resourcemanager.scheduler.address": srv.addr()}, testAMRMToken)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testCtx(t)
	if _, err := c.Register(ctx, "h", 1, "u"); err != nil {
		t.Fatal(err)
	}
	r, err := c.Allocate(ctx, &AllocateRequest{})
	if err != nil || !r.Resynced {
		t.Fatalf("allocate after RM restart: %+v, %v", r, err)
	}
	want := []string{"registerApplicationMaster", "allocate", "registerApplicationMaster", "allocate"}
	if got := srv.methods(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	if _, err := c.Allocate(ctx, &AllocateRequest{}); !errors.Is(err, ErrShutdown) {
		t.Fatalf("want ErrShutdown, got %v", err)
	}
}

func TestAMRMInvalidRequestAndFinish(t *testing.T) {
	var mu sync.Mutex
	finishes := 0
	srv := newFakeRPC(t, func(method string, body []byte) (proto.Message, string, string) {
		mu.Lock()
		defer mu.Unlock()
		switch method {
		case "registerApplicationMaster":
			return &pb.RegisterApplicationMasterResponseProto{}, "", ""
		case "allocate":
			return nil, classInvalidReq, "Invalid resource request, requested memory > max"
		case "finishApplicationMaster":
			var req pb.FinishApplicationMasterRequestProto
			decode(t, body, &req)
			if req.GetFinalApplicationStatus() != pb.FinalApplicationStatusProto_APP_FAILED || req.GetDiagnostics() != "boom" {
				t.Errorf("finish request %v", &req)
			}
			finishes++
			return &pb.FinishApplicationMasterResponseProto{IsUnregistered: proto.Bool(finishes > 1)}, "", ""
		}
		return nil, "java.lang.UnsupportedOperationException", method
	})
	c, err := NewAMRMClient(mapConf{"yarn.resourcemanager.scheduler.address": srv.addr()}, testAMRMToken)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := testCtx(t)
	if _, err := c.Register(ctx, "h", 1, "u"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Allocate(ctx, &AllocateRequest{Asks: []ResourceRequest{{Priority: 1, ResourceName: AnyHost, Capability: Resource{1 << 20, 1}, NumContainers: 1, RelaxLocality: true}}})
	var re *ipc.RemoteError
	if !errors.Is(err, ErrInvalidResourceRequest) || !errors.As(err, &re) || re.Class != classInvalidReq {
		t.Fatalf("want ErrInvalidResourceRequest from a *ipc.RemoteError, got %v", err)
	}
	if err := c.Finish(ctx, Failed, "boom", ""); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if finishes != 2 {
		t.Fatalf("finish calls = %d, want 2 (until unregistered)", finishes)
	}
}

func TestRMFailover(t *testing.T) {
	newActive := func() *fakeRPC {
		return newFakeRPC(t, func(method string, body []byte) (proto.Message, string, string) {
			return &pb.GetNewApplicationResponseProto{
				ApplicationId:     AppID{ClusterTimestamp: 5, ID: 9}.proto(),
				MaximumCapability: Resource{4096, 2}.proto(),
			}, "", ""
		})
	}
	standby := newFakeRPC(t, func(method string, body []byte) (proto.Message, string, string) {
		return nil, classStandby, "Operation category READ is not supported in state standby"
	})
	tests := []struct {
		name  string
		first string
	}{
		{"standby first", standby.addr()},
		{"unreachable first", deadAddr(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			active := newActive()
			rm, err := NewResourceManager(mapConf{
				"yarn.resourcemanager.ha.enabled": "true", "yarn.resourcemanager.ha.rm-ids": "rm1,rm2",
				"yarn.resourcemanager.address.rm1": tt.first, "yarn.resourcemanager.address.rm2": active.addr(),
				"ipc.client.connect.max.retries": "0",
			}, WithUser("tester"))
			if err != nil {
				t.Fatal(err)
			}
			defer rm.Close()
			id, max, err := rm.NewApplication(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			if id.String() != "application_5_0009" || max != (Resource{4096, 2}) {
				t.Fatalf("got %s %+v", id, max)
			}
			if len(active.methods()) != 1 {
				t.Fatalf("active RM calls %v", active.methods())
			}
		})
	}
}

// staticTokens is an NMTokenSource for tests.
type staticTokens map[NodeID]*ipc.Token

func (s staticTokens) NMToken(n NodeID) (*ipc.Token, bool) { t, ok := s[n]; return t, ok }

func TestNMClient(t *testing.T) {
	cid := ContainerID{Attempt: AttemptID{App: AppID{1, 1}, Attempt: 1}, ID: 3}
	srv := newFakeRPC(t, func(method string, body []byte) (proto.Message, string, string) {
		switch method {
		case "startContainers":
			var req pb.StartContainersRequestProto
			decode(t, body, &req)
			lc := req.GetStartContainerRequest()[0].GetContainerLaunchContext()
			if got := lc.GetCommand(); len(got) != 1 || got[0] != "exit 3" {
				t.Errorf("command %v", got)
			}
			return &pb.StartContainersResponseProto{FailedRequests: []*pb.ContainerExceptionMapProto{{
				ContainerId: cid.proto(),
				Exception:   &pb.SerializedExceptionProto{ClassName: proto.String("org.apache.hadoop.yarn.exceptions.YarnException"), Message: proto.String("Unauthorized request")},
			}}}, "", ""
		case "getContainerStatuses":
			return &pb.GetContainerStatusesResponseProto{Status: []*pb.ContainerStatusProto{{
				ContainerId: cid.proto(), State: pb.ContainerStateProto_C_RUNNING.Enum(),
			}}}, "", ""
		case "stopContainers":
			return &pb.StopContainersResponseProto{SucceededRequests: []*pb.ContainerIdProto{cid.proto()}}, "", ""
		}
		return nil, "java.lang.UnsupportedOperationException", method
	})
	node, err := ParseNodeID(srv.addr())
	if err != nil {
		t.Fatal(err)
	}
	nm := NewNMClient(staticTokens{node: {Identifier: []byte("nm"), Kind: "NMToken"}})
	defer nm.Close()
	ctx := testCtx(t)
	c := Container{ID: cid, Node: node, Token: &ipc.Token{Kind: "ContainerToken"}}
	err = nm.Start(ctx, c, &LaunchContext{Commands: []string{"exit 3"}})
	var ce *ContainerError
	if !errors.As(err, &ce) || ce.Container != cid || ce.Message != "Unauthorized request" {
		t.Fatalf("want ContainerError, got %v", err)
	}
	st, err := nm.Status(ctx, cid, node)
	if err != nil || st.State != ContainerRunning {
		t.Fatalf("status %+v, %v", st, err)
	}
	if err := nm.Stop(ctx, cid, node); err != nil {
		t.Fatal(err)
	}
	if err := nm.Start(ctx, Container{ID: cid, Node: NodeID{"elsewhere", 1}}, &LaunchContext{}); !errors.Is(err, ErrNoNMToken) {
		t.Fatalf("want ErrNoNMToken, got %v", err)
	}
}
