// Package am is the ApplicationMaster: it registers with the ResourceManager, runs
// the allocator's heartbeat loop, starts executors in the containers it gets and
// unregisters with the application's final status. In cluster mode it runs in the
// driver's process; in client mode it is a process of its own that a remote driver
// steers over a link (link.go).
package am

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/am/allocator"
	"github.com/spindle-engine/spindle/yarn"
)

// Config configures an ApplicationMaster.
type Config struct {
	Hadoop    yarn.HadoopConfig
	Env       *yarn.AMEnv
	Allocator allocator.Config
	// ExecutorLaunch builds the launch context of executor executorID in c, and the
	// per-container credential it put in the context's credentials.
	ExecutorLaunch func(c yarn.Container, executorID string) (lc *yarn.LaunchContext, credential []byte, err error)
	// RequireShuffleService: executors need their node's shuffle service
	// (spindle.shuffle.service.enabled); a node whose NodeManager does not report
	// it is excluded, and the executor replaced elsewhere.
	RequireShuffleService bool
	// Launched, when set, hears of each executor whose container started, from the
	// goroutine that started it: the driver admits only launched executors.
	Launched func(Launched)

	RPCPort int32 // reported at registration: the driver's port, or 0
	// Status is the text of the tracking page (job progress); may be nil.
	Status func() string
	// UI, when set, is served on the tracking page's listener in place of the
	// plain status page: the driver's web UI in cluster mode.
	UI http.Handler
	// TrackingURL, when set, is registered as the tracking URL and the AM serves
	// no page of its own: client mode's driver UI, which the ResourceManager's
	// proxy reaches on the submitting machine.
	TrackingURL string
	// FinalTrackingURL, when set, is the tracking URL the AM unregisters with: the
	// application's page on the history server (spindle.yarn.historyServer.address).
	FinalTrackingURL string
	// Progress is the application's progress, 0 to 1, reported to the RM with every
	// heartbeat; may be nil.
	Progress func() float32
	// MaxAttempts is the application's AM attempts (spindle.yarn.maxAppAttempts, else
	// YARN's yarn.resourcemanager.am.max-attempts); 0 reads it from Hadoop.
	MaxAttempts int
	Log         zerolog.Logger
}

// ExecutorExit is an executor's container that ended, classified.
type ExecutorExit struct {
	ExecutorID, ContainerID string
	Kind                    allocator.ExitKind
	CountsAsFailure         bool
	Message                 string
	Status                  int32  // YARN's exit status, e.g. yarn.ExitKilledExceededPMem
	Diagnostics             string // the NodeManager's text, which Message quotes
}

// Master is a registered ApplicationMaster and its allocation loop.
type Master struct {
	cfg      Config
	amrm     rmClient
	nm       nmClient
	alloc    *allocator.Allocator
	tracking string
	web      *http.Server
	serving  sync.WaitGroup // the tracking page's server
	log      zerolog.Logger

	cmds      chan func()
	exits     chan ExecutorExit
	failed    chan error
	cancel    context.CancelFunc
	done      chan struct{}
	once      sync.Once
	closeOnce sync.Once
	closeErr  error

	// Owned by the loop goroutine.
	containers map[string]yarn.Container
	launched   map[string]string // executor → container
	releases   []yarn.ContainerID
	launches   sync.WaitGroup
	nodes      NodeNames // executor → scheduler node name, for the driver's exclusion
}

// rmClient is what the loop needs of the ResourceManager; *yarn.AMRMClient is one.
type rmClient interface {
	Register(ctx context.Context, host string, rpcPort int32, trackingURL string) (*yarn.RegisterResponse, error)
	Allocate(ctx context.Context, r *yarn.AllocateRequest) (*yarn.AllocateResponse, error)
	Finish(ctx context.Context, status yarn.FinalStatus, diagnostics, trackingURL string) error
	Close() error
}

// nmClient starts containers on NodeManagers; *yarn.NMClient is one.
type nmClient interface {
	// StartWithMeta starts a container and returns the NodeManager's auxiliary
	// services' metadata (a shuffle service's port).
	StartWithMeta(ctx context.Context, c yarn.Container, lc *yarn.LaunchContext) (map[string][]byte, error)
	Close() error
}

// nodeLister reports the cluster's NodeManagers and their racks;
// *yarn.ResourceManager is one.
type nodeLister interface {
	Nodes(ctx context.Context) ([]yarn.NodeReport, error)
}

// Start registers with the RM, gives the allocator the racks of the RM's node reports
// and starts the allocation loop; Finish or Close ends it.
func Start(ctx context.Context, cfg Config) (*Master, error) {
	if cfg.Env == nil || cfg.Env.AMRMToken == nil {
		return nil, errors.New("ApplicationMaster: no AMRMToken in the container's credentials")
	}
	amrm, err := yarn.NewAMRMClient(cfg.Hadoop, cfg.Env.AMRMToken)
	if err != nil {
		return nil, err
	}
	// Node reports come from the client protocol, not the AM's: a client of its own,
	// needed only until the allocator knows the racks.
	var nodes nodeLister
	// On a Kerberized cluster the AM has no login of its own: the RM delegation
	// token submit put in its credentials authenticates it.
	if rm, err := yarn.NewResourceManager(cfg.Hadoop, yarn.WithTokens(cfg.Env.Credentials.TokenList())); err != nil {
		cfg.Log.Warn().Err(err).Msg("no ResourceManager client for node reports; racks default to " + yarn.DefaultRack)
	} else {
		defer func() {
			if err := rm.Close(); err != nil {
				cfg.Log.Debug().Err(err).Msg("closing the node reports' ResourceManager client")
			}
		}()
		nodes = rm
	}
	return start(ctx, cfg, amrm, yarn.NewNMClient(amrm), nodes)
}

// start is Start with its clients given; nodes may be nil.
func start(ctx context.Context, cfg Config, amrm rmClient, nm nmClient, nodes nodeLister) (*Master, error) {
	m := &Master{
		cfg: cfg, amrm: amrm, nm: nm, alloc: allocator.New(cfg.Allocator), log: cfg.Log,
		cmds: make(chan func(), 64), exits: make(chan ExecutorExit, 256), failed: make(chan error, 1),
		done: make(chan struct{}), containers: map[string]yarn.Container{}, launched: map[string]string{},
	}
	if err := m.serveTracking(); err != nil {
		return nil, errors.Join(err, nm.Close(), amrm.Close())
	}
	if nodes != nil {
		m.learnRacks(ctx, nodes)
	}
	if _, err := amrm.Register(ctx, cfg.Env.NMHost, cfg.RPCPort, m.tracking); err != nil {
		return nil, errors.Join(err, m.closeClients())
	}
	m.log.Info().Str("attempt", cfg.Env.Attempt.String()).Str("tracking", m.tracking).Msg("ApplicationMaster registered")
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	go m.loop(lctx)
	return m, nil
}

// learnRacks gives the allocator the racks of the cluster's nodes before the first
// heartbeat, so that even the first asks carry hinted hosts' real racks. The job
// runs without them (every node is then in DefaultRack, as on a cluster without
// topology), so a failure is only a warning; allocate responses' updated nodes
// still bring racks later.
func (m *Master) learnRacks(ctx context.Context, nodes nodeLister) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	reports, err := nodes.Nodes(ctx)
	if err != nil {
		m.log.Warn().Err(err).Msg("no node reports from the ResourceManager; racks default to " + yarn.DefaultRack)
		return
	}
	m.alloc.OnNodes(allocatorNodes(reports))
}

func allocatorNodes(reports []yarn.NodeReport) []allocator.Node {
	nodes := make([]allocator.Node, len(reports))
	for i, r := range reports {
		nodes[i] = allocator.Node{Host: r.ID.Host, Rack: r.Rack}
	}
	return nodes
}

// TrackingURL is the AM's tracking page.
func (m *Master) TrackingURL() string { return m.tracking }

// do hands f to the loop goroutine, which runs it between heartbeats. It fails
// with ErrStopped once the loop has ended, or with ctx's error.
func (m *Master) do(ctx context.Context, f func()) error {
	// Checked first: with room in cmds, select could still pick the send.
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-m.done:
		return ErrStopped
	default:
	}
	select {
	case m.cmds <- f:
		return nil
	case <-m.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetTarget sets how many executors the application wants, with pending tasks'
// preferred hosts (host → number of tasks).
func (m *Master) SetTarget(ctx context.Context, n int, hints map[string]int) error {
	return m.do(ctx, func() { m.alloc.SetTarget(n, hints) })
}

// ExecutorRegistered tells the allocator an executor it launched reached the driver.
func (m *Master) ExecutorRegistered(ctx context.Context, executorID string) error {
	return m.do(ctx, func() {
		if c, ok := m.launched[executorID]; ok {
			m.alloc.OnExecutorRegistered(c)
		}
	})
}

// KillExecutors gives back the containers of executors the driver no longer wants
// (dynamic allocation's idle executors), as long as more run than the target: call
// SetTarget with the lowered target first. Released containers are not failures
// and are not replaced.
func (m *Master) KillExecutors(ctx context.Context, executorIDs []string) error {
	return m.do(ctx, func() {
		var containers []string
		for _, id := range executorIDs {
			if c, ok := m.launched[id]; ok {
				containers = append(containers, c)
				delete(m.launched, id)
			}
		}
		m.apply(ctx, m.alloc.ReleaseIdle(containers))
	})
}

// Exits reports executors' containers as they end.
func (m *Master) Exits() <-chan ExecutorExit { return m.exits }

// Failed reports, once, that the application must fail: an *Error of kind
// ErrExecutorFailures, ErrShutdown or ErrAllocate.
func (m *Master) Failed() <-chan error { return m.failed }

// LastAttempt reports whether YARN will not start another attempt after this one.
func (m *Master) LastAttempt() bool {
	maxAttempts := m.cfg.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 2
		if v, ok := m.cfg.Hadoop.Get("yarn.resourcemanager.am.max-attempts"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				maxAttempts = n
			}
		}
	}
	return int(m.cfg.Env.Attempt.Attempt) >= maxAttempts
}

// Finish ends the loop and unregisters with the final status: YARN stops the
// application's containers. A failure to unregister is an *Error of kind
// ErrUnregister.
func (m *Master) Finish(ctx context.Context, status yarn.FinalStatus, diagnostics string) error {
	m.stopLoop()
	var uerr error
	final := m.tracking
	if m.cfg.FinalTrackingURL != "" {
		final = m.cfg.FinalTrackingURL
	}
	if err := m.amrm.Finish(ctx, status, diagnostics, final); err != nil {
		uerr = &Error{Kind: ErrUnregister, Reason: "unregister", Cause: err}
	} else {
		m.log.Info().Str("status", status.String()).Msg("ApplicationMaster unregistered")
	}
	return errors.Join(uerr, m.closeClients())
}

// Close ends the loop without unregistering, so that YARN starts another attempt
// (or, after a kill, has the final state already).
func (m *Master) Close() error {
	m.stopLoop()
	return m.closeClients()
}

func (m *Master) stopLoop() {
	m.once.Do(func() {
		m.cancel()
		<-m.done
		m.launches.Wait()
	})
}

// closeClients stops the tracking page, waiting for its server, and closes the
// RM and NM clients; later calls return the first's result.
func (m *Master) closeClients() error {
	m.closeOnce.Do(func() {
		var werr error
		if m.web != nil {
			werr = m.web.Close()
			m.serving.Wait()
		}
		m.closeErr = errors.Join(werr, m.nm.Close(), m.amrm.Close())
	})
	return m.closeErr
}

// loop is the heartbeat: it sends the allocator's asks, feeds it the RM's answers and
// carries out its actions.
func (m *Master) loop(ctx context.Context) {
	defer close(m.done)
	failures := 0
	// A second between failed allocates, or the idle heartbeat if that is shorter
	// (tests make it so).
	retry := time.Second
	if hb := m.cfg.Allocator.HeartbeatInterval; hb > 0 {
		retry = min(retry, hb)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-m.cmds:
			f()
			continue
		case <-timer.C:
		}
		now := time.Now()
		req := m.alloc.Heartbeat(now)
		ar := &yarn.AllocateRequest{
			Asks:     append(append([]yarn.ResourceRequest(nil), req.Asks...), req.Cancels...),
			Releases: m.releases, BlacklistAdd: req.BlacklistAdd, BlacklistRemove: req.BlacklistRemove,
		}
		if m.cfg.Progress != nil {
			ar.Progress = m.cfg.Progress()
		}
		if len(ar.BlacklistAdd)+len(ar.BlacklistRemove) > 0 {
			m.log.Info().Strs("add", ar.BlacklistAdd).Strs("remove", ar.BlacklistRemove).Msg("node blacklist sent to the ResourceManager")
		}
		resp, err := m.amrm.Allocate(ctx, ar)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, yarn.ErrShutdown):
			m.fail(&Error{Kind: ErrShutdown, Reason: "the ResourceManager ordered the ApplicationMaster to shut down"})
			return
		case err != nil:
			failures++
			m.log.Warn().Err(err).Int("failures", failures).Msg("allocate")
			if failures >= 5 {
				m.fail(&Error{Kind: ErrAllocate, Reason: fmt.Sprintf("allocate failed %d times in a row", failures), Cause: err})
				return
			}
			timer.Reset(retry)
			continue
		}
		failures = 0
		m.releases = nil
		if resp.Resynced {
			m.alloc.OnResync()
		}
		// Before the allocated containers: a container's rack comes from its node.
		if len(resp.UpdatedNodes) > 0 {
			m.alloc.OnNodes(allocatorNodes(resp.UpdatedNodes))
		}
		if len(resp.Allocated) > 0 {
			cs := make([]allocator.Container, len(resp.Allocated))
			for i, c := range resp.Allocated {
				m.containers[c.ID.String()] = c
				cs[i] = allocator.Container{ID: c.ID.String(), NodeHost: c.Node.Host, Node: schedulerNodeName(m.cfg.Hadoop, c.Node), MemoryMB: c.Resource.MemoryMB, Vcores: c.Resource.VCores}
			}
			m.apply(ctx, m.alloc.OnAllocated(now, cs))
		}
		if len(resp.Completed) > 0 {
			cs := make([]allocator.Completed, len(resp.Completed))
			for i, c := range resp.Completed {
				cs[i] = allocator.Completed{ContainerID: c.ID.String(), ExitStatus: c.ExitStatus, Diagnostics: c.Diagnostics}
			}
			m.apply(ctx, m.alloc.OnCompleted(cs))
		}
		timer.Reset(max(0, time.Until(m.alloc.NextHeartbeat(time.Now()))))
	}
}

// fail reports err on Failed. Failed holds one: a later failure while the first
// is unread would only repeat what it caused.
func (m *Master) fail(err error) {
	m.log.Error().Err(err).Msg("application failing")
	select {
	case m.failed <- err:
	default:
	}
}

// apply carries out allocator actions on the loop goroutine.
func (m *Master) apply(ctx context.Context, acts []allocator.Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case allocator.Launch:
			c := m.containers[a.Container.ID]
			m.launched[a.ExecutorID] = a.Container.ID
			m.nodes.Set(a.ExecutorID, schedulerNodeName(m.cfg.Hadoop, c.Node))
			m.launches.Add(1)
			go func() {
				defer m.launches.Done()
				if err := m.launch(ctx, c, a.ExecutorID); err != nil {
					m.log.Warn().Err(err).Str("container", c.ID.String()).Str("node", c.Node.Host).Msg("executor launch failed")
					// ErrStopped here means the loop has ended and nothing is left to release.
					_ = m.do(ctx, func() {
						if errors.Is(err, ErrNoShuffleService) {
							m.apply(ctx, m.alloc.OnServiceDown(c.ID.String(), err.Error()))
							return
						}
						m.apply(ctx, m.alloc.OnLaunchFailed(c.ID.String(), err))
					})
				}
			}()
		case allocator.Release:
			m.log.Info().Str("container", a.ContainerID).Str("reason", a.Reason).Msg("container released")
			if c, ok := m.containers[a.ContainerID]; ok {
				m.releases = append(m.releases, c.ID)
				delete(m.containers, a.ContainerID)
			}
		case allocator.Exit:
			delete(m.containers, a.ContainerID)
			delete(m.launched, a.ExecutorID)
			ev := m.log.Info()
			if a.CountsAsFailure {
				ev = m.log.Warn()
			}
			ev.Str("executor", a.ExecutorID).Str("container", a.ContainerID).Str("kind", a.Kind.String()).Str("message", a.Message).Msg("executor container ended")
			select {
			case m.exits <- ExecutorExit{ExecutorID: a.ExecutorID, ContainerID: a.ContainerID, Kind: a.Kind, CountsAsFailure: a.CountsAsFailure, Message: a.Message, Status: a.Status, Diagnostics: a.Diagnostics}:
			case <-ctx.Done():
			}
		case allocator.Failed:
			m.fail(&Error{Kind: ErrExecutorFailures, Reason: a.Reason})
		}
	}
}

func (m *Master) launch(ctx context.Context, c yarn.Container, executorID string) error {
	lc, cred, err := m.cfg.ExecutorLaunch(c, executorID)
	if err != nil {
		return err
	}
	meta, err := m.nm.StartWithMeta(ctx, c, lc)
	if err != nil {
		return err
	}
	// A node's shuffle service matters only to an application that uses it: one
	// that does not gave the service no secret, and its executors serve their own
	// outputs.
	svc := ""
	if m.cfg.RequireShuffleService {
		svc, err = shuffleService(meta, c.Node.Host)
		switch {
		case err != nil:
			return fmt.Errorf("%w on node %s: %w (see the NodeManager's log)", ErrNoShuffleService, c.Node.Host, err)
		case svc == "":
			return fmt.Errorf("%w on node %s (is the NodeManager's %s auxiliary service configured?)", ErrNoShuffleService, c.Node.Host, ShuffleServiceName)
		}
	}
	m.log.Info().Str("executor", executorID).Str("container", c.ID.String()).Str("node", c.Node.String()).Msg("executor launched")
	if m.cfg.Launched != nil {
		m.cfg.Launched(Launched{ExecutorID: executorID, ContainerID: c.ID.String(), Host: c.Node.Host,
			Node: schedulerNodeName(m.cfg.Hadoop, c.Node), Credential: cred, ShuffleService: svc})
	}
	return nil
}
