package executor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/spindle-engine/spindle/executor/pb"
	"github.com/spindle-engine/spindle/scheduler"
	"github.com/spindle-engine/spindle/security/handshake"
)

// BackendConfig configures the driver's side of the protocol.
type BackendConfig struct {
	AppID string
	// Secret is the application's secret: executors prove they hold it.
	Secret []byte
	// Listen is the address to listen at, e.g. ":0".
	Listen string
	// AdvertiseHost is the host executors dial; the listener's port is added.
	AdvertiseHost string
	// ExecutorTimeout is how long an executor may stay silent before it is taken for
	// lost; 0 means 120 s (Spark's spark.network.timeout).
	ExecutorTimeout time.Duration
	// Encrypt encrypts every executor's connection (spindle.network.crypto.enabled).
	Encrypt bool
	// LaunchWait bounds how long a registration waits for the ApplicationMaster's
	// record of its launch (Expect), which may arrive after the executor dials; 0
	// means 30 s.
	LaunchWait time.Duration
	// Registered, when set, hears of each executor once it registered, on the
	// goroutine serving its stream (ctx is the stream's); Removed, of each
	// registered executor once it is gone.
	Registered func(ctx context.Context, executorID string)
	Removed    func(executorID string)
	// Observer, when set, hears each executor's registration, heartbeats and
	// removal: the driver's UI and metrics.
	Observer Observer
	Log      zerolog.Logger
}

// Observer hears the executors' lives on the driver. Its methods are called from
// the goroutines serving the executors' streams, so they must be quick.
type Observer interface {
	ExecutorRegistered(Details)
	ExecutorHeartbeat(executorID string, hb Heartbeat)
	ExecutorRemoved(executorID string, reason error)
}

// Details describe a registered executor.
type Details struct {
	ID, Host, Container string
	Cores               int
	Memory              int64 // its memory limit
}

// Heartbeat is what an executor's heartbeat says: its NodeManager, its process's
// memory and garbage collector, and counters of the tasks it ran since it started.
type Heartbeat struct {
	Node, NodeHTTP                                  string
	HeapBytes, RSSBytes, GCCount, GCPauseNanos      int64
	RunningTasks, CompletedTasks, FailedTasks       int64
	ShuffleReadBytes, ShuffleWriteBytes, SpillBytes int64
	RecordsRead, TaskTimeNanos                      int64
}

// Backend is the scheduler's backend for executors in other processes: it serves the
// protocol, turns registrations and task ends into scheduler events, and sends
// launches and kills down each executor's stream.
type Backend struct {
	cfg  BackendConfig
	lis  net.Listener
	addr string
	srv  *grpc.Server

	mu        sync.Mutex
	ctx       context.Context
	events    chan<- scheduler.BackendEvent
	executors map[string]*conn
	launches  *launches
	served    chan struct{}
	stopped   bool
	cancel    context.CancelFunc
	watching  sync.WaitGroup // watchTimeouts, until Stop
	states    states
}

// conn is one registered executor's stream.
type conn struct {
	id       string
	out      chan *pb.DriverMessage
	done     chan struct{} // closed when the executor is removed
	once     sync.Once
	reason   error
	lastSeen time.Time
	encMu    sync.Mutex
	enc      *taskEncoder
}

func (c *conn) remove(reason error) bool {
	removed := false
	c.once.Do(func() {
		c.reason = reason
		close(c.done)
		removed = true
	})
	return removed
}

// commitAnswer sends the driver's answer to task's AskCommit, queued like a
// launch: the Driver's goroutine waits no longer than the connection lives.
func (c *conn) commitAnswer(task int64) func(bool) {
	return func(granted bool) {
		m := &pb.DriverMessage{Msg: &pb.DriverMessage_CommitAnswer{CommitAnswer: &pb.CommitAnswer{TaskId: task, Granted: granted}}}
		select {
		case c.out <- m:
		case <-c.done:
		}
	}
}

// NewBackend listens at once, so that Addr is known before the driver starts it.
func NewBackend(cfg BackendConfig) (*Backend, error) {
	if cfg.ExecutorTimeout <= 0 {
		cfg.ExecutorTimeout = 120 * time.Second
	}
	if cfg.LaunchWait <= 0 {
		cfg.LaunchWait = 30 * time.Second
	}
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("executor endpoint: listen %s: %w", cfg.Listen, err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	host := cfg.AdvertiseHost
	if host == "" {
		host = "localhost"
	}
	b := &Backend{cfg: cfg, lis: lis, addr: net.JoinHostPort(host, strconv.Itoa(port)), executors: map[string]*conn{}, launches: newLaunches()}
	// No gRPC byte is read from a peer before the handshake has authenticated it, so
	// the message limits below only ever apply to the application's own processes.
	creds := handshake.NewServerCredentials(handshake.OneApp{App: cfg.AppID, Key: cfg.Secret}, handshake.ServerOptions{
		Purpose: handshake.PurposeExecutor, RequireEncryption: cfg.Encrypt,
		Refused: func(remote net.Addr, err error) {
			cfg.Log.Warn().Str("remote", remote.String()).Err(err).Msg("executor connection refused")
		},
	})
	b.srv = grpc.NewServer(grpc.Creds(creds), grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage))
	pb.RegisterDriverServer(b.srv, &driverService{b: b})
	return b, nil
}

// Expect records the ApplicationMaster's launch of an executor: only launched
// executors may register, each once.
func (b *Backend) Expect(l Launch) { b.launches.expect(l) }

// Addr is the host:port executors dial.
func (b *Backend) Addr() string { return b.addr }

// Start implements scheduler.Backend: it serves executors until Stop.
func (b *Backend) Start(ctx context.Context, events chan<- scheduler.BackendEvent) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx != nil {
		return errors.New("executor backend: already started")
	}
	ctx, b.cancel = context.WithCancel(ctx)
	b.ctx, b.events = ctx, events
	b.served = make(chan struct{})
	go func() {
		defer close(b.served)
		if err := b.srv.Serve(b.lis); err != nil {
			b.cfg.Log.Error().Err(err).Msg("executor endpoint stopped")
		}
	}()
	b.watching.Add(1)
	go func() {
		defer b.watching.Done()
		b.watchTimeouts(ctx)
	}()
	return nil
}

// watchTimeouts removes executors that went silent: a host that vanished does not
// always close its connections.
func (b *Backend) watchTimeouts(ctx context.Context) {
	tick := time.NewTicker(min(b.cfg.ExecutorTimeout/4, 10*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			b.mu.Lock()
			var silent []string
			for id, c := range b.executors {
				if now.Sub(c.lastSeen) > b.cfg.ExecutorTimeout {
					silent = append(silent, id)
				}
			}
			b.mu.Unlock()
			for _, id := range silent {
				b.RemoveExecutor(id, fmt.Errorf("no heartbeat for %s", b.cfg.ExecutorTimeout))
			}
		}
	}
}

func (b *Backend) send(ev scheduler.BackendEvent) {
	select {
	case b.events <- ev:
	case <-b.ctx.Done():
	}
}

func (b *Backend) conn(id string) (*conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.executors[id]
	if c == nil {
		return nil, fmt.Errorf("executor %s is not connected", id)
	}
	return c, nil
}

func (b *Backend) enqueue(id string, m *pb.DriverMessage) error {
	c, err := b.conn(id)
	if err != nil {
		return err
	}
	select {
	case c.out <- m:
		return nil
	case <-c.done:
		return fmt.Errorf("executor %s is gone: %v", id, c.reason)
	}
}

// Launch implements scheduler.Backend.
func (b *Backend) Launch(executor string, t *scheduler.Task) error {
	c, err := b.conn(executor)
	if err != nil {
		return err
	}
	// Encoding and queueing stay in one order: the encoder's refs assume the
	// executor sees its definitions in the order it made them.
	c.encMu.Lock()
	defer c.encMu.Unlock()
	m := &pb.DriverMessage{Msg: &pb.DriverMessage_Launch{Launch: &pb.LaunchTask{Task: c.enc.encode(t)}}}
	select {
	case c.out <- m:
		b.states.launched(executor, t)
		return nil
	case <-c.done:
		return fmt.Errorf("executor %s is gone: %v", executor, c.reason)
	}
}

// Kill implements scheduler.Backend.
func (b *Backend) Kill(executor string, taskID int64) error {
	return b.enqueue(executor, &pb.DriverMessage{Msg: &pb.DriverMessage_Kill{Kill: &pb.KillTask{TaskId: taskID}}})
}

// UpdateTokens sends renewed delegation tokens (a credentials file) to every
// registered executor, which replaces its HDFS clients' tokens without a restart.
// Executors that are gone are skipped, and one that registers later has its tokens
// from its launch context. It returns ctx's error if ctx ends first.
func (b *Backend) UpdateTokens(ctx context.Context, credentials []byte) error {
	b.mu.Lock()
	conns := make([]*conn, 0, len(b.executors))
	for _, c := range b.executors {
		conns = append(conns, c)
	}
	b.mu.Unlock()
	for _, c := range conns {
		m := &pb.DriverMessage{Msg: &pb.DriverMessage_UpdateTokens{UpdateTokens: &pb.UpdateTokens{Credentials: credentials}}}
		select {
		case c.out <- m:
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// ErrReleased is the removal reason of an executor the driver gave back (dynamic
// allocation): it was idle, and nothing of it is lost.
var ErrReleased = errors.New("released: idle")

// Release takes an executor out of use for good: the scheduler hears of its removal
// at once, so that it launches nothing more there, and the executor is told to shut
// down.
func (b *Backend) Release(id string) {
	c, err := b.conn(id)
	if err != nil {
		return
	}
	b.send(scheduler.ExecutorRemoved{ID: id, Reason: ErrReleased})
	select {
	case c.out <- &pb.DriverMessage{Msg: &pb.DriverMessage_Shutdown{Shutdown: &pb.Shutdown{Reason: ErrReleased.Error()}}}:
	case <-c.done:
	}
}

// RemoveExecutor drops an executor the driver learned is gone (its container
// ended): its stream is closed and the scheduler hears of its loss once.
func (b *Backend) RemoveExecutor(id string, reason error) {
	b.mu.Lock()
	c := b.executors[id]
	b.mu.Unlock()
	if c != nil {
		c.remove(reason)
	}
}

// NumExecutors reports how many executors are registered.
func (b *Backend) NumExecutors() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.executors)
}

// Stop implements scheduler.Backend: executors are told to shut down, then the
// endpoint closes.
func (b *Backend) Stop(ctx context.Context) error {
	b.mu.Lock()
	b.stopped = true
	conns := make([]*conn, 0, len(b.executors))
	for _, c := range b.executors {
		conns = append(conns, c)
	}
	served, cancel := b.served, b.cancel
	b.mu.Unlock()
	for _, c := range conns {
		select {
		case c.out <- &pb.DriverMessage{Msg: &pb.DriverMessage_Shutdown{Shutdown: &pb.Shutdown{Reason: "application ended"}}}:
		case <-c.done:
		case <-ctx.Done():
		}
	}
	stopped := make(chan struct{})
	go func() {
		b.srv.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		b.srv.Stop()
		<-stopped
	}
	if served != nil {
		<-served
	}
	if cancel != nil {
		cancel()
	}
	b.watching.Wait()
	return nil
}

// driverService serves the protocol's one method.
type driverService struct {
	pb.UnimplementedDriverServer
	b *Backend
}

func (s *driverService) Connect(stream pb.Driver_ConnectServer) error {
	b := s.b
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	reg := first.GetRegister()
	if reg == nil {
		return status.Error(codes.InvalidArgument, "the first message must register the executor")
	}
	launch, err := b.admit(stream.Context(), reg)
	if err != nil {
		b.cfg.Log.Warn().Str("executor", reg.ExecutorId).Str("container", reg.ContainerId).Err(err).Msg("executor refused")
		return status.Errorf(codes.PermissionDenied, "executor %s: %v", reg.ExecutorId, err)
	}
	c := &conn{id: reg.ExecutorId, out: make(chan *pb.DriverMessage, 256), done: make(chan struct{}), lastSeen: time.Now(), enc: newTaskEncoder()}
	b.mu.Lock()
	switch {
	case b.ctx == nil || b.stopped:
		b.mu.Unlock()
		return status.Error(codes.Unavailable, "the driver is not running")
	case b.executors[c.id] != nil:
		b.mu.Unlock()
		return status.Errorf(codes.AlreadyExists, "executor %s is registered already", c.id)
	}
	b.executors[c.id] = c
	b.mu.Unlock()
	if err := stream.Send(&pb.DriverMessage{Msg: &pb.DriverMessage_Registered{Registered: &pb.Registered{ShuffleService: launch.ShuffleService}}}); err != nil {
		b.drop(c, err)
		return err
	}
	auth, _ := handshake.FromContext(stream.Context())
	b.cfg.Log.Info().Str("executor", c.id).Str("container", launch.ContainerID).Str("host", reg.Host).Int32("cores", reg.Cores).
		Bool("encrypted", auth != nil && auth.Encrypted).Msg("executor registered")
	// Map outputs are served by the node's shuffle service when the application
	// uses one, else by the executor itself.
	addr := reg.ShuffleAddr
	if launch.ShuffleService != "" {
		addr = launch.ShuffleService
	}
	b.states.registered(c.id, reg.Host, launch.ContainerID, reg.Memory)
	if b.cfg.Observer != nil {
		b.cfg.Observer.ExecutorRegistered(Details{ID: c.id, Host: reg.Host, Container: launch.ContainerID, Cores: int(reg.Cores), Memory: reg.Memory})
	}
	b.send(scheduler.ExecutorAdded{Executor: scheduler.ExecutorInfo{ID: c.id, Host: reg.Host, Addr: addr, Slots: int(reg.Cores)}})
	if b.cfg.Registered != nil {
		b.cfg.Registered(stream.Context(), c.id)
	}

	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			b.mu.Lock()
			c.lastSeen = time.Now()
			b.mu.Unlock()
			if st := m.GetStatus(); st != nil {
				b.states.ended(c.id, st.TaskId)
				ev := scheduler.TaskStatus{TaskID: st.TaskId, Executor: c.id}
				if st.Failure != nil {
					ev.Err = failureFromProto(st.Failure)
				} else {
					ev.Result = resultFromProto(st.Result)
				}
				b.send(ev)
			}
			if ac := m.GetAskCommit(); ac != nil {
				b.send(scheduler.CommitAsked{TaskID: ac.TaskId, Executor: c.id, Answer: c.commitAnswer(ac.TaskId)})
			}
			if hb := m.GetHeartbeat(); hb != nil {
				b.states.heartbeat(c.id, heartbeatFromProto(hb))
				if b.cfg.Observer != nil {
					b.cfg.Observer.ExecutorHeartbeat(c.id, heartbeatFromProto(hb))
				}
			}
		}
	}()
	for {
		select {
		case m := <-c.out:
			if err := stream.Send(m); err != nil {
				b.drop(c, err)
				return err
			}
		case err := <-recvErr:
			b.drop(c, fmt.Errorf("connection closed: %w", err))
			return nil
		case <-c.done:
			b.drop(c, c.reason)
			return nil
		case <-stream.Context().Done():
			b.drop(c, stream.Context().Err())
			return nil
		}
	}
}

// admit checks a registration: the connection is the application's (the handshake
// proved its secret), the ApplicationMaster launched this executor in this
// container, the executor proves its container's credential over this connection,
// and it has not registered before.
func (b *Backend) admit(ctx context.Context, reg *pb.Register) (Launch, error) {
	auth, ok := handshake.FromContext(ctx)
	if !ok || auth.App != b.cfg.AppID || reg.AppId != b.cfg.AppID {
		return Launch{}, fmt.Errorf("bad credentials for application %s", reg.AppId)
	}
	wctx, cancel := context.WithTimeout(ctx, b.cfg.LaunchWait)
	defer cancel()
	return b.launches.claim(wctx, reg.ExecutorId, func(l Launch) error {
		if l.ContainerID != reg.ContainerId {
			return fmt.Errorf("registered from container %q, but was launched in %s", reg.ContainerId, l.ContainerID)
		}
		if !handshake.Verify(l.Credential, reg.Proof, handshake.ExecutorIdentity,
			auth.Binding, []byte(reg.AppId), []byte(reg.ExecutorId), []byte(reg.ContainerId)) {
			return errors.New("bad credentials: the proof is not its container's, or not made over this connection")
		}
		return nil
	})
}

// drop forgets an executor and tells the scheduler once.
func (b *Backend) drop(c *conn, reason error) {
	c.remove(reason)
	b.mu.Lock()
	if b.executors[c.id] == c {
		delete(b.executors, c.id)
	}
	b.mu.Unlock()
	b.states.removed(c.id)
	b.cfg.Log.Info().Str("executor", c.id).AnErr("reason", c.reason).Msg("executor removed")
	b.send(scheduler.ExecutorRemoved{ID: c.id, Reason: c.reason})
	if b.cfg.Observer != nil {
		b.cfg.Observer.ExecutorRemoved(c.id, c.reason)
	}
	if b.cfg.Removed != nil {
		b.cfg.Removed(c.id)
	}
}

func heartbeatFromProto(hb *pb.Heartbeat) Heartbeat {
	return Heartbeat{
		Node: hb.NodeId, NodeHTTP: hb.NodeHttpAddress,
		HeapBytes: hb.HeapBytes, RSSBytes: hb.RssBytes, GCCount: hb.GcCount, GCPauseNanos: hb.GcPauseNanos,
		RunningTasks: int64(hb.RunningTasks), CompletedTasks: hb.CompletedTasks, FailedTasks: hb.FailedTasks,
		ShuffleReadBytes: hb.ShuffleReadBytes, ShuffleWriteBytes: hb.ShuffleWriteBytes, SpillBytes: hb.SpillBytes,
		RecordsRead: hb.RecordsRead, TaskTimeNanos: hb.TaskTimeNanos,
	}
}
