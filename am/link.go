package am

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/spindle-engine/spindle/am/allocator"
	"github.com/spindle-engine/spindle/am/pb"
	"github.com/spindle-engine/spindle/security/handshake"
	"github.com/spindle-engine/spindle/yarn"
)

// DriverLink is the driver's end of the client-mode link: it steers the thin AM
// as *Master steers the allocator in cluster mode. None of its calls waits for the
// AM: messages wait in an outbox that the attached stream drains, so a slow or
// absent AM never blocks the driver, and nothing that matters is dropped.
type DriverLink struct {
	log      zerolog.Logger
	launched func(Launched)
	srv      *grpc.Server
	addr     string
	stop     context.CancelFunc // stops the server

	attached chan struct{}
	attach   sync.Once
	exits    chan ExecutorExit
	failed   chan error
	failOnce sync.Once
	lost     chan struct{} // closed on the first failure, which failure then holds
	failure  error
	finished chan error
	wake     chan struct{} // cap 1: the outbox has something to send
	done     chan struct{} // closed by Close

	// goroutines are the server's, its stopper and the streams' receivers; Close
	// waits for them.
	goroutines sync.WaitGroup
	serveErr   error
	closeOnce  sync.Once

	mu     sync.Mutex
	closed bool
	// outbox holds the messages not yet sent, in order. Only the newest target,
	// endpoint and excluded set matter, so one not yet sent is replaced in place
	// (targetAt, endpointAt and excludedAt are their indices, or -1);
	// registrations and Finish are all kept.
	outbox     []*pb.DriverMessage
	targetAt   int
	endpointAt int
	excludedAt int
	// What an AM that attaches later (a new attempt) must be told first.
	target   *pb.Target
	endpoint string
	excluded *pb.ExcludedNodes
	finish   *pb.Finish
	// stream counts the AMs that attached: only the newest one's sender takes
	// the outbox, which was rebased for it, so a stream that has not yet seen
	// its end cannot swallow what a new attempt must be told.
	stream int
}

// LinkConfig configures the driver's end of the link.
type LinkConfig struct {
	// Listen is the address to bind, e.g. "10.0.0.5:0"; AdvertiseHost is the host
	// the AM dials.
	Listen, AdvertiseHost string
	// Secret is the application's secret, which the AM proves in the connection's
	// handshake.
	Secret []byte
	// Encrypt encrypts the link (spindle.network.crypto.enabled).
	Encrypt bool
	// Launched hears the AM's record of each executor it launched.
	Launched func(Launched)
	Log      zerolog.Logger
}

// linkMessageLimit bounds one message on the link: they are small, and a bound
// keeps a bug on either side from growing the other.
const linkMessageLimit = 1 << 20

// anyApp is the link's view of the one secret it knows: the application id is
// granted only after the link listens, and the secret alone names the
// application.
type anyApp []byte

func (a anyApp) Secret(string) ([]byte, bool) { return a, true }

// ListenDriver serves the link. The link ends when ctx does, or with Close (or
// Finish), which also waits for it.
func ListenDriver(ctx context.Context, cfg LinkConfig) (*DriverLink, error) {
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("AM link: listen %s: %w", cfg.Listen, err)
	}
	log := cfg.Log
	creds := handshake.NewServerCredentials(anyApp(cfg.Secret), handshake.ServerOptions{
		Purpose: handshake.PurposeAMLink, RequireEncryption: cfg.Encrypt,
		Refused: func(remote net.Addr, err error) {
			log.Warn().Str("remote", remote.String()).Err(err).Msg("AM link: connection refused")
		},
	})
	sctx, stop := context.WithCancel(ctx)
	l := &DriverLink{
		log: log, stop: stop, launched: cfg.Launched,
		// Stop waits for Attach handlers, so that Close leaves none running.
		srv: grpc.NewServer(grpc.Creds(creds), grpc.WaitForHandlers(true),
			grpc.MaxRecvMsgSize(linkMessageLimit), grpc.MaxSendMsgSize(linkMessageLimit)),
		addr:     net.JoinHostPort(cfg.AdvertiseHost, strconv.Itoa(lis.Addr().(*net.TCPAddr).Port)),
		attached: make(chan struct{}), exits: make(chan ExecutorExit, 256),
		failed: make(chan error, 1), lost: make(chan struct{}), finished: make(chan error, 1),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		targetAt: -1, endpointAt: -1, excludedAt: -1,
	}
	pb.RegisterAMLinkServer(l.srv, &linkService{l: l})
	l.goroutines.Add(2)
	go func() {
		defer l.goroutines.Done()
		l.serveErr = l.srv.Serve(lis)
	}()
	go func() {
		defer l.goroutines.Done()
		<-sctx.Done()
		l.srv.Stop()
	}()
	return l, nil
}

// Addr is where the AM dials.
func (l *DriverLink) Addr() string { return l.addr }

// Attached waits until the AM has attached. It returns the link's failure if
// there is one (the *Error that Failed also reports), ErrStopped after Close, or
// ctx's error.
func (l *DriverLink) Attached(ctx context.Context) error {
	// A failed or closed link is no use to the driver, attached or not; select
	// alone would pick at random among ready cases.
	select {
	case <-l.lost:
		return l.failure
	case <-l.done:
		return ErrStopped
	default:
	}
	select {
	case <-l.attached:
		return nil
	case <-l.lost:
		return l.failure
	case <-l.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetEndpoint tells the AM where executors dial the driver. After Close it does
// nothing.
func (l *DriverLink) SetEndpoint(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.endpoint = addr
	l.postLocked(endpointMessage(addr), &l.endpointAt)
}

// SetTarget implements the driver's view of the AM. It never blocks, so ctx is
// unused; it fails only with ErrStopped, after Close.
func (l *DriverLink) SetTarget(_ context.Context, n int, hints map[string]int) error {
	t := &pb.Target{Executors: int32(n), Hints: make(map[string]int32, len(hints))}
	for h, c := range hints {
		t.Hints[h] = int32(c)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrStopped
	}
	l.target = t
	l.postLocked(targetMessage(t), &l.targetAt)
	return nil
}

// ExcludeNodes replaces the nodes the driver's scheduler excluded on failure (node,
// as Launched.Node names it, → end of exclusion), as Master.ExcludeNodes does in
// cluster mode: the AM blacklists them at the RM. Only the newest set is sent, and
// an AM that attaches later gets it first. It never blocks, so ctx is unused; it
// fails only with ErrStopped, after Close.
func (l *DriverLink) ExcludeNodes(_ context.Context, nodes map[string]time.Time) error {
	x := excludedMessage(nodes)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrStopped
	}
	l.excluded = x
	l.postLocked(&pb.DriverMessage{Msg: &pb.DriverMessage_Excluded{Excluded: x}}, &l.excludedAt)
	return nil
}

// ExecutorRegistered implements the driver's view of the AM. It never blocks, so
// ctx is unused; it fails only with ErrStopped, after Close.
func (l *DriverLink) ExecutorRegistered(_ context.Context, id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrStopped
	}
	l.postLocked(&pb.DriverMessage{Msg: &pb.DriverMessage_Registered{Registered: &pb.ExecutorRegistered{ExecutorId: id}}}, nil)
	return nil
}

// KillExecutors asks the AM to give back executors' containers; see
// Master.KillExecutors. Like ExecutorRegistered, it is never dropped.
func (l *DriverLink) KillExecutors(_ context.Context, ids []string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrStopped
	}
	l.postLocked(&pb.DriverMessage{Msg: &pb.DriverMessage_Kill{Kill: &pb.KillExecutors{ExecutorIds: ids}}}, nil)
	return nil
}

// Exits reports executors' containers as the AM sees them end.
func (l *DriverLink) Exits() <-chan ExecutorExit { return l.exits }

// Failed reports, once, the AM failing (the *Error it reported, of the same kind)
// or going away (an *Error of kind ErrDisconnected), whichever came first.
func (l *DriverLink) Failed() <-chan error { return l.failed }

// Finish tells the AM to unregister with status, waits for it to have done so,
// and closes the link. The AM's failure to unregister comes back as an *Error of
// the kind the AM gave it.
func (l *DriverLink) Finish(ctx context.Context, st yarn.FinalStatus, diagnostics string) error {
	// A proto string must be UTF-8, and a message that cannot be encoded is never sent.
	f := &pb.Finish{FinalStatus: int32(st), Diagnostics: strings.ToValidUTF8(diagnostics, "\uFFFD")}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrStopped
	}
	l.finish = f
	l.postLocked(&pb.DriverMessage{Msg: &pb.DriverMessage_Finish{Finish: f}}, nil)
	l.mu.Unlock()
	var err error
	select {
	case err = <-l.finished:
	case <-ctx.Done():
		err = fmt.Errorf("ApplicationMaster did not confirm unregistering: %w", ctx.Err())
	}
	return errors.Join(err, l.Close())
}

// Close stops the link's server and waits for its goroutines. An AM still
// attached loses the stream: it unregisters as FAILED unless it had the Finish.
func (l *DriverLink) Close() error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		close(l.done)
		l.stop()
		l.goroutines.Wait()
	})
	return l.serveErr
}

func targetMessage(t *pb.Target) *pb.DriverMessage {
	return &pb.DriverMessage{Msg: &pb.DriverMessage_Target{Target: t}}
}

func endpointMessage(addr string) *pb.DriverMessage {
	return &pb.DriverMessage{Msg: &pb.DriverMessage_Endpoint{Endpoint: &pb.Endpoint{Addr: addr}}}
}

// postLocked adds m to the outbox and wakes the sender. With at, m replaces the
// message at *at if that one is not yet sent.
func (l *DriverLink) postLocked(m *pb.DriverMessage, at *int) {
	switch {
	case at != nil && *at >= 0:
		l.outbox[*at] = m
	case at != nil:
		*at = len(l.outbox)
		fallthrough
	default:
		l.outbox = append(l.outbox, m)
	}
	l.signal()
}

// errSuperseded ends the sender of a stream after another AM attached.
var errSuperseded = errors.New("AM link: another ApplicationMaster attached")

// signal wakes the sender, unless a wake already waits for it.
func (l *DriverLink) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// take empties the outbox for the sender of the stream'th AM to attach; ok is
// false when a later one has attached since.
func (l *DriverLink) take(stream int) (_ []*pb.DriverMessage, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if stream != l.stream {
		return nil, false
	}
	out := l.outbox
	l.outbox, l.targetAt, l.endpointAt, l.excludedAt = nil, -1, -1, -1
	return out, true
}

// putBack returns to the front of the outbox the registrations and releases that a
// broken stream did not deliver. Targets, the endpoint, the excluded nodes and
// Finish need not come back: the next AM to attach gets them from the link's state.
func (l *DriverLink) putBack(unsent []*pb.DriverMessage) {
	var regs []*pb.DriverMessage
	for _, m := range unsent {
		if m.GetRegistered() != nil || m.GetKill() != nil {
			regs = append(regs, m)
		}
	}
	if len(regs) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outbox = append(regs, l.outbox...)
	for _, at := range []*int{&l.targetAt, &l.endpointAt, &l.excludedAt} {
		if *at >= 0 {
			*at += len(regs)
		}
	}
}

// rebaseLocked prepares the outbox for an AM that just attached, which may be a
// new attempt that knows nothing: the endpoint, the excluded nodes (before the
// target, so that its first asks already keep off them) and the target first,
// then the registrations and releases not yet sent, and Finish if the driver has
// finished.
func (l *DriverLink) rebaseLocked() {
	var out []*pb.DriverMessage
	l.endpointAt, l.targetAt, l.excludedAt = -1, -1, -1
	if l.endpoint != "" {
		l.endpointAt = len(out)
		out = append(out, endpointMessage(l.endpoint))
	}
	if l.excluded != nil {
		l.excludedAt = len(out)
		out = append(out, &pb.DriverMessage{Msg: &pb.DriverMessage_Excluded{Excluded: l.excluded}})
	}
	if l.target != nil {
		l.targetAt = len(out)
		out = append(out, targetMessage(l.target))
	}
	for _, m := range l.outbox {
		if m.GetRegistered() != nil || m.GetKill() != nil {
			out = append(out, m)
		}
	}
	if l.finish != nil {
		out = append(out, &pb.DriverMessage{Msg: &pb.DriverMessage_Finish{Finish: l.finish}})
	}
	l.outbox = out
	l.signal()
}

// fail records the link's first failure: the driver fails the application on
// it, so later ones say nothing new.
func (l *DriverLink) fail(err error) {
	l.failOnce.Do(func() {
		l.failure = err
		close(l.lost)
		l.failed <- err // cap 1 and sent once: never blocks
	})
}

type linkService struct {
	pb.UnimplementedAMLinkServer
	l *DriverLink
}

func (s *linkService) Attach(stream pb.AMLink_AttachServer) error {
	l := s.l
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	// The handshake authenticated the connection: only the application's AM holds
	// its secret.
	hello := first.GetHello()
	if hello == nil {
		return status.Error(codes.InvalidArgument, "AM link: the first message must be Hello")
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return status.Error(codes.Unavailable, "AM link: closed")
	}
	l.stream++
	id := l.stream
	l.rebaseLocked()
	// Attached before anything the AM reports can fail the link.
	l.attach.Do(func() { close(l.attached) })
	// The receiver is the link's, not this handler's: it may still be handing an
	// exit to the driver when the stream ends, and Close waits for it. Adding it
	// under mu, before closed is set, keeps the Add ahead of Close's Wait.
	recvErr := make(chan error, 1)
	l.goroutines.Add(1)
	go func() {
		defer l.goroutines.Done()
		recvErr <- l.receive(stream)
	}()
	l.mu.Unlock()
	l.log.Info().Str("app", hello.AppId).Str("tracking", hello.TrackingUrl).Msg("ApplicationMaster attached")

	err = l.send(stream, id, recvErr)
	l.mu.Lock()
	// A stream superseded by a newer attempt's lost nothing: that one has the AM's
	// work now.
	lost := l.finish == nil && !l.closed && !errors.Is(err, errSuperseded)
	l.mu.Unlock()
	if lost {
		l.fail(&Error{Kind: ErrDisconnected, Reason: "ApplicationMaster disconnected", Cause: err})
	}
	return nil
}

// send drains the outbox into stream until the stream or the link ends, and
// says why it did.
func (l *DriverLink) send(stream pb.AMLink_AttachServer, id int, recvErr <-chan error) error {
	for {
		select {
		case <-l.wake:
			batch, ok := l.take(id)
			if !ok {
				// The wake was the newer stream's: pass it on.
				l.signal()
				return errSuperseded
			}
			for i, m := range batch {
				if err := stream.Send(m); err != nil {
					l.putBack(batch[i:])
					return err
				}
			}
		case err := <-recvErr:
			return err
		case <-stream.Context().Done():
			return context.Cause(stream.Context())
		case <-l.done:
			return ErrStopped
		}
	}
}

// receive takes the AM's reports until the stream ends. An exit waits for the
// driver to read it, or for Close: the AM's report of a lost executor matters
// even when its stream is gone.
func (l *DriverLink) receive(stream pb.AMLink_AttachServer) error {
	for {
		m, err := stream.Recv()
		if err != nil {
			return err
		}
		switch m := m.Msg.(type) {
		case *pb.AMMessage_Exited:
			e := m.Exited
			select {
			case l.exits <- ExecutorExit{ExecutorID: e.ExecutorId, ContainerID: e.ContainerId, Kind: allocator.ExitKind(e.Kind), CountsAsFailure: e.CountsAsFailure, Message: e.Message, Status: e.ExitStatus, Diagnostics: e.Diagnostics}:
			case <-l.done:
				return ErrStopped
			}
		case *pb.AMMessage_Launched:
			if l.launched != nil {
				x := m.Launched
				l.launched(Launched{ExecutorID: x.ExecutorId, ContainerID: x.ContainerId, Host: x.Host,
					Node: x.Node, Credential: x.Credential, ShuffleService: x.ShuffleService})
			}
		case *pb.AMMessage_Failed:
			l.fail(fromWire(m.Failed.Kind, m.Failed.Reason))
		case *pb.AMMessage_Finished:
			var err error
			if m.Finished.Error != "" {
				err = fromWire(m.Finished.Kind, m.Finished.Error)
			}
			select {
			case l.finished <- err:
			default: // a second acknowledgement says nothing new
			}
		}
	}
}
