package spindle

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/am"
	"github.com/spindle-engine/spindle/am/allocator"
	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/executor"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/scheduler"
	"github.com/spindle-engine/spindle/yarn"
)

// clusterOpts configure a session whose executors run in YARN containers.
type clusterOpts struct{}

// appMaster is what the driver needs from the ApplicationMaster: the AM itself in
// cluster mode (am.Master), or its link to the AM in client mode (am.DriverLink).
type appMaster interface {
	SetTarget(ctx context.Context, n int, hints map[string]int) error
	ExecutorRegistered(ctx context.Context, executorID string) error
	Exits() <-chan am.ExecutorExit
	Failed() <-chan error
	Finish(ctx context.Context, status yarn.FinalStatus, diagnostics string) error
}

// clusterState is a YARN session's link to its ApplicationMaster and executors.
type clusterState struct {
	backend *executor.Backend
	master  appMaster
	inAM    *am.Master  // cluster mode: the AM runs in this process
	app     *deploy.App // client mode: the application this driver submitted
	staging string      // cluster mode: the staging dir, removed when the app ends
	fsOpts  func() hdfs.Options
	stop    context.CancelFunc
	wg      sync.WaitGroup

	mu      sync.Mutex
	failure error         // the AM gave up (too many executor failures)
	failed  chan struct{} // closed with failure set
	outcome error         // the program's result, for the final status
	closed  bool
	// registered counts executors that registered; changed is closed and replaced
	// on each registration.
	registered int
	changed    chan struct{}
	ready      bool // enough executors registered once, or the wait ran out
	// preserve keeps the staging files (spindle.yarn.preserveStagingFiles).
	preserve bool
}

// removeStaging removes the staging dir from the AM, as Spark's AM does on its last
// attempt: the CLI may not be waiting.
func (cs *clusterState) removeStaging(ctx context.Context) error {
	return deploy.RemoveStagingURL(ctx, cs.staging, cs.fsOpts().User)
}

// startCluster connects the session to executors in YARN containers: in the AM
// (cluster mode) it starts the allocator in this process; on the submitting machine
// (client mode) it submits a thin AM that allocates on its behalf.
func (s *Session) startCluster(ctx context.Context, _ clusterOpts) (scheduler.Backend, error) {
	if s.hadoop == nil {
		return nil, errors.New("conf spindle.master=yarn: HADOOP_CONF_DIR (or YARN_CONF_DIR) must name the cluster's configuration directory")
	}
	c := s.conf
	instances, cores := c.Int("spindle.executor.instances"), c.Int("spindle.executor.cores")
	if instances < 1 || cores < 1 {
		return nil, fmt.Errorf("conf spindle.executor.instances=%d, spindle.executor.cores=%d: both must be at least 1", instances, cores)
	}
	// Input splits and default partition counts follow the executors' slots.
	s.nslots = instances * cores
	cs := &clusterState{failed: make(chan struct{}), changed: make(chan struct{})}
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	cs.stop = stop
	var err error
	if os.Getenv(EnvRole) == roleAM {
		err = s.startInAM(lctx, cs)
	} else {
		err = s.startClient(lctx, cs)
	}
	if err != nil {
		stop()
		return nil, err
	}
	s.cluster = cs
	cs.fsOpts = s.fsOptions
	cs.preserve = c.Bool("spindle.yarn.preserveStagingFiles")
	if err := cs.master.SetTarget(ctx, instances, nil); err != nil {
		return nil, err
	}
	cs.wg.Add(1)
	go func() {
		defer cs.wg.Done()
		cs.watch(lctx, s)
	}()
	return &tapBackend{Backend: cs.backend, registered: func(id string) {
		if err := cs.master.ExecutorRegistered(lctx, id); err != nil {
			s.log.Warn().Err(err).Str("executor", id).Msg("the ApplicationMaster did not hear of a registered executor")
		}
		cs.mu.Lock()
		cs.registered++
		close(cs.changed)
		cs.changed = make(chan struct{})
		cs.mu.Unlock()
	}}, nil
}

// startInAM is cluster mode: this process is the AM container.
func (s *Session) startInAM(ctx context.Context, cs *clusterState) error {
	env, secret, err := containerIdentity()
	if err != nil {
		return err
	}
	s.app = env.Attempt.App.String()
	cs.backend, err = executor.NewBackend(executor.BackendConfig{AppID: s.app, Secret: secret, Listen: ":0", AdvertiseHost: env.NMHost, Log: s.log})
	if err != nil {
		return err
	}
	launch, err := executorLauncher(env, s.app, cs.backend.Addr(), secret)
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(cs.backend.Addr())
	rpcPort, _ := strconv.Atoi(port)
	m, err := am.Start(ctx, am.Config{
		Hadoop: s.hadoop, Env: env, Allocator: allocatorConfig(s.conf),
		ExecutorLaunch: launch, RPCPort: int32(rpcPort),
		Status: func() string { return s.Summary().String() }, Progress: s.metrics.progress, Log: s.log,
		MaxAttempts: maxAttempts(s.conf),
	})
	if err != nil {
		return fmt.Errorf("ApplicationMaster: %w", err)
	}
	cs.master, cs.inAM = m, m
	cs.staging = os.Getenv(deploy.EnvStagingDir)
	return nil
}

// maxAttempts is spindle.yarn.maxAppAttempts, or 0 for YARN's maximum.
func maxAttempts(c *conf.Conf) int {
	if c.Get("spindle.yarn.maxAppAttempts") == "" {
		return 0
	}
	return c.Int("spindle.yarn.maxAppAttempts")
}

// startClient is client mode: the driver runs here and submits a thin AM.
func (s *Session) startClient(ctx context.Context, cs *clusterState) error {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("application secret: %w", err)
	}
	host := driverHost()
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("job binary: %w", err)
	}
	// The application id names the secret's owner in executors' handshakes; it is only
	// known once the RM grants it, so the driver's endpoints listen first and learn it
	// from the submission.
	link, err := am.ListenDriver(ctx, ":0", host, secret, s.log)
	if err != nil {
		return err
	}
	spec := &deploy.Spec{
		Binary: bin, Name: s.conf.String("spindle.app.name"), Queue: s.conf.String("spindle.yarn.queue"),
		Conf: s.conf, Hadoop: s.hadoop, Mode: "client", DriverAMAddr: link.Addr(), Secret: secret, Log: s.log,
	}
	app, err := deploy.Submit(ctx, spec)
	if err != nil {
		return err
	}
	s.app = app.ID.String()
	cs.app = app
	if cs.backend, err = executor.NewBackend(executor.BackendConfig{AppID: s.app, Secret: secret, Listen: ":0", AdvertiseHost: host, Log: s.log}); err != nil {
		return err
	}
	link.SetEndpoint(cs.backend.Addr())
	fmt.Fprintf(os.Stderr, "spindle: submitted %s; waiting for its ApplicationMaster\n", s.app)
	if err := link.Attached(ctx); err != nil {
		return fmt.Errorf("%s: ApplicationMaster did not attach: %w", s.app, err)
	}
	cs.master = link
	return nil
}

// driverHost is the host executors dial the driver at: spindle.driver.host's value
// from the environment when set, else this machine's name.
func driverHost() string {
	if h := os.Getenv("SPINDLE_DRIVER_HOST"); h != "" {
		return h
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "localhost"
}

// allocatorConfig sizes executor containers as deploy checked them before submit:
// memory plus overhead, and the executors' cores.
func allocatorConfig(c *conf.Conf) allocator.Config {
	maxFailures := max(2*c.Int("spindle.executor.instances"), 3)
	if c.Get("spindle.executor.maxNumFailures") != "" {
		maxFailures = c.Int("spindle.executor.maxNumFailures")
	}
	return allocator.Config{
		ExecutorMemoryMB:    deploy.ContainerMemoryMB(c.Size("spindle.executor.memory"), c.Get("spindle.executor.memoryOverhead")),
		ExecutorVcores:      int32(c.Int("spindle.executor.cores")),
		MaxExecutorFailures: maxFailures,
		InitialInterval:     c.Duration("spindle.yarn.scheduler.initial-allocation.interval"),
		HeartbeatInterval:   c.Duration("spindle.yarn.scheduler.heartbeat.interval"),
	}
}

// watch turns the AM's reports into the driver's events until ctx ends.
func (cs *clusterState) watch(ctx context.Context, s *Session) {
	for {
		select {
		case e := <-cs.master.Exits():
			cs.backend.RemoveExecutor(e.ExecutorID, fmt.Errorf("container %s: %s", e.ContainerID, e.Message))
		case err := <-cs.master.Failed():
			cs.mu.Lock()
			if cs.failure == nil {
				cs.failure = fmt.Errorf("ApplicationMaster: %w", err)
				close(cs.failed)
			}
			cs.mu.Unlock()
			s.log.Error().Err(err).Msg("application failed")
			return
		case <-ctx.Done():
			return
		}
	}
}

// awaitExecutors holds the first job until enough executors registered, as Spark's
// YARN backend does: a job started on the first executor alone would run there.
func (cs *clusterState) awaitExecutors(ctx context.Context, c *conf.Conf, log zerolog.Logger) error {
	want := int(math.Ceil(c.Float("spindle.scheduler.minRegisteredResourcesRatio") * float64(c.Int("spindle.executor.instances"))))
	timeout := time.NewTimer(c.Duration("spindle.scheduler.maxRegisteredResourcesWaitingTime"))
	defer timeout.Stop()
	for {
		cs.mu.Lock()
		if cs.ready || cs.registered >= want {
			cs.ready = true
			cs.mu.Unlock()
			return nil
		}
		changed := cs.changed
		cs.mu.Unlock()
		select {
		case <-changed:
		case <-timeout.C:
			cs.mu.Lock()
			cs.ready = true
			n := cs.registered
			cs.mu.Unlock()
			// As Spark warns: with no executor the job waits for the cluster.
			log.Warn().Int("registered", n).Int("wanted", want).
				Msg("starting with fewer executors than spindle.scheduler.minRegisteredResourcesRatio asks; if none come, check that the cluster has room for the executors' containers")
			return nil
		case <-cs.failed:
			return cs.failure
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// jobContext ends a job's context when the application fails.
func (cs *clusterState) jobContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-cs.failed:
			cancel(cs.failure)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// close ends the application: unregisters with the final status (or, for a failed
// attempt that YARN will retry, leaves without unregistering), and removes the
// staging files in client mode.
func (cs *clusterState) close(summary string) error {
	cs.mu.Lock()
	if cs.closed {
		cs.mu.Unlock()
		return nil
	}
	cs.closed = true
	outcome := cs.outcome
	if outcome == nil {
		outcome = cs.failure
	}
	cs.mu.Unlock()
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
	}
	var err error
	switch {
	case cs.inAM != nil && errors.Is(outcome, context.Canceled):
		// YARN stopped this container (the application was killed): the RM has its
		// final state already.
		err = cs.inAM.Close()
	case cs.inAM != nil && outcome != nil && !cs.inAM.LastAttempt():
		err = cs.inAM.Close()
	default:
		err = cs.master.Finish(ctx, status, diag)
		if cs.inAM != nil && cs.staging != "" && !cs.preserve {
			err = errors.Join(err, cs.removeStaging(ctx))
		}
	}
	cs.stop()
	cs.wg.Wait()
	if cs.app != nil {
		if _, werr := cs.app.Wait(ctx, 200*time.Millisecond, nil); werr != nil {
			err = errors.Join(err, werr)
		}
		err = errors.Join(err, cs.app.Cleanup(ctx))
	}
	return err
}

// tapBackend tells the AM about executors as they register.
type tapBackend struct {
	scheduler.Backend
	registered func(executorID string)
}

func (b *tapBackend) Start(ctx context.Context, events chan<- scheduler.BackendEvent) error {
	in := make(chan scheduler.BackendEvent, 64)
	if err := b.Backend.Start(ctx, in); err != nil {
		return err
	}
	go func() {
		for {
			select {
			case ev := <-in:
				if a, ok := ev.(scheduler.ExecutorAdded); ok {
					b.registered(a.Executor.ID)
				}
				select {
				case events <- ev:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return nil
}

// executorLauncher builds executors' launch contexts in the AM: the AM's own files
// and configuration, the driver's address, and credentials holding the secret (and
// the AM's delegation tokens, but not its AMRMToken).
func executorLauncher(env *yarn.AMEnv, appID, driverAddr string, secret []byte) (func(yarn.Container, string) (*yarn.LaunchContext, error), error) {
	var resources map[string]yarn.LocalResource
	if err := json.Unmarshal([]byte(os.Getenv(deploy.EnvResources)), &resources); err != nil {
		return nil, fmt.Errorf("%s: %w", deploy.EnvResources, err)
	}
	creds := yarn.NewCredentials()
	for alias, t := range env.Credentials.Tokens {
		if t != env.AMRMToken {
			creds.Tokens[alias] = t
		}
	}
	creds.Secrets[deploy.SecretAlias] = secret
	tokens := creds.Bytes()
	base := map[string]string{
		EnvRole:       roleExecutor,
		EnvConf:       os.Getenv(EnvConf),
		envAppID:      appID,
		envDriverAddr: driverAddr,
	}
	// The configuration archive unpacks in each container's own directory.
	base["HADOOP_CONF_DIR"] = deploy.ConfResource
	for _, k := range []string{"HADOOP_USER_NAME", EnvLogLevel} {
		if v := os.Getenv(k); v != "" {
			base[k] = v
		}
	}
	return func(_ yarn.Container, id string) (*yarn.LaunchContext, error) {
		e := make(map[string]string, len(base)+1)
		for k, v := range base {
			e[k] = v
		}
		e[envExecutorID] = id
		return &yarn.LaunchContext{
			LocalResources: resources, Env: deploy.EscapeEnv(e), Tokens: tokens,
			Commands: []string{"{{PWD}}/" + deploy.JobResource + " 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"},
		}, nil
	}, nil
}
