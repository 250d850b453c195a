// Package cluster is the driver's side of a YARN application: it starts the
// ApplicationMaster in this process (cluster mode) or submits a thin one and steers
// it over the client link (client mode), serves the executors' endpoint, asks for
// executors where the pending tasks' data is, holds the first job until enough of
// them registered, and ends the application with the program's final status.
package cluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/am"
	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/executor"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/internal/progress"
	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/scheduler"
	"github.com/spindle-engine/spindle/scheduler/scaling"
	"github.com/spindle-engine/spindle/security/kerberos"
	"github.com/spindle-engine/spindle/ui"
	"github.com/spindle-engine/spindle/yarn"
)

// Config configures the driver's side of an application.
type Config struct {
	Conf    *conf.Conf
	Hadoop  *conf.Hadoop
	Log     zerolog.Logger
	Metrics *progress.Metrics // the AM reports its progress and status page from them
	// User is the Hadoop user, who owns the staging directory.
	User string
	// AM is this process's container when it is the ApplicationMaster (cluster mode);
	// nil means this process is a client-mode driver, which submits a thin AM.
	AM *Container
	// Binary is the job binary a client-mode driver submits, and DriverHost the host
	// its executors and AM dial it at.
	Binary, DriverHost string
	// Submitted, when set, hears the application id once a client-mode driver has
	// submitted its AM, before it waits for the AM to attach.
	Submitted func(appID string)
	// Ended, when set, hears a client-mode driver's application's final report,
	// which Close waits for: the driver prints it as `spindle submit` does in
	// cluster mode.
	Ended func(*yarn.AppReport)
	// Kerberos is a client-mode driver's login on a Kerberized cluster: it submits
	// the AM and obtains the application's delegation tokens.
	Kerberos *kerberos.User
	// FS is the driver's filesystems: the AM removes the staging directory through
	// them, with their current tokens. Nil means a FileSystems of its own.
	FS *hdfs.FileSystems
	// Renewer, when set (a keytab login), replaces the application's delegation
	// tokens before they expire, until Close. Each new set goes to OnTokens, into
	// the launch contexts of executors started from then on (cluster mode) and to
	// the running executors.
	Renewer  TokenRenewer
	OnTokens func([]*ipc.Token)
	// UI is the driver's web UI: the AM serves it on its tracking page's listener
	// (cluster mode), or this driver on a listener of its own whose URL the thin
	// AM registers as the tracking URL (client mode, at UIPort or the next 16
	// ports). Nil leaves the AM's plain status page.
	UI     http.Handler
	UIPort int
	// Executors, when set, hears the executors' registrations, heartbeats and
	// removals: the UI's executors page and metrics.
	Executors executor.Observer
}

// appMaster is what the driver needs from the ApplicationMaster: the AM itself in
// cluster mode (*am.Master), or its link to the AM in client mode (*am.DriverLink).
type appMaster interface {
	SetTarget(ctx context.Context, n int, hints map[string]int) error
	ExecutorRegistered(ctx context.Context, executorID string) error
	KillExecutors(ctx context.Context, executorIDs []string) error
	ExcludeNodes(ctx context.Context, nodes map[string]time.Time) error
	Exits() <-chan am.ExecutorExit
	Failed() <-chan error
	Finish(ctx context.Context, status yarn.FinalStatus, diagnostics string) error
}

// Cluster is a running application's driver side. It implements engine.Cluster.
type Cluster struct {
	cfg       Config
	started   time.Time
	appID     string
	slots     int
	instances int
	backend   *executor.Backend
	master    appMaster
	inAM      *am.Master     // cluster mode: the AM runs in this process
	link      *am.DriverLink // client mode
	nodes     am.NodeNames   // client mode: executor → node, from the AM's launch records
	app       *deploy.App    // client mode: the application this driver submitted
	stop      context.CancelFunc
	wg        sync.WaitGroup
	backlog   chan scheduler.Backlog // the newest, for the target loop
	dyn       *dynamic               // dynamic allocation; nil when off
	external  bool                   // map outputs are served by the nodes' shuffle services
	alloc     allocCounts            // the AM's containers, for /metrics
	uiServer  *ui.Server             // client mode's UI listener; nil without one

	mu      sync.Mutex
	failure error // the AM gave up (too many executor failures, say)
	// memoryKill is the last executor YARN killed for memory: a failed
	// application's diagnostics name it, whatever the failure that ended it.
	memoryKill *MemoryKillError
	failed     chan struct{} // closed with failure set
	closed     bool
	// registered counts executors that registered; changed is closed and replaced
	// on each registration.
	registered int
	changed    chan struct{}
	ready      bool // enough executors registered once, or the wait ran out
}

// Start connects the driver to executors in YARN containers. In the AM (cluster
// mode) it starts the allocator in this process; on the submitting machine (client
// mode) it submits a thin AM that allocates on its behalf. ctx bounds the start; the
// application lives until Close.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Hadoop == nil {
		return nil, errors.New("conf spindle.master=yarn: HADOOP_CONF_DIR (or YARN_CONF_DIR) must name the cluster's configuration directory")
	}
	c := cfg.Conf
	instances, cores := c.Int("spindle.executor.instances"), c.Int("spindle.executor.cores")
	if instances < 1 || cores < 1 {
		return nil, fmt.Errorf("conf spindle.executor.instances=%d, spindle.executor.cores=%d: both must be at least 1", instances, cores)
	}
	cl := &Cluster{
		cfg: cfg, started: time.Now(), instances: instances, slots: instances * cores,
		failed: make(chan struct{}), changed: make(chan struct{}), backlog: make(chan scheduler.Backlog, 1),
		external: c.Bool("spindle.shuffle.service.enabled"),
	}
	if sc, ok := scalingConfig(c, cl.external); ok {
		cl.dyn = &dynamic{s: scaling.New(sc)}
		// Input splits and default partitions follow the executors the application
		// starts with, at least two's worth, as Spark's default parallelism does.
		cl.slots = max(cl.dyn.target(), 2) * cores
	}
	// The application outlives Start's context: it ends at Close.
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	cl.stop = stop
	var err error
	if cfg.AM != nil {
		err = cl.startInAM(ctx, lctx)
	} else {
		err = cl.startClient(ctx, lctx)
	}
	if err != nil {
		stop()
		if cl.link != nil {
			err = errors.Join(err, cl.link.Close())
		}
		if cl.uiServer != nil {
			err = errors.Join(err, cl.uiServer.Close())
		}
		return nil, err
	}
	if err := cl.master.SetTarget(ctx, cl.initialTarget(), nil); err != nil {
		return nil, errors.Join(err, cl.Close(err, ""))
	}
	cl.wg.Add(2)
	go func() {
		defer cl.wg.Done()
		cl.watch(lctx)
	}()
	go func() {
		defer cl.wg.Done()
		cl.pushTargets(lctx)
	}()
	cl.startRenewer(lctx)
	return cl, nil
}

// Backend is the scheduler's backend for the executors.
func (cl *Cluster) Backend() scheduler.Backend { return cl.backend }

// AppID is the YARN application's id.
func (cl *Cluster) AppID() string { return cl.appID }

// Slots is the executors' task slots in all.
func (cl *Cluster) Slots() int { return cl.slots }

// ExternalShuffle says map outputs are served by the nodes' shuffle services, so
// that they outlive their executors.
func (cl *Cluster) ExternalShuffle() bool { return cl.external }

// Listener hears the scheduler's task events for dynamic allocation; nil when it
// is off.
func (cl *Cluster) Listener() scheduler.Listener {
	if cl.dyn == nil {
		return nil
	}
	return cl.dyn
}

// backendConfig is the executors' endpoint for this application, bound to bind.
func (cl *Cluster) backendConfig(secret []byte, bind, host string) executor.BackendConfig {
	return executor.BackendConfig{AppID: cl.appID, Secret: secret, Listen: net.JoinHostPort(bind, "0"), AdvertiseHost: host,
		Encrypt: cl.cfg.Conf.Bool("spindle.network.crypto.enabled"), Log: cl.cfg.Log,
		Registered: cl.executorRegistered, Removed: cl.executorRemoved, Observer: cl.cfg.Executors}
}

// bindHost is where the driver's listeners bind: spindle.driver.bindAddress, else
// the host they are reached at, never every interface.
func (cl *Cluster) bindHost(host string) string {
	if b := cl.cfg.Conf.Get("spindle.driver.bindAddress"); b != "" {
		return b
	}
	return host
}

// startInAM is cluster mode: this process is the AM container.
func (cl *Cluster) startInAM(ctx, lctx context.Context) error {
	ct := cl.cfg.AM
	cl.appID = ct.Env.Attempt.App.String()
	var err error
	if cl.backend, err = executor.NewBackend(cl.backendConfig(ct.Secret, cl.bindHost(ct.Env.NMHost), ct.Env.NMHost)); err != nil {
		return err
	}
	backend := cl.backend
	_, port, _ := net.SplitHostPort(cl.backend.Addr())
	rpcPort, _ := strconv.Atoi(port)
	m, err := am.Start(lctx, am.Config{
		Hadoop: cl.cfg.Hadoop, Env: ct.Env, Allocator: AllocatorConfig(cl.cfg.Conf),
		ExecutorLaunch: ct.ExecutorLauncher(cl.backend.Addr()), RPCPort: int32(rpcPort),
		Launched: func(l am.Launched) { cl.alloc.update(func(c *AllocatorCounts) { c.Launched++ }); expect(backend, l) },
		Status:   func() string { return cl.cfg.Metrics.Summary(time.Since(cl.started)).String() }, Progress: cl.cfg.Metrics.Progress, Log: cl.cfg.Log,
		MaxAttempts: MaxAttempts(cl.cfg.Conf), RequireShuffleService: cl.external,
		UI: cl.cfg.UI, FinalTrackingURL: HistoryURL(cl.cfg.Conf, cl.appID, strconv.Itoa(int(ct.Env.Attempt.Attempt))),
	})
	if err != nil {
		return fmt.Errorf("ApplicationMaster: %w", err)
	}
	cl.master, cl.inAM = countedMaster{m, &cl.alloc}, m
	return nil
}

// startClient is client mode: the driver runs here and submits a thin AM.
func (cl *Cluster) startClient(ctx, lctx context.Context) error {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("application secret: %w", err)
	}
	host := cl.cfg.DriverHost
	// The application id names the secret's owner in executors' handshakes; it is only
	// known once the RM grants it, so the driver's endpoints listen first and learn it
	// from the submission.
	// Launch records come over the link once the AM knows the executors' endpoint,
	// so after the backend below exists; the lock orders them after it all the same.
	var (
		backendMu sync.Mutex
		backend   *executor.Backend
	)
	link, err := am.ListenDriver(lctx, am.LinkConfig{
		Listen: net.JoinHostPort(cl.bindHost(host), "0"), AdvertiseHost: host, Secret: secret,
		Encrypt: cl.cfg.Conf.Bool("spindle.network.crypto.enabled"), Log: cl.cfg.Log,
		Launched: cl.linkLaunched(func() *executor.Backend {
			backendMu.Lock()
			defer backendMu.Unlock()
			return backend
		}),
	})
	if err != nil {
		return err
	}
	cl.link = link
	c := cl.cfg.Conf
	if cl.cfg.UI != nil {
		// The UI listens before the submission, so that the thin AM registers its
		// URL as the tracking URL, as Spark's does (spark.driver.appUIAddress); it
		// answers only once the RM proxy's filter knows the application.
		if cl.uiServer, err = ui.Listen(cl.bindHost(host), host, cl.cfg.UIPort, 16); err != nil {
			cl.cfg.Log.Warn().Err(err).Msg("no web UI: the tracking URL is the ApplicationMaster's status page")
		} else {
			c = c.Clone()
			if err := c.Set("spindle.driver.appUIAddress", cl.uiServer.URL()); err != nil {
				return err
			}
		}
	}
	spec := &deploy.Spec{
		Binary: cl.cfg.Binary, Name: c.String("spindle.app.name"), Queue: c.String("spindle.yarn.queue"),
		Conf: c, Hadoop: cl.cfg.Hadoop, Mode: deploy.ModeClient, DriverAMAddr: link.Addr(), Secret: secret,
		User: cl.cfg.User, Kerberos: cl.cfg.Kerberos, Log: cl.cfg.Log,
	}
	app, err := deploy.Submit(ctx, spec)
	if err != nil {
		return err
	}
	cl.appID, cl.app = app.ID.String(), app
	if cl.uiServer != nil {
		cl.uiServer.SetHandler(am.ProxyFilter(cl.cfg.Hadoop, "/proxy/"+cl.appID)(cl.cfg.UI))
	}
	if note := app.AccessNote(); note != "" {
		cl.cfg.Log.Warn().Msg(note)
	}
	if cl.backend, err = executor.NewBackend(cl.backendConfig(secret, cl.bindHost(host), host)); err != nil {
		return err
	}
	backendMu.Lock()
	backend = cl.backend
	backendMu.Unlock()
	link.SetEndpoint(cl.backend.Addr())
	if cl.cfg.Submitted != nil {
		cl.cfg.Submitted(cl.appID)
	}
	if err := link.Attached(ctx); err != nil {
		return fmt.Errorf("%s: ApplicationMaster did not attach: %w", cl.appID, err)
	}
	cl.master = countedMaster{link, &cl.alloc}
	return nil
}

// executorRegistered tells the AM about an executor that reached the driver, and
// wakes the first job's wait.
func (cl *Cluster) executorRegistered(ctx context.Context, id string) {
	if err := cl.master.ExecutorRegistered(ctx, id); err != nil {
		cl.cfg.Log.Warn().Err(err).Str("executor", id).Msg("the ApplicationMaster did not hear of a registered executor")
	}
	if cl.dyn != nil {
		cl.dyn.added(id)
	}
	cl.mu.Lock()
	cl.registered++
	close(cl.changed)
	cl.changed = make(chan struct{})
	cl.mu.Unlock()
}

// executorRemoved forgets an executor that went away, released or lost.
func (cl *Cluster) executorRemoved(id string) {
	if cl.dyn != nil {
		cl.dyn.removed(id)
	}
}

// Backlog takes the scheduler's backlog: the AM asks for the executors still to
// come where the pending tasks' data is, and dynamic allocation scales by it. It
// never blocks: the newest backlog replaces any the target loop has not taken yet.
func (cl *Cluster) Backlog(b scheduler.Backlog) {
	for {
		select {
		case cl.backlog <- b:
			return
		default:
		}
		select {
		case <-cl.backlog:
		default:
		}
	}
}

// watch turns the AM's reports into the driver's events until ctx ends.
func (cl *Cluster) watch(ctx context.Context) {
	for {
		select {
		case e := <-cl.master.Exits():
			cl.alloc.exited(e)
			st, known := cl.backend.ExecutorState(e.ExecutorID)
			if k := memoryKill(e, st, known, cl.cfg.Conf); k != nil {
				cl.cfg.Log.Error().Str("executor", e.ExecutorID).Str("container", e.ContainerID).Msg(k.Error())
				cl.mu.Lock()
				cl.memoryKill = k
				cl.mu.Unlock()
				cl.backend.RemoveExecutor(e.ExecutorID, k)
				continue
			}
			cl.backend.RemoveExecutor(e.ExecutorID, fmt.Errorf("container %s: %s", e.ContainerID, e.Message))
		case err := <-cl.master.Failed():
			cl.mu.Lock()
			if cl.failure == nil {
				cl.failure = fmt.Errorf("ApplicationMaster: %w", err)
				close(cl.failed)
			}
			cl.mu.Unlock()
			cl.cfg.Log.Error().Err(err).Msg("application failed")
			return
		case <-ctx.Done():
			return
		}
	}
}

// JobStarting holds the first job until enough executors registered, as Spark's
// YARN backend does (a job started on the first executor alone would run there),
// and returns a context that ends when the application fails.
func (cl *Cluster) JobStarting(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if err := cl.awaitExecutors(ctx); err != nil {
		return nil, nil, err
	}
	jctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-cl.failed:
			cancel(cl.failureErr())
		case <-done:
		}
	}()
	return jctx, func() { close(done); wg.Wait(); cancel(nil) }, nil
}

func (cl *Cluster) failureErr() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.failure
}

func (cl *Cluster) awaitExecutors(ctx context.Context) error {
	c := cl.cfg.Conf
	want := int(math.Ceil(c.Float("spindle.scheduler.minRegisteredResourcesRatio") * float64(cl.initialTarget())))
	timeout := time.NewTimer(c.Duration("spindle.scheduler.maxRegisteredResourcesWaitingTime"))
	defer timeout.Stop()
	for {
		cl.mu.Lock()
		if cl.ready || cl.registered >= want {
			cl.ready = true
			cl.mu.Unlock()
			return nil
		}
		changed := cl.changed
		cl.mu.Unlock()
		select {
		case <-changed:
		case <-timeout.C:
			cl.mu.Lock()
			cl.ready = true
			n := cl.registered
			cl.mu.Unlock()
			// As Spark warns: with no executor the job waits for the cluster.
			cl.cfg.Log.Warn().Int("registered", n).Int("wanted", want).
				Msg("starting with fewer executors than spindle.scheduler.minRegisteredResourcesRatio asks; if none come, check that the cluster has room for the executors' containers")
			return nil
		case <-cl.failed:
			return cl.failureErr()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// retriable reports whether another AM attempt could mend outcome: only when the
// AM lost the ResourceManager (ErrAllocate). What the job did — bad input, missing
// files, bad arguments, user code failing all its task attempts, executors that
// keep dying — would fail the same way again, so it ends the application FAILED
// on this attempt, as InputError's documentation promises. An AM process that
// dies never gets here: YARN retries it by itself.
func retriable(outcome error) bool { return errors.Is(outcome, am.ErrAllocate) }

// Close ends the application: it unregisters with the final status (or, when the
// AM itself failed and YARN has attempts left, leaves without unregistering so
// that YARN starts the next), and removes the staging files.
func (cl *Cluster) Close(outcome error, summary string) error {
	cl.mu.Lock()
	if cl.closed {
		cl.mu.Unlock()
		return nil
	}
	cl.closed = true
	if outcome == nil {
		outcome = cl.failure
	}
	mk := cl.memoryKill
	cl.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A successful application's diagnostics hold the job summary, where `spindle
	// status` and `yarn application -status` show it.
	status, diag := yarn.Succeeded, summary
	switch {
	case errors.Is(outcome, context.Canceled):
		status, diag = yarn.Killed, "the driver was interrupted"
	case outcome != nil:
		status, diag = yarn.Failed, outcome.Error()
		if mk != nil && !strings.Contains(diag, mk.Error()) {
			diag += "\nlast memory kill: " + mk.Error()
		}
	}
	var err error
	switch {
	case cl.inAM != nil && errors.Is(outcome, context.Canceled):
		// YARN stopped this container (the application was killed): the RM has its
		// final state already.
		err = cl.inAM.Close()
	case cl.inAM != nil && retriable(outcome) && !cl.inAM.LastAttempt():
		// The AM itself failed: leaving without unregistering makes YARN start
		// the next attempt.
		err = cl.inAM.Close()
	default:
		err = cl.master.Finish(ctx, status, diag)
		if cl.inAM != nil && cl.cfg.AM.StagingDir != "" && !cl.cfg.Conf.Bool("spindle.yarn.preserveStagingFiles") {
			// The AM removes the staging dir, as Spark's does on its last attempt: the
			// CLI may not be waiting.
			err = errors.Join(err, cl.removeStaging(ctx))
		}
	}
	cl.stop()
	cl.wg.Wait()
	if cl.link != nil {
		err = errors.Join(err, cl.link.Close())
	}
	if cl.uiServer != nil {
		err = errors.Join(err, cl.uiServer.Close())
	}
	if cl.app != nil {
		r, werr := cl.app.Wait(ctx, 200*time.Millisecond, nil)
		if werr != nil {
			err = errors.Join(err, werr)
		} else if cl.cfg.Ended != nil {
			cl.cfg.Ended(r)
		}
		err = errors.Join(err, cl.app.Cleanup(ctx))
	}
	return err
}
