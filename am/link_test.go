package am

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"

	"github.com/spindle-engine/spindle/am/pb"
	"github.com/spindle-engine/spindle/security/handshake"
	"github.com/spindle-engine/spindle/yarn"
)

// attach dials a DriverLink as a thin AM would.
func attach(t *testing.T, ctx context.Context, l *DriverLink, secret []byte, opts ...grpc.DialOption) pb.AMLink_AttachClient {
	t.Helper()
	app := "application_1_0001"
	opts = append(opts, grpc.WithTransportCredentials(handshake.NewClientCredentials(app, handshake.PurposeAMLink, secret, false)))
	cc, err := grpc.NewClient(l.Addr(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	stream, err := pb.NewAMLinkClient(cc).Attach(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&pb.AMMessage{Msg: &pb.AMMessage_Hello{Hello: &pb.Hello{AppId: app}}}); err != nil {
		t.Fatal(err)
	}
	return stream
}

func listen(t *testing.T, ctx context.Context) *DriverLink {
	t.Helper()
	l, err := ListenDriver(ctx, LinkConfig{Listen: "127.0.0.1:0", AdvertiseHost: "127.0.0.1", Secret: []byte("s3cret"), Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	return l
}

func TestLinkCarriesStateAndFinish(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l := listen(t, ctx)
	// State set before the AM attaches reaches it on attach.
	l.SetEndpoint("driver:7078")
	if err := l.SetTarget(ctx, 3, map[string]int{"n1": 2}); err != nil {
		t.Fatal(err)
	}
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
	if err := stream.Send(&pb.AMMessage{Msg: &pb.AMMessage_Exited{Exited: &pb.ExecutorExited{ExecutorId: "2", ContainerId: "c2", Message: "killed for memory", ExitStatus: -104, Diagnostics: "running beyond"}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-l.Exits():
		if e.ExecutorID != "2" || e.Message != "killed for memory" || e.Status != -104 || e.Diagnostics != "running beyond" {
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
	cc, err := grpc.NewClient(l.Addr(), grpc.WithTransportCredentials(
		handshake.NewClientCredentials("application_1_0001", handshake.PurposeAMLink, []byte("wrong"), false)))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	bad, err := pb.NewAMLinkClient(cc).Attach(ctx)
	if err == nil {
		_, err = bad.Recv()
	}
	if err == nil || !strings.Contains(err.Error(), "bad credentials") {
		t.Fatalf("an AM with the wrong secret got %v", err)
	}
	sctx, cut := context.WithCancel(ctx)
	attach(t, sctx, l, []byte("s3cret"))
	if err := l.Attached(ctx); err != nil {
		t.Fatal(err)
	}
	cut() // the AM goes away without finishing
	select {
	case err := <-l.Failed():
		if !errors.Is(err, ErrDisconnected) || !strings.Contains(err.Error(), "ApplicationMaster disconnected: ") {
			t.Fatalf("failure %v", err)
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

// TestLinkKeepsEveryMessageWhileTheAMDoesNotRead has the driver send thousands of
// targets and registrations and then Finish while the AM reads nothing, so that
// the stream backs up. No call blocks; once the AM reads, every registration
// arrives in order, and the Finish, but only a few targets, the newest last.
func TestLinkKeepsEveryMessageWhileTheAMDoesNotRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l := listen(t, ctx)
	// A fixed 64 KiB window (it also turns off gRPC's window growth) makes the
	// driver's sends back up after a few targets, as on a slow link.
	stream := attach(t, ctx, l, []byte("s3cret"), grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	if err := l.Attached(ctx); err != nil {
		t.Fatal(err)
	}
	hints := map[string]int{}
	for i := range 200 {
		hints[fmt.Sprintf("datanode-%03d.rack-%d.example.com", i, i%8)] = i + 1
	}
	const n = 2000
	for i := 1; i <= n; i++ {
		if err := l.SetTarget(ctx, i, hints); err != nil {
			t.Fatal(err)
		}
		if err := l.ExecutorRegistered(ctx, strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	finished := make(chan error, 1)
	go func() { finished <- l.Finish(ctx, yarn.Succeeded, "all done") }()
	eventually(t, "Finish queued", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.finish != nil
	})

	var regs []string
	var targets []*pb.Target
	var finish *pb.Finish
	for finish == nil {
		m, err := stream.Recv()
		if err != nil {
			t.Fatalf("after %d registrations and %d targets: %v", len(regs), len(targets), err)
		}
		switch m := m.Msg.(type) {
		case *pb.DriverMessage_Target:
			targets = append(targets, m.Target)
		case *pb.DriverMessage_Registered:
			regs = append(regs, m.Registered.ExecutorId)
		case *pb.DriverMessage_Finish:
			finish = m.Finish
		}
	}
	if len(regs) != n {
		t.Fatalf("%d registrations reached the AM, want %d", len(regs), n)
	}
	for i, id := range regs {
		if id != strconv.Itoa(i+1) {
			t.Fatalf("registration %d is executor %s: out of order", i+1, id)
		}
	}
	// The window holds some 20 targets; all 2000 would pass only if the sender
	// never fell behind, and then the test would prove nothing.
	if len(targets) == 0 || len(targets) > n/20 {
		t.Fatalf("%d targets reached the AM, want a few of the %d", len(targets), n)
	}
	if last := targets[len(targets)-1]; last.Executors != n || len(last.Hints) != len(hints) {
		t.Fatalf("the last target is %d executors with %d hints, want the newest: %d with %d", last.Executors, len(last.Hints), n, len(hints))
	}
	if yarn.FinalStatus(finish.FinalStatus) != yarn.Succeeded || finish.Diagnostics != "all done" {
		t.Fatalf("finish %v", finish)
	}
	if err := stream.Send(&pb.AMMessage{Msg: &pb.AMMessage_Finished{Finished: &pb.Finished{}}}); err != nil {
		t.Fatal(err)
	}
	if err := <-finished; err != nil {
		t.Fatalf("Finish = %v", err)
	}
	// Finish closed the link: nothing more is taken.
	if err := l.SetTarget(ctx, 1, nil); !errors.Is(err, ErrStopped) {
		t.Fatalf("SetTarget after Finish = %v, want ErrStopped", err)
	}
	if err := l.ExecutorRegistered(ctx, "1"); !errors.Is(err, ErrStopped) {
		t.Fatalf("ExecutorRegistered after Finish = %v, want ErrStopped", err)
	}
}

// TestLinkCarriesFailureKinds checks that the driver gets the AM's errors with
// their kind and text, on Failed, from Attached, and from Finish.
func TestLinkCarriesFailureKinds(t *testing.T) {
	const reason = "5 executor failures (spindle.executor.maxNumFailures=4); last: executor 5 exited with code 1: boom"
	for _, tt := range []struct {
		name   string
		finish bool // the AM reports the error acknowledging Finish, else on its own
		kind   pb.FailureKind
		want   error // nil: no sentinel
	}{
		{"executor failures", false, pb.FailureKind_FAILURE_KIND_EXECUTOR_FAILURES, ErrExecutorFailures},
		{"shutdown", false, pb.FailureKind_FAILURE_KIND_SHUTDOWN, ErrShutdown},
		{"allocate", false, pb.FailureKind_FAILURE_KIND_ALLOCATE, ErrAllocate},
		{"an AM that predates kinds", false, pb.FailureKind_FAILURE_KIND_UNSPECIFIED, nil},
		{"unregister", true, pb.FailureKind_FAILURE_KIND_UNREGISTER, ErrUnregister},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			l := listen(t, ctx)
			stream := attach(t, ctx, l, []byte("s3cret"))
			if err := l.Attached(ctx); err != nil {
				t.Fatal(err)
			}
			var got error
			if tt.finish {
				done := make(chan error, 1)
				go func() { done <- l.Finish(ctx, yarn.Succeeded, "") }()
				for {
					m, err := stream.Recv()
					if err != nil {
						t.Fatal(err)
					}
					if m.GetFinish() != nil {
						break
					}
				}
				if err := stream.Send(&pb.AMMessage{Msg: &pb.AMMessage_Finished{Finished: &pb.Finished{Error: reason, Kind: tt.kind}}}); err != nil {
					t.Fatal(err)
				}
				got = <-done
			} else {
				if err := stream.Send(&pb.AMMessage{Msg: &pb.AMMessage_Failed{Failed: &pb.Failed{Reason: reason, Kind: tt.kind}}}); err != nil {
					t.Fatal(err)
				}
				select {
				case got = <-l.Failed():
				case <-ctx.Done():
					t.Fatal("no failure reached the driver")
				}
				if err := l.Attached(ctx); err != got {
					t.Errorf("Attached after the failure = %v, want %v", err, got)
				}
			}
			var e *Error
			if !errors.As(got, &e) || e.Kind != tt.want || got.Error() != reason {
				t.Fatalf("got %#v, want an *Error of kind %v saying %q", got, tt.want, reason)
			}
			if tt.want != nil && !errors.Is(got, tt.want) {
				t.Fatalf("errors.Is(%v, %v) = false", got, tt.want)
			}
		})
	}
}

// TestLinkCloseReleasesABlockedReceiver fills Exits, which nobody reads, so that
// the stream's receiver blocks handing over the next exit; Close still returns,
// having waited for it.
func TestLinkCloseReleasesABlockedReceiver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l := listen(t, ctx)
	stream := attach(t, ctx, l, []byte("s3cret"))
	if err := l.Attached(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range cap(l.exits) + 1 {
		if err := stream.Send(&pb.AMMessage{Msg: &pb.AMMessage_Exited{Exited: &pb.ExecutorExited{ExecutorId: strconv.Itoa(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "Exits full", func() bool { return len(l.exits) == cap(l.exits) })
	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("Close did not return: the receiver is stuck on Exits")
	}
	if err := l.Attached(ctx); !errors.Is(err, ErrStopped) {
		t.Fatalf("Attached after Close = %v, want ErrStopped", err)
	}
	select {
	case err := <-l.Failed():
		t.Fatalf("Close reported a failure: %v", err)
	default:
	}
}
