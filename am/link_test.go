package am

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/spindle-engine/spindle/am/pb"
	"github.com/spindle-engine/spindle/yarn"
)

// attach dials a DriverLink as a thin AM would.
func attach(t *testing.T, ctx context.Context, l *DriverLink, secret []byte) pb.AMLink_AttachClient {
	t.Helper()
	cc, err := grpc.NewClient(l.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	stream, err := pb.NewAMLinkClient(cc).Attach(ctx)
	if err != nil {
		t.Fatal(err)
	}
	app := "application_1_0001"
	if err := stream.Send(&pb.AMMessage{Msg: &pb.AMMessage_Hello{Hello: &pb.Hello{AppId: app, Proof: linkProof(secret, app)}}}); err != nil {
		t.Fatal(err)
	}
	return stream
}

func listen(t *testing.T, ctx context.Context) *DriverLink {
	t.Helper()
	l, err := ListenDriver(ctx, "127.0.0.1:0", "127.0.0.1", []byte("s3cret"), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLinkCarriesStateAndFinish(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l := listen(t, ctx)
	// State set before the AM attaches reaches it on attach.
	l.SetEndpoint("driver:7078")
	l.SetTarget(3, map[string]int{"n1": 2})
	stream := attach(t, ctx, l, []byte("s3cret"))
	if err := l.Attached(ctx); err != nil {
		t.Fatal(err)
	}
	var endpoint string
	var target *pb.Target
	for endpoint == "" || target == nil {
		m, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.Msg.(type) {
		case *pb.DriverMessage_Endpoint:
			endpoint = m.Endpoint.Addr
		case *pb.DriverMessage_Target:
			target = m.Target
		}
	}
	if endpoint != "driver:7078" || target.Executors != 3 || target.Hints["n1"] != 2 {
		t.Fatalf("AM got endpoint %q, target %v", endpoint, target)
	}
	// An exit the AM reports reaches the driver.
	if err := stream.Send(&pb.AMMessage{Msg: &pb.AMMessage_Exited{Exited: &pb.ExecutorExited{ExecutorId: "2", ContainerId: "c2", Message: "killed for memory"}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-l.Exits():
		if e.ExecutorID != "2" || e.Message != "killed for memory" {
			t.Fatalf("exit %+v", e)
		}
	case <-ctx.Done():
		t.Fatal("no exit reached the driver")
	}
	// Finish: the AM gets the status and acknowledges; Finish returns then.
	done := make(chan error, 1)
	go func() { done <- l.Finish(ctx, yarn.Failed, "job failed: boom") }()
	for {
		m, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if f := m.GetFinish(); f != nil {
			if yarn.FinalStatus(f.FinalStatus) != yarn.Failed || f.Diagnostics != "job failed: boom" {
				t.Fatalf("finish %v", f)
			}
			break
		}
	}
	if err := stream.Send(&pb.AMMessage{Msg: &pb.AMMessage_Finished{Finished: &pb.Finished{}}}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Finish = %v", err)
	}
}

func TestLinkRefusesAndReportsLoss(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l := listen(t, ctx)
	bad := attach(t, ctx, l, []byte("wrong"))
	if _, err := bad.Recv(); err == nil || !strings.Contains(err.Error(), "bad credentials") {
		t.Fatalf("an AM with the wrong secret got %v", err)
	}
	sctx, cut := context.WithCancel(ctx)
	attach(t, sctx, l, []byte("s3cret"))
	if err := l.Attached(ctx); err != nil {
		t.Fatal(err)
	}
	cut() // the AM goes away without finishing
	select {
	case reason := <-l.Failed():
		if !strings.Contains(reason, "disconnected") {
			t.Fatalf("reason %q", reason)
		}
	case <-ctx.Done():
		t.Fatal("the driver did not hear of the AM's loss")
	}
}

func TestLastAttempt(t *testing.T) {
	for _, tt := range []struct {
		attempt, max int
		conf         string
		want         bool
	}{
		{1, 1, "", true},
		{1, 2, "", false},
		{2, 2, "", true},
		{1, 0, "", false}, // YARN's default of 2 attempts
		{1, 0, "1", true}, // yarn.resourcemanager.am.max-attempts
	} {
		h := hadoopMap{}
		if tt.conf != "" {
			h["yarn.resourcemanager.am.max-attempts"] = tt.conf
		}
		m := &Master{cfg: Config{Hadoop: h, MaxAttempts: tt.max, Env: &yarn.AMEnv{Attempt: yarn.AttemptID{Attempt: int32(tt.attempt)}}}}
		if got := m.LastAttempt(); got != tt.want {
			t.Errorf("attempt %d of max %d (conf %q): LastAttempt = %v, want %v", tt.attempt, tt.max, tt.conf, got, tt.want)
		}
	}
}

type hadoopMap map[string]string

func (h hadoopMap) Get(k string) (string, bool) { v, ok := h[k]; return v, ok }
