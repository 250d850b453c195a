package am

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/spindle-engine/spindle/am/pb"
	"github.com/spindle-engine/spindle/security/handshake"
	"github.com/spindle-engine/spindle/yarn"
)

// RunClientAM is the thin AM of client mode: it registers, attaches to the driver at
// driver.Addr, allocates and launches executors as the driver asks, and unregisters
// when the driver finishes (FAILED if the driver goes away first). launcher builds
// executors' launch contexts once the driver has said where they dial it.
func RunClientAM(ctx context.Context, cfg Config, driver ClientLink, launcher func(driverAddr string) (LaunchFunc, error)) error {
	c := newClientAM(cfg)
	m, err := Start(ctx, c.cfg)
	if err != nil {
		return err
	}
	return c.serve(ctx, m, driver, launcher)
}

// clientAM is the thin AM's state beside its Master: what the link has said so far.
type clientAM struct {
	cfg Config // with the launch hooks below
	// launch is the executors' launcher once the driver named its endpoint.
	launch atomic.Pointer[LaunchFunc]
	// report sends to the driver once the link is up, which is before the driver
	// names its endpoint, and so before any launch.
	report atomic.Pointer[func(*pb.AMMessage)]
}

// newClientAM hooks cfg's executor launches to the link: they wait for the
// driver's endpoint, and their records go to the driver.
func newClientAM(cfg Config) *clientAM {
	c := &clientAM{}
	cfg.ExecutorLaunch = func(ct yarn.Container, id string) (*yarn.LaunchContext, []byte, error) {
		f := c.launch.Load()
		if f == nil {
			return nil, nil, errors.New("the driver has not said where executors dial it")
		}
		return (*f)(ct, id)
	}
	cfg.Launched = func(l Launched) {
		if send := c.report.Load(); send != nil {
			(*send)(&pb.AMMessage{Msg: &pb.AMMessage_Launched{Launched: &pb.ExecutorLaunched{
				ExecutorId: l.ExecutorID, ContainerId: l.ContainerID, Host: l.Host, Node: l.Node,
				Credential: l.Credential, ShuffleService: l.ShuffleService,
			}}})
		}
	}
	c.cfg = cfg
	return c
}

// serve attaches m, started with c.cfg, to the driver and does as it says until it
// finishes or goes away; m has unregistered when serve returns.
func (c *clientAM) serve(ctx context.Context, m *Master, driver ClientLink, launcher func(driverAddr string) (LaunchFunc, error)) error {
	cfg := c.cfg
	driverAMAddr := driver.Addr
	unregister := func(st yarn.FinalStatus, diag string) error {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return m.Finish(fctx, st, diag)
	}
	creds := handshake.NewClientCredentials(cfg.Env.Attempt.App.String(), handshake.PurposeAMLink, driver.Secret, driver.Encrypt)
	cc, err := grpc.NewClient(driverAMAddr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return errors.Join(err, unregister(yarn.Failed, "cannot reach the driver: "+err.Error()))
	}
	defer cc.Close()
	sctx, cancel := context.WithCancel(ctx)
	var forwarding sync.WaitGroup
	// Runs before cc.Close: ending sctx ends the stream, which unblocks the forwarder.
	defer func() {
		cancel()
		forwarding.Wait()
	}()
	stream, err := pb.NewAMLinkClient(cc).Attach(sctx)
	if err == nil {
		app := cfg.Env.Attempt.App.String()
		err = stream.Send(&pb.AMMessage{Msg: &pb.AMMessage_Hello{Hello: &pb.Hello{AppId: app, TrackingUrl: m.TrackingURL()}}})
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
	c.report.Store(&send)
	forwarding.Add(1)
	go func() {
		defer forwarding.Done()
		forward(sctx, m, send)
	}()
	for {
		msg, err := stream.Recv()
		if err != nil {
			derr := &Error{Kind: ErrDisconnected, Reason: "driver disconnected", Cause: err}
			return errors.Join(derr, unregister(yarn.Failed, derr.Error()))
		}
		switch msg := msg.Msg.(type) {
		case *pb.DriverMessage_Endpoint:
			f, err := launcher(msg.Endpoint.Addr)
			if err != nil {
				return errors.Join(err, unregister(yarn.Failed, err.Error()))
			}
			c.launch.Store(&f)
		case *pb.DriverMessage_Target:
			hints := map[string]int{}
			for h, n := range msg.Target.Hints {
				hints[h] = int(n)
			}
			if err := m.SetTarget(sctx, int(msg.Target.Executors), hints); err != nil {
				// The loop has failed and said so on Failed, which reaches the driver.
				cfg.Log.Debug().Err(err).Msg("AM link: target after the loop ended")
			}
		case *pb.DriverMessage_Registered:
			if err := m.ExecutorRegistered(sctx, msg.Registered.ExecutorId); err != nil {
				cfg.Log.Debug().Err(err).Msg("AM link: registration after the loop ended")
			}
		case *pb.DriverMessage_Excluded:
			// Master.ExcludeNodes logs the set; its next allocate, the blacklist.
			if err := m.ExcludeNodes(sctx, excludedNodes(msg.Excluded)); err != nil {
				cfg.Log.Debug().Err(err).Msg("AM link: excluded nodes after the loop ended")
			}
		case *pb.DriverMessage_Kill:
			if err := m.KillExecutors(sctx, msg.Kill.ExecutorIds); err != nil {
				cfg.Log.Debug().Err(err).Msg("AM link: release after the loop ended")
			}
		case *pb.DriverMessage_Finish:
			ferr := unregister(yarn.FinalStatus(msg.Finish.FinalStatus), msg.Finish.Diagnostics)
			done := &pb.Finished{}
			if ferr != nil {
				done.Error, done.Kind = strings.ToValidUTF8(ferr.Error(), "\uFFFD"), kindOf(ferr)
			}
			send(&pb.AMMessage{Msg: &pb.AMMessage_Finished{Finished: done}})
			sendMu.Lock()
			if err := stream.CloseSend(); err != nil {
				cfg.Log.Debug().Err(err).Msg("AM link: close")
			}
			sendMu.Unlock()
			return ferr
		}
	}
}

// forward reports the Master's executor exits and failure to the driver until
// ctx ends. Texts from YARN are made UTF-8, which a proto string must be, or the
// message would not be sent at all.
func forward(ctx context.Context, m *Master, send func(*pb.AMMessage)) {
	for {
		select {
		case e := <-m.Exits():
			send(&pb.AMMessage{Msg: &pb.AMMessage_Exited{Exited: &pb.ExecutorExited{ExecutorId: e.ExecutorID, ContainerId: e.ContainerID,
				Kind: int32(e.Kind), CountsAsFailure: e.CountsAsFailure, Message: strings.ToValidUTF8(e.Message, "\uFFFD"), ExitStatus: e.Status, Diagnostics: strings.ToValidUTF8(e.Diagnostics, "\uFFFD")}}})
		case err := <-m.Failed():
			send(&pb.AMMessage{Msg: &pb.AMMessage_Failed{Failed: &pb.Failed{Reason: strings.ToValidUTF8(err.Error(), "\uFFFD"), Kind: kindOf(err)}}})
		case <-ctx.Done():
			return
		}
	}
}
