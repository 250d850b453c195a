package am

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/spindle-engine/spindle/am/allocator"
	"github.com/spindle-engine/spindle/am/pb"
	"github.com/spindle-engine/spindle/yarn"
)

func linkProof(secret []byte, appID string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("am|" + appID))
	return m.Sum(nil)
}

// DriverLink is the driver's end of the client-mode link: it steers the thin AM
// as *Master steers the allocator in cluster mode.
type DriverLink struct {
	secret []byte
	log    zerolog.Logger
	srv    *grpc.Server
	addr   string

	out      chan *pb.DriverMessage
	attached chan struct{}
	attach   sync.Once
	exits    chan ExecutorExit
	failed   chan string
	finished chan error

	mu        sync.Mutex
	appID     string
	target    *pb.Target
	endpoint  string
	finishing bool
}

// ListenDriver serves the link at listen; advertiseHost is the host the AM dials.
func ListenDriver(ctx context.Context, listen, advertiseHost string, secret []byte, log zerolog.Logger) (*DriverLink, error) {
	lis, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("AM link: listen %s: %w", listen, err)
	}
	l := &DriverLink{
		secret: secret, log: log, srv: grpc.NewServer(),
		addr:     net.JoinHostPort(advertiseHost, strconv.Itoa(lis.Addr().(*net.TCPAddr).Port)),
		out:      make(chan *pb.DriverMessage, 256),
		attached: make(chan struct{}), exits: make(chan ExecutorExit, 256),
		failed: make(chan string, 1), finished: make(chan error, 1),
	}
	pb.RegisterAMLinkServer(l.srv, &linkService{l: l})
	go l.srv.Serve(lis)
	go func() {
		<-ctx.Done()
		l.srv.Stop()
	}()
	return l, nil
}

// Addr is where the AM dials.
func (l *DriverLink) Addr() string { return l.addr }

// Attached waits until the AM has attached.
func (l *DriverLink) Attached(ctx context.Context) error {
	select {
	case <-l.attached:
		return nil
	case reason := <-l.failed:
		return errors.New(reason)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetEndpoint tells the AM where executors dial the driver.
func (l *DriverLink) SetEndpoint(addr string) {
	l.mu.Lock()
	l.endpoint = addr
	l.mu.Unlock()
	l.enqueue(&pb.DriverMessage{Msg: &pb.DriverMessage_Endpoint{Endpoint: &pb.Endpoint{Addr: addr}}})
}

// SetTarget implements the driver's view of the AM.
func (l *DriverLink) SetTarget(n int, hints map[string]int) {
	t := &pb.Target{Executors: int32(n), Hints: map[string]int32{}}
	for h, c := range hints {
		t.Hints[h] = int32(c)
	}
	l.mu.Lock()
	l.target = t
	l.mu.Unlock()
	l.enqueue(&pb.DriverMessage{Msg: &pb.DriverMessage_Target{Target: t}})
}

// ExecutorRegistered implements the driver's view of the AM.
func (l *DriverLink) ExecutorRegistered(id string) {
	l.enqueue(&pb.DriverMessage{Msg: &pb.DriverMessage_Registered{Registered: &pb.ExecutorRegistered{ExecutorId: id}}})
}

// Exits reports executors' containers as the AM sees them end.
func (l *DriverLink) Exits() <-chan ExecutorExit { return l.exits }

// Failed reports the AM failing or going away.
func (l *DriverLink) Failed() <-chan string { return l.failed }

// Finish tells the AM to unregister with status and waits for it to have done so.
func (l *DriverLink) Finish(ctx context.Context, st yarn.FinalStatus, diagnostics string) error {
	l.mu.Lock()
	l.finishing = true
	l.mu.Unlock()
	defer l.srv.Stop()
	l.enqueue(&pb.DriverMessage{Msg: &pb.DriverMessage_Finish{Finish: &pb.Finish{FinalStatus: int32(st), Diagnostics: diagnostics}}})
	select {
	case err := <-l.finished:
		return err
	case <-ctx.Done():
		return fmt.Errorf("ApplicationMaster did not confirm unregistering: %w", ctx.Err())
	}
}

func (l *DriverLink) enqueue(m *pb.DriverMessage) {
	select {
	case l.out <- m:
	default:
		l.log.Warn().Msg("AM link: queue full, message dropped")
	}
}

func (l *DriverLink) fail(reason string) {
	select {
	case l.failed <- reason:
	default:
	}
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
	hello := first.GetHello()
	if hello == nil || !hmac.Equal(hello.Proof, linkProof(l.secret, hello.AppId)) {
		l.log.Warn().Msg("AM link: refused an AM with bad credentials")
		return status.Error(codes.Unauthenticated, "AM link: bad credentials")
	}
	l.mu.Lock()
	l.appID = hello.AppId
	// A new attempt's AM gets the current state first.
	var state []*pb.DriverMessage
	if l.endpoint != "" {
		state = append(state, &pb.DriverMessage{Msg: &pb.DriverMessage_Endpoint{Endpoint: &pb.Endpoint{Addr: l.endpoint}}})
	}
	if l.target != nil {
		state = append(state, &pb.DriverMessage{Msg: &pb.DriverMessage_Target{Target: l.target}})
	}
	l.mu.Unlock()
	for _, m := range state {
		if err := stream.Send(m); err != nil {
			return err
		}
	}
	l.log.Info().Str("app", hello.AppId).Str("tracking", hello.TrackingUrl).Msg("ApplicationMaster attached")
	l.attach.Do(func() { close(l.attached) })
	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			switch m := m.Msg.(type) {
			case *pb.AMMessage_Exited:
				e := m.Exited
				l.exits <- ExecutorExit{ExecutorID: e.ExecutorId, ContainerID: e.ContainerId, Kind: allocator.ExitKind(e.Kind), CountsAsFailure: e.CountsAsFailure, Message: e.Message}
			case *pb.AMMessage_Failed:
				l.fail(m.Failed.Reason)
			case *pb.AMMessage_Finished:
				var err error
				if m.Finished.Error != "" {
					err = errors.New(m.Finished.Error)
				}
				l.finished <- err
			}
		}
	}()
	for {
		select {
		case m := <-l.out:
			if err := stream.Send(m); err != nil {
				return err
			}
		case err := <-recvErr:
			l.mu.Lock()
			finishing := l.finishing
			l.mu.Unlock()
			if !finishing {
				l.fail(fmt.Sprintf("ApplicationMaster disconnected: %v", err))
			}
			return nil
		}
	}
}

// RunClientAM is the thin AM of client mode: it registers, attaches to the driver at
// driverAMAddr, allocates and launches executors as the driver asks, and unregisters
// when the driver finishes (FAILED if the driver goes away first). launcher builds
// executors' launch contexts once the driver has said where they dial it.
func RunClientAM(ctx context.Context, cfg Config, driverAMAddr string, secret []byte,
	launcher func(driverAddr string) (func(yarn.Container, string) (*yarn.LaunchContext, error), error)) error {
	var launch atomic.Pointer[func(yarn.Container, string) (*yarn.LaunchContext, error)]
	cfg.ExecutorLaunch = func(c yarn.Container, id string) (*yarn.LaunchContext, error) {
		f := launch.Load()
		if f == nil {
			return nil, errors.New("the driver has not said where executors dial it")
		}
		return (*f)(c, id)
	}
	m, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	unregister := func(st yarn.FinalStatus, diag string) error {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return m.Finish(fctx, st, diag)
	}
	cc, err := grpc.NewClient(driverAMAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return errors.Join(err, unregister(yarn.Failed, "cannot reach the driver: "+err.Error()))
	}
	defer cc.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := pb.NewAMLinkClient(cc).Attach(sctx)
	if err == nil {
		app := cfg.Env.Attempt.App.String()
		err = stream.Send(&pb.AMMessage{Msg: &pb.AMMessage_Hello{Hello: &pb.Hello{AppId: app, Proof: linkProof(secret, app), TrackingUrl: m.TrackingURL()}}})
	}
	if err != nil {
		return errors.Join(err, unregister(yarn.Failed, "cannot reach the driver at "+driverAMAddr+": "+err.Error()))
	}
	var sendMu sync.Mutex
	send := func(msg *pb.AMMessage) {
		sendMu.Lock()
		defer sendMu.Unlock()
		if err := stream.Send(msg); err != nil {
			cfg.Log.Warn().Err(err).Msg("AM link: send")
		}
	}
	go func() {
		for {
			select {
			case e := <-m.Exits():
				send(&pb.AMMessage{Msg: &pb.AMMessage_Exited{Exited: &pb.ExecutorExited{ExecutorId: e.ExecutorID, ContainerId: e.ContainerID,
					Kind: int32(e.Kind), CountsAsFailure: e.CountsAsFailure, Message: e.Message}}})
			case reason := <-m.Failed():
				send(&pb.AMMessage{Msg: &pb.AMMessage_Failed{Failed: &pb.Failed{Reason: reason}}})
			case <-sctx.Done():
				return
			}
		}
	}()
	for {
		msg, err := stream.Recv()
		if err != nil {
			diag := fmt.Sprintf("driver disconnected: %v", err)
			return errors.Join(errors.New(diag), unregister(yarn.Failed, diag))
		}
		switch msg := msg.Msg.(type) {
		case *pb.DriverMessage_Endpoint:
			f, err := launcher(msg.Endpoint.Addr)
			if err != nil {
				return errors.Join(err, unregister(yarn.Failed, err.Error()))
			}
			launch.Store(&f)
		case *pb.DriverMessage_Target:
			hints := map[string]int{}
			for h, n := range msg.Target.Hints {
				hints[h] = int(n)
			}
			m.SetTarget(int(msg.Target.Executors), hints)
		case *pb.DriverMessage_Registered:
			m.ExecutorRegistered(msg.Registered.ExecutorId)
		case *pb.DriverMessage_Finish:
			ferr := unregister(yarn.FinalStatus(msg.Finish.FinalStatus), msg.Finish.Diagnostics)
			done := &pb.Finished{}
			if ferr != nil {
				done.Error = ferr.Error()
			}
			send(&pb.AMMessage{Msg: &pb.AMMessage_Finished{Finished: done}})
			return ferr
		}
	}
}
