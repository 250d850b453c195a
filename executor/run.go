package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"

	"github.com/spindle-engine/spindle/executor/pb"
	"github.com/spindle-engine/spindle/scheduler"
	"github.com/spindle-engine/spindle/security/handshake"
)

// ErrDriverGone ends an executor whose driver went away without shutting it down.
var ErrDriverGone = errors.New("driver gone")

// Config describes the executor to the driver.
type Config struct {
	DriverAddr, AppID, ExecutorID string
	// Host is the executor's host as the cluster names it (YARN's NM_HOST);
	// ShuffleAddr is where it serves its map outputs.
	Host, ShuffleAddr string
	// NodeID and NodeHTTPAddress are its NodeManager's id (host:port) and web
	// address, which its heartbeats tell the driver's UI (links to its logs, one
	// metric per node); empty outside YARN.
	NodeID, NodeHTTPAddress string
	// Secret is the application's secret, which the connection's handshake proves.
	Secret []byte
	// ContainerID and Credential are the container this executor runs in and the
	// per-container credential the ApplicationMaster put in its credentials.
	ContainerID string
	Credential  []byte
	// Encrypt asks for an encrypted connection (spindle.network.crypto.enabled).
	Encrypt bool
	// Registered, when set, runs once the driver accepted the executor, before any
	// task: the driver names the node's shuffle service, if the application uses
	// one, and the executor registers its directories there.
	Registered func(ctx context.Context, shuffleService string) error
	// Tokens, when set, receives renewed delegation tokens from the driver (a
	// credentials file), on the stream's goroutine, between tasks' messages.
	Tokens func(credentials []byte)
	Cores  int
	Memory int64
	// HeartbeatInterval paces heartbeats; 0 means 10 s.
	HeartbeatInterval time.Duration
	Log               zerolog.Logger
}

// Run registers with the driver and runs the tasks it launches with r, until the
// driver shuts the executor down (nil) or is gone (an error wrapping ErrDriverGone).
// When ctx ends, running tasks are cancelled and Run returns ctx.Err().
func Run(ctx context.Context, cfg Config, r scheduler.Runner) error {
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 10 * time.Second
	}
	creds := handshake.NewClientCredentials(cfg.AppID, handshake.PurposeExecutor, cfg.Secret, cfg.Encrypt)
	cc, err := grpc.NewClient(cfg.DriverAddr, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)))
	if err != nil {
		return fmt.Errorf("driver %s: %w", cfg.DriverAddr, err)
	}
	defer cc.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := pb.NewDriverClient(cc).Connect(sctx)
	if err != nil {
		return fmt.Errorf("%w: connect %s: %w", ErrDriverGone, cfg.DriverAddr, err)
	}
	e := &runner{cfg: cfg, r: r, stream: stream, running: map[int64]context.CancelFunc{}}
	reg := &pb.Register{AppId: cfg.AppID, ExecutorId: cfg.ExecutorID, ContainerId: cfg.ContainerID, Host: cfg.Host,
		Cores: int32(cfg.Cores), Memory: cfg.Memory, ShuffleAddr: cfg.ShuffleAddr}
	// The stream's connection is up once Connect returns; its binding ties the
	// identity proof to it, so that the proof is worthless on any other.
	auth, ok := handshake.FromContext(stream.Context())
	if !ok {
		return fmt.Errorf("register with driver %s: the connection was not authenticated", cfg.DriverAddr)
	}
	reg.Proof = handshake.Proof(cfg.Credential, handshake.ExecutorIdentity, auth.Binding,
		[]byte(cfg.AppID), []byte(cfg.ExecutorID), []byte(cfg.ContainerID))
	if err := e.sendMsg(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Register{Register: reg}}); err != nil {
		return fmt.Errorf("%w: register with %s: %w", ErrDriverGone, cfg.DriverAddr, err)
	}
	first, err := stream.Recv()
	if err != nil {
		return fmt.Errorf("register with driver %s: %w", cfg.DriverAddr, err)
	}
	registered := first.GetRegistered()
	if registered == nil {
		return fmt.Errorf("register with driver %s: unexpected first message %T", cfg.DriverAddr, first.Msg)
	}
	cfg.Log.Info().Str("driver", cfg.DriverAddr).Msg("registered with the driver")
	if cfg.Registered != nil {
		if err := cfg.Registered(ctx, registered.ShuffleService); err != nil {
			return err
		}
	}

	taskCtx, stopTasks := context.WithCancel(ctx)
	defer func() {
		stopTasks()
		e.wg.Wait()
	}()
	// Deferred after the tasks' wait, so it runs first: the stream's end stops the
	// heartbeat, whose last send may still be under way.
	var beat sync.WaitGroup
	beat.Add(1)
	go func() {
		defer beat.Done()
		e.heartbeat(sctx)
	}()
	defer func() {
		cancel()
		beat.Wait()
	}()
	dec := newTaskDecoder()
	for {
		m, err := stream.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w: %w", ErrDriverGone, err)
		}
		switch m := m.Msg.(type) {
		case *pb.DriverMessage_Launch:
			t, err := dec.decode(m.Launch.Task)
			if err != nil {
				e.sendMsg(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Status{Status: &pb.TaskStatus{
					TaskId: m.Launch.Task.Id, Failure: failureToProto(err)}}})
				continue
			}
			e.launch(taskCtx, t)
		case *pb.DriverMessage_Kill:
			e.kill(m.Kill.TaskId)
		case *pb.DriverMessage_CommitAnswer:
			e.commitAnswered(m.CommitAnswer.TaskId, m.CommitAnswer.Granted)
		case *pb.DriverMessage_Shutdown:
			cfg.Log.Info().Str("reason", m.Shutdown.Reason).Msg("driver shut the executor down")
			return nil
		case *pb.DriverMessage_UpdateTokens:
			if cfg.Tokens != nil {
				cfg.Tokens(m.UpdateTokens.Credentials)
			}
		}
	}
}

// runner runs the tasks of one connection.
type runner struct {
	cfg    Config
	r      scheduler.Runner
	stream pb.Driver_ConnectClient
	sendMu sync.Mutex // a gRPC stream takes one sender at a time

	mu      sync.Mutex
	running map[int64]context.CancelFunc
	// commits are the tasks waiting for the driver's answer to their AskCommit.
	commits map[int64]chan bool
	done    taskTotals
	wg      sync.WaitGroup
}

// taskTotals count the tasks an executor ran since it started, for its heartbeats.
type taskTotals struct {
	completed, failed                      int64
	shuffleRead, shuffleWrite, spill, read int64
	time                                   time.Duration
}

func (t *taskTotals) add(res *scheduler.TaskResult, err error) {
	if err != nil || res == nil {
		t.failed++
		return
	}
	m := res.Metrics
	t.completed++
	t.shuffleRead += m.ShuffleReadBytes
	t.shuffleWrite += m.ShuffleWriteBytes
	t.spill += m.SpillBytes
	t.read += m.RecordsRead
	t.time += m.Duration
}

func (e *runner) sendMsg(m *pb.ExecutorMessage) error {
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	return e.stream.Send(m)
}

func (e *runner) launch(ctx context.Context, t *scheduler.Task) {
	ctx, cancel := context.WithCancel(ctx)
	ctx = scheduler.WithCommitAsker(ctx, e.commitAsker(t.ID))
	e.mu.Lock()
	e.running[t.ID] = cancel
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		res, err := e.run(ctx, t)
		e.mu.Lock()
		delete(e.running, t.ID)
		e.done.add(res, err)
		e.mu.Unlock()
		cancel()
		st := &pb.TaskStatus{TaskId: t.ID}
		if err != nil {
			st.Failure = failureToProto(err)
		} else {
			st.Result = resultToProto(res)
		}
		if serr := e.sendMsg(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Status{Status: st}}); serr != nil {
			e.cfg.Log.Warn().Err(serr).Int64("task", t.ID).Msg("task status not delivered")
		}
	}()
}

// commitAsker asks the driver whether task may commit, and waits for the answer
// the stream's goroutine hands over; the stream's end cancels the task's context.
func (e *runner) commitAsker(task int64) scheduler.CommitAsker {
	return func(ctx context.Context) (bool, error) {
		answer := make(chan bool, 1)
		e.mu.Lock()
		if e.commits == nil {
			e.commits = map[int64]chan bool{}
		}
		e.commits[task] = answer
		e.mu.Unlock()
		defer func() {
			e.mu.Lock()
			delete(e.commits, task)
			e.mu.Unlock()
		}()
		if err := e.sendMsg(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_AskCommit{AskCommit: &pb.AskCommit{TaskId: task}}}); err != nil {
			return false, fmt.Errorf("%w: %w", ErrDriverGone, err)
		}
		select {
		case ok := <-answer:
			return ok, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

func (e *runner) commitAnswered(task int64, granted bool) {
	e.mu.Lock()
	answer := e.commits[task]
	e.mu.Unlock()
	if answer != nil {
		answer <- granted // buffered, and the driver answers each ask once
	}
}

// run calls the Runner, turning a panic into the task's error: one bad task must not
// take the executor, and the other tasks on it, down.
func (e *runner) run(ctx context.Context, t *scheduler.Task) (res *scheduler.TaskResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, scheduler.NewPanicError(r, debug.Stack())
		}
	}()
	return e.r.RunTask(ctx, t)
}

func (e *runner) kill(id int64) {
	e.mu.Lock()
	cancel := e.running[id]
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// heartbeat sends one heartbeat at once, so that the driver knows the executor's
// node and memory from the start, then one every HeartbeatInterval.
func (e *runner) heartbeat(ctx context.Context) {
	tick := time.NewTicker(e.cfg.HeartbeatInterval)
	defer tick.Stop()
	var ms runtime.MemStats
	for {
		e.mu.Lock()
		n, done := len(e.running), e.done
		e.mu.Unlock()
		runtime.ReadMemStats(&ms)
		if err := e.sendMsg(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Heartbeat{Heartbeat: &pb.Heartbeat{
			RunningTasks: int32(n), HeapBytes: int64(ms.HeapAlloc), RssBytes: rssBytes(),
			GcCount: int64(ms.NumGC), GcPauseNanos: int64(ms.PauseTotalNs),
			CompletedTasks: done.completed, FailedTasks: done.failed, ShuffleReadBytes: done.shuffleRead,
			ShuffleWriteBytes: done.shuffleWrite, SpillBytes: done.spill, RecordsRead: done.read,
			TaskTimeNanos: int64(done.time), NodeId: e.cfg.NodeID, NodeHttpAddress: e.cfg.NodeHTTPAddress,
		}}}); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// rssBytes is the process's resident set size, from /proc/self/statm on Linux; 0
// elsewhere.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
