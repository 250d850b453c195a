package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"

	"github.com/spindle-engine/spindle/executor/pb"
	"github.com/spindle-engine/spindle/scheduler"
	"github.com/spindle-engine/spindle/security/handshake"
)

var secret = []byte("test-secret")

// fakeRunner fakes map outputs and results from the task alone and records which
// executor ran what.
type fakeRunner struct {
	id  string
	mu  *sync.Mutex
	ran map[string]int
	// block, when set, makes tasks of that partition wait for their context.
	block int
}

func (f *fakeRunner) RunTask(ctx context.Context, t *scheduler.Task) (*scheduler.TaskResult, error) {
	f.mu.Lock()
	f.ran[f.id]++
	f.mu.Unlock()
	if t.Partition == f.block {
		<-ctx.Done()
		f.mu.Lock()
		f.ran["cancelled"]++
		f.mu.Unlock()
		return nil, ctx.Err()
	}
	if t.ShuffleID >= 0 {
		return &scheduler.TaskResult{Sizes: []int64{int64(t.Partition + 1), 1}}, nil
	}
	var total int64
	for _, in := range t.Inputs {
		for _, m := range in.Maps {
			total += m.Sizes[t.Partition%2]
		}
	}
	return &scheduler.TaskResult{Data: []byte(fmt.Sprintf("%d:%d", t.Partition, total))}, nil
}

// startBackend starts a Backend under a Driver.
func startBackend(t *testing.T) (*Backend, *scheduler.Driver) {
	t.Helper()
	b, err := NewBackend(BackendConfig{AppID: "app-1", Secret: secret, Listen: "127.0.0.1:0", AdvertiseHost: "127.0.0.1", Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	d := scheduler.NewDriver(b, scheduler.Options{MaxFailures: 2}, nil)
	t.Cleanup(func() { d.Close() })
	return b, d
}

// startExecutor has the backend expect executor id, as the AM's launch does, and
// runs it in a goroutine; its Run result arrives on the channel.
func startExecutor(t *testing.T, b *Backend, id string, s []byte, r scheduler.Runner) (context.CancelFunc, <-chan error) {
	t.Helper()
	return runExecutor(t, executorConfig(b, id, s, launch(t, b, id)), r)
}

// launch records a launch of executor id in container "c<id>", as the AM does.
func launch(t *testing.T, b *Backend, id string) []byte {
	t.Helper()
	cred, err := NewCredential()
	if err != nil {
		t.Fatal(err)
	}
	b.Expect(Launch{ExecutorID: id, ContainerID: "c" + id, Host: "h" + id, Credential: cred})
	return cred
}

func executorConfig(b *Backend, id string, s, cred []byte) Config {
	return Config{DriverAddr: b.Addr(), AppID: "app-1", ExecutorID: id, ContainerID: "c" + id, Credential: cred, Host: "h" + id,
		ShuffleAddr: "h" + id + ":7337", Secret: s, Cores: 2, HeartbeatInterval: 50 * time.Millisecond, Log: zerolog.Nop()}
}

func runExecutor(t *testing.T, cfg Config, r scheduler.Runner) (context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, r) }()
	t.Cleanup(cancel)
	return cancel, done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling the backend
	}
}

func twoStageJob() *scheduler.JobSpec {
	return &scheduler.JobSpec{Name: "two-stage", Stages: []scheduler.StageSpec{
		{ID: 1, Name: "map", NumTasks: 6, ShuffleID: 1},
		{ID: 2, Name: "reduce", NumTasks: 2, ShuffleID: -1, Parents: []int{1}},
	}}
}

func TestJobAcrossExecutors(t *testing.T) {
	b, d := startBackend(t)
	var mu sync.Mutex
	ran := map[string]int{}
	for _, id := range []string{"1", "2"} {
		startExecutor(t, b, id, secret, &fakeRunner{id: id, mu: &mu, ran: ran, block: -1})
	}
	waitFor(t, "two executors", func() bool { return b.NumExecutors() == 2 })
	results := map[int]string{}
	err := d.RunJob(context.Background(), twoStageJob(), func(p int, data []byte) error {
		results[p] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Map partition p wrote p+1 bytes to reduce 0 and 1 byte to reduce 1.
	if want := map[int]string{0: "0:21", 1: "1:6"}; fmt.Sprint(results) != fmt.Sprint(want) {
		t.Fatalf("results %v, want %v", results, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if ran["1"] == 0 || ran["2"] == 0 {
		t.Fatalf("tasks per executor %v, want both used", ran)
	}
}

func TestFailureRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name  string
		err   error
		check func(t *testing.T, got error)
	}{
		{"fetch failure", &scheduler.FetchFailedError{ShuffleID: 3, MapPartition: 7, Executor: "9", Host: "nm1", Err: errors.New("connection refused")},
			func(t *testing.T, got error) {
				var ff *scheduler.FetchFailedError
				if !errors.As(got, &ff) || ff.ShuffleID != 3 || ff.MapPartition != 7 || ff.Executor != "9" || ff.Host != "nm1" || !strings.Contains(got.Error(), "on nm1: connection refused") {
					t.Fatalf("got %v", got)
				}
			}},
		{"not retriable", fmt.Errorf("in.csv:3: bad row: %w", scheduler.ErrNotRetriable),
			func(t *testing.T, got error) {
				if !errors.Is(got, scheduler.ErrNotRetriable) || !strings.Contains(got.Error(), "in.csv:3") {
					t.Fatalf("got %v", got)
				}
			}},
		{"commit denied", fmt.Errorf("partition 3 attempt 1: %w", scheduler.ErrCommitDenied),
			func(t *testing.T, got error) {
				if !errors.Is(got, scheduler.ErrCommitDenied) || errors.Is(got, scheduler.ErrNotRetriable) || !strings.Contains(got.Error(), "partition 3") {
					t.Fatalf("got %v", got)
				}
			}},
		{"panic", &scheduler.PanicError{Value: "boom", Stack: "main.go:12"},
			func(t *testing.T, got error) {
				var pe *scheduler.PanicError
				if errors.Is(got, scheduler.ErrNotRetriable) || got.Error() != "panic: boom\nmain.go:12" || !errors.As(got, &pe) || pe.Value != "boom" {
					t.Fatalf("got %q (%T), want the *scheduler.PanicError itself", got, got)
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, failureFromProto(failureToProto(tt.err))) })
	}
}

func TestTaskRoundTrip(t *testing.T) {
	in := &scheduler.Task{ID: 9, JobID: 1, StageID: 2, StageAttempt: 1, Partition: 3, Attempt: 2, ShuffleID: -1, NumTasks: 4,
		Inputs:    []scheduler.ShuffleInput{{ShuffleID: 5, Maps: []scheduler.MapStatus{{Executor: "1", Host: "h", Addr: "h:1", Sizes: []int64{1, 2}}}}},
		Preferred: []string{"h"}, Payload: []byte("plan"), Locality: scheduler.NodeLocal}
	enc, dec := newTaskEncoder(), newTaskDecoder()
	got, err := dec.decode(enc.encode(in))
	if err != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", in) {
		t.Fatalf("round trip (%v)\n%+v\nwant\n%+v", err, got, in)
	}
	res := &scheduler.TaskResult{Sizes: []int64{4}, Data: []byte("x"), Metrics: scheduler.TaskMetrics{Duration: time.Second, RecordsRead: 3, SpillBytes: 7}}
	if got := resultFromProto(resultToProto(res)); fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", res) {
		t.Fatalf("result round trip\n%+v\nwant\n%+v", got, res)
	}
}

func TestWrongSecretIsRefused(t *testing.T) {
	b, _ := startBackend(t)
	var mu sync.Mutex
	_, done := startExecutor(t, b, "1", []byte("wrong"), &fakeRunner{id: "1", mu: &mu, ran: map[string]int{}, block: -1})
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "bad credentials") {
			t.Fatalf("Run = %v, want refused for bad credentials", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an executor with the wrong secret was not refused")
	}
	if n := b.NumExecutors(); n != 0 {
		t.Fatalf("%d executors registered", n)
	}
}

// TestLostExecutorsTaskRunsElsewhere cuts an executor holding a running task: the
// driver hears of the loss once and runs the task on the other executor.
func TestLostExecutorsTaskRunsElsewhere(t *testing.T) {
	b, d := startBackend(t)
	var mu sync.Mutex
	ran := map[string]int{}
	// Executor 1 hangs on every task; executor 2 registers once 1 holds the task.
	stop1, done1 := startExecutor(t, b, "1", secret, &fakeRunner{id: "1", mu: &mu, ran: ran, block: 0})
	waitFor(t, "executor 1", func() bool { return b.NumExecutors() == 1 })
	job := &scheduler.JobSpec{Name: "one", Stages: []scheduler.StageSpec{{ID: 1, Name: "r", NumTasks: 1, ShuffleID: -1}}}
	errc := make(chan error, 1)
	go func() { errc <- d.RunJob(context.Background(), job, func(int, []byte) error { return nil }) }()
	waitFor(t, "the task on executor 1", func() bool { mu.Lock(); defer mu.Unlock(); return ran["1"] > 0 })
	startExecutor(t, b, "2", secret, &fakeRunner{id: "2", mu: &mu, ran: ran, block: -1})
	waitFor(t, "executor 2", func() bool { return b.NumExecutors() == 2 })
	stop1()
	if err := <-errc; err != nil {
		t.Fatalf("job: %v", err)
	}
	if err := <-done1; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run of the cut executor = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ran["2"] != 1 {
		t.Fatalf("executor 2 ran %d tasks, want the lost one", ran["2"])
	}
}

func TestShutdownAndDriverGone(t *testing.T) {
	t.Run("shutdown", func(t *testing.T) {
		b, d := startBackend(t)
		var mu sync.Mutex
		_, done := startExecutor(t, b, "1", secret, &fakeRunner{id: "1", mu: &mu, ran: map[string]int{}, block: -1})
		waitFor(t, "executor", func() bool { return b.NumExecutors() == 1 })
		d.Close()
		if err := <-done; err != nil {
			t.Fatalf("Run after the driver's shutdown = %v, want nil", err)
		}
	})
	t.Run("driver gone", func(t *testing.T) {
		b, _ := startBackend(t)
		var mu sync.Mutex
		_, done := startExecutor(t, b, "1", secret, &fakeRunner{id: "1", mu: &mu, ran: map[string]int{}, block: -1})
		waitFor(t, "executor", func() bool { return b.NumExecutors() == 1 })
		b.srv.Stop() // the connection breaks without a shutdown
		if err := <-done; !errors.Is(err, ErrDriverGone) {
			t.Fatalf("Run after the driver vanished = %v, want ErrDriverGone", err)
		}
	})
}

func TestKillCancelsTheTask(t *testing.T) {
	b, d := startBackend(t)
	var mu sync.Mutex
	ran := map[string]int{}
	startExecutor(t, b, "1", secret, &fakeRunner{id: "1", mu: &mu, ran: ran, block: 0})
	waitFor(t, "executor", func() bool { return b.NumExecutors() == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	job := &scheduler.JobSpec{Name: "one", Stages: []scheduler.StageSpec{{ID: 1, Name: "r", NumTasks: 1, ShuffleID: -1}}}
	go func() { errc <- d.RunJob(ctx, job, func(int, []byte) error { return nil }) }()
	waitFor(t, "the task", func() bool { mu.Lock(); defer mu.Unlock(); return ran["1"] > 0 })
	cancel() // the driver kills the job's task; it reports its end, so RunJob returns
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunJob = %v, want context.Canceled", err)
	}
	waitFor(t, "the task to see its kill", func() bool { mu.Lock(); defer mu.Unlock(); return ran["cancelled"] == 1 })
}

// TestSharedPartsTravelOnce checks that a stage's map output list and payload go
// with its first task only, and that both ends agree after the caches roll over.
func TestSharedPartsTravelOnce(t *testing.T) {
	enc, dec := newTaskEncoder(), newTaskDecoder()
	stage := func(i int) (scheduler.ShuffleInput, []byte) {
		return scheduler.ShuffleInput{ShuffleID: i, Maps: []scheduler.MapStatus{{Executor: "1", Sizes: []int64{int64(i), 2}}}},
			[]byte(fmt.Sprintf("plan %d", i))
	}
	for i := range refCacheSize * 3 {
		in, payload := stage(i)
		for p := range 3 {
			task := &scheduler.Task{ID: int64(i*10 + p), Partition: p, Inputs: []scheduler.ShuffleInput{in}, Payload: payload}
			msg := enc.encode(task)
			if first := p == 0; (len(msg.Inputs[0].Maps) > 0) != first || (msg.Payload != nil) != first {
				t.Fatalf("stage %d task %d: maps sent %v, payload sent %v; want them with the first task only",
					i, p, len(msg.Inputs[0].Maps) > 0, msg.Payload != nil)
			}
			got, err := dec.decode(msg)
			if err != nil {
				t.Fatal(err)
			}
			if got.Inputs[0].Maps[0].Sizes[0] != int64(i) || string(got.Payload) != string(payload) {
				t.Fatalf("stage %d task %d decoded %+v %q", i, p, got.Inputs, got.Payload)
			}
		}
	}
}

// TestSilentExecutorIsRemoved registers an executor that then says nothing: after
// ExecutorTimeout the driver takes it for lost, once.
func TestSilentExecutorIsRemoved(t *testing.T) {
	b, err := NewBackend(BackendConfig{AppID: "app-1", Secret: secret, Listen: "127.0.0.1:0", AdvertiseHost: "127.0.0.1",
		ExecutorTimeout: 200 * time.Millisecond, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan scheduler.BackendEvent, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := b.Start(ctx, events); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(context.Background())
	cred := launch(t, b, "9")
	stream := dial(t, ctx, b, secret)
	if err := stream.Send(registration(t, stream, "9", cred)); err != nil {
		t.Fatal(err)
	}
	var added, removed int
	for deadline := time.After(10 * time.Second); removed == 0; {
		select {
		case ev := <-events:
			switch ev := ev.(type) {
			case scheduler.ExecutorAdded:
				added++
			case scheduler.ExecutorRemoved:
				removed++
				if !strings.Contains(ev.Reason.Error(), "no heartbeat") {
					t.Fatalf("removed for %v, want the heartbeat timeout", ev.Reason)
				}
			}
		case <-deadline:
			t.Fatal("a silent executor was never removed")
		}
	}
	if added != 1 || b.NumExecutors() != 0 {
		t.Fatalf("added %d, still registered %d", added, b.NumExecutors())
	}
}

// dial opens a raw protocol stream to the backend with secret.
func dial(t *testing.T, ctx context.Context, b *Backend, s []byte) pb.Driver_ConnectClient {
	t.Helper()
	cc, err := grpc.NewClient(b.Addr(), grpc.WithTransportCredentials(handshake.NewClientCredentials("app-1", handshake.PurposeExecutor, s, false)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	stream, err := pb.NewDriverClient(cc).Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return stream
}

// registration is executor id's Register message, proved over stream's connection.
func registration(t *testing.T, stream pb.Driver_ConnectClient, id string, cred []byte) *pb.ExecutorMessage {
	t.Helper()
	auth, ok := handshake.FromContext(stream.Context())
	if !ok {
		t.Fatal("the stream's connection has no handshake")
	}
	return &pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Register{Register: &pb.Register{
		AppId: "app-1", ExecutorId: id, ContainerId: "c" + id, Host: "h", Cores: 1,
		Proof: handshake.Proof(cred, handshake.ExecutorIdentity, auth.Binding, []byte("app-1"), []byte(id), []byte("c"+id)),
	}}}
}

// TestCommitAskedOverTheStream: a remote task's AskCommit reaches the Driver's
// coordinator and its answer comes back: the one attempt of each result partition
// is granted, and the job's results arrive.
func TestCommitAskedOverTheStream(t *testing.T) {
	b, d := startBackend(t)
	var mu sync.Mutex
	granted := map[int]bool{}
	startExecutor(t, b, "1", secret, runnerFunc(func(ctx context.Context, task *scheduler.Task) (*scheduler.TaskResult, error) {
		ok, err := scheduler.AskCommit(ctx)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		granted[task.Partition] = ok
		mu.Unlock()
		return &scheduler.TaskResult{Data: []byte("ok")}, nil
	}))
	waitFor(t, "the executor", func() bool { return b.NumExecutors() == 1 })
	job := &scheduler.JobSpec{Name: "save", Stages: []scheduler.StageSpec{{ID: 1, Name: "result", NumTasks: 3, ShuffleID: -1}}}
	if err := d.RunJob(context.Background(), job, func(int, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(granted) != "map[0:true 1:true 2:true]" {
		t.Fatalf("commits granted by partition: %v", granted)
	}
}

type runnerFunc func(ctx context.Context, t *scheduler.Task) (*scheduler.TaskResult, error)

func (f runnerFunc) RunTask(ctx context.Context, t *scheduler.Task) (*scheduler.TaskResult, error) {
	return f(ctx, t)
}
