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
	driverAMAddr := driver.Addr
	var launch atomic.Pointer[LaunchFunc]
	cfg.ExecutorLaunch = func(c yarn.Container, id string) (*yarn.LaunchContext, []byte, error) {
		f := launch.Load()
		if f == nil {
			return nil, nil, errors.New("the driver has not said where executors dial it")
		}
		return (*f)(c, id)
	}
	// Launch records go to the driver over the link, which is up before the driver
	// names its endpoint, and so before any launch.
	var report atomic.Pointer[func(*pb.AMMessage)]
	cfg.Launched = func(l Launched) {
		if send := report.Load(); send != nil {
			(*send)(&pb.AMMessage{Msg: &pb.AMMessage_Launched{Launched: &pb.ExecutorLaunched{
				ExecutorId: l.ExecutorID, ContainerId: l.ContainerID, Host: l.Host,
				Credential: l.Credential, ShuffleService: l.ShuffleService,
			}}})
		}
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
	report.Store(&send)
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
			launch.Store(&f)
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
