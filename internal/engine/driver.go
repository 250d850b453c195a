package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/internal/progress"
	"github.com/spindle-engine/spindle/scheduler"
)

// Cluster is what the driver needs from the cluster its executors run on, when they
// run on one (YARN); nil in local mode.
type Cluster interface {
	// JobStarting holds a job until the cluster can run it (enough executors
	// registered) and returns the job's context, which ends when the application
	// fails; cancel releases it.
	JobStarting(ctx context.Context) (jctx context.Context, cancel context.CancelFunc, err error)
	// Close ends the application with the program's outcome: nil for success.
	Close(outcome error, summary string) error
}

// DriverConfig configures a Driver.
type DriverConfig struct {
	Conf *conf.Conf
	Log  zerolog.Logger
	// FS resolves paths; the Driver owns it and closes it (if it is an io.Closer).
	FS    Filesystems
	AppID string
	// AppAttempt is the ApplicationMaster attempt this driver runs in, from 1; 0
	// outside an AM (local and client mode).
	AppAttempt int
	// Slots is how many tasks run at once: input splits and default partition counts
	// follow it.
	Slots int
	// Metrics listens to the scheduler and makes the summary; required.
	Metrics *progress.Metrics
	// Backend runs tasks on remote executors. Nil means in-process slots running
	// Runner, or the Driver's own stages when Runner is nil, in Env.
	Backend scheduler.Backend
	Runner  scheduler.Runner
	// Env is the in-process executor's environment; the Driver removes its
	// directories at Close.
	Env *Env
	// Ship makes every stage carry its payload, for executors that rebuild plans.
	Ship bool
	// Cluster is the executors' cluster on YARN; nil in local mode.
	Cluster Cluster
	// Backlog receives what waits on the scheduler (see scheduler.Options.Backlog).
	Backlog func(scheduler.Backlog)
	// Listener hears the scheduler's events besides Metrics, e.g. dynamic
	// allocation's; may be nil.
	Listener scheduler.Listener
	// ExternalShuffle says map outputs are served by a shuffle service that outlives
	// executors.
	ExternalShuffle bool
	// Ending, when set, runs at Close with the program's outcome once the scheduler
	// has stopped, before the application ends on YARN: the event log records the
	// application's end there, so that it is complete when YARN's tracking URL
	// turns to the history server.
	Ending func(outcome error) error
}

// Driver runs a session's jobs: it compiles plans into stages and hands them to the
// scheduler, and keeps what outlives one job (shuffle outputs, cached partitions).
type Driver struct {
	g       *Graph
	cfg     DriverConfig
	sched   *scheduler.Driver
	started time.Time

	jobMu sync.Mutex // one job at a time

	mu        sync.Mutex
	nextStage int
	nextJob   int
	stages    map[int]*stagePlan
	outcome   error
	closed    bool
}

// NewDriver starts a driver; ctx bounds what builders outside a job's build read
// (listing inputs). The caller must Close it.
func NewDriver(ctx context.Context, cfg DriverConfig) (*Driver, error) {
	if cfg.Metrics == nil {
		return nil, errors.New("engine: a driver needs metrics")
	}
	d := &Driver{g: newGraph(ctx, cfg.Conf, cfg.FS, cfg.Slots, cfg.Log), cfg: cfg, started: time.Now(), stages: map[int]*stagePlan{}}
	backend := cfg.Backend
	if backend == nil {
		if cfg.Env == nil {
			return nil, errors.New("engine: a local driver needs an executor environment")
		}
		runner := cfg.Runner
		if runner == nil {
			runner = driverRunner{d}
		}
		backend = scheduler.NewLocalBackend(cfg.Slots, runner)
	}
	listener := scheduler.Tee(cfg.Metrics, recoveryLog{cfg.Log})
	if cfg.Listener != nil {
		listener = scheduler.Tee(cfg.Metrics, cfg.Listener, recoveryLog{cfg.Log})
	}
	opts := scheduler.Options{
		MaxFailures:      cfg.Conf.Int("spindle.task.maxFailures"),
		LocalityWait:     cfg.Conf.Duration("spindle.locality.wait"),
		Backlog:          cfg.Backlog,
		ExternalShuffle:  cfg.ExternalShuffle,
		MaxStageAttempts: cfg.Conf.Int("spindle.stage.maxConsecutiveAttempts"),
		Exclusion:        exclusionConfig(cfg.Conf),
		Speculation:      speculationConfig(cfg.Conf),
	}
	if n, ok := cfg.Cluster.(nodeNamer); ok {
		opts.NodeOf = n.NodeOf
	}
	d.sched = scheduler.NewDriver(backend, opts, listener)
	return d, nil
}

// Graph is the driver's plan graph, where operators add nodes.
func (d *Driver) Graph() *Graph { return d.g }

// Logger is the driver's log.
func (d *Driver) Logger() *zerolog.Logger { return &d.cfg.Log }

// AppAttempt is the ApplicationMaster attempt this driver runs in, from 1; 0
// outside an AM.
func (d *Driver) AppAttempt() int { return d.cfg.AppAttempt }

// AppID names the application: output commits and local directories carry it.
func (d *Driver) AppID() string { return d.cfg.AppID }

// LocalDirs are the in-process executor's shuffle and spill directories.
func (d *Driver) LocalDirs() []string {
	if d.cfg.Env == nil {
		return nil
	}
	return d.cfg.Env.Dirs
}

// ExecutionMemoryUsed is the execution memory the in-process executor's tasks hold
// now, 0 without one (on YARN).
func (d *Driver) ExecutionMemoryUsed() int64 {
	if d.cfg.Env == nil {
		return 0
	}
	return d.cfg.Env.Mem.Stats().ExecutionUsed
}

// NewJobTag names one job's output commit, unique within the application.
func (d *Driver) NewJobTag() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nextJob++
	return fmt.Sprintf("%s_%04d", d.cfg.AppID, d.nextJob)
}

// RunJob compiles the plan ending at final and runs it over the result partitions
// parts (all when nil), handing each result partition's bytes to onResult.
func (d *Driver) RunJob(ctx context.Context, final *Node, parts []int, name string, action *Action, result ResultFunc, onResult func(part int, data []byte) error) error {
	job, err := d.Compile(ctx, final, name, action, result)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	job.Partitions = parts
	d.jobMu.Lock()
	defer d.jobMu.Unlock()
	start := time.Now()
	log := d.cfg.Log
	log.Info().Str("job", name).Int("stages", len(job.Stages)).Msg("job started")
	if d.cfg.Cluster != nil {
		jctx, cancel, err := d.cfg.Cluster.JobStarting(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer cancel()
		ctx = jctx
	}
	err = d.sched.RunJob(ctx, job, onResult)
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	// A failed job's error goes back to the program, which reports it (Main prints
	// it once): at error level here too, a terminal showed it, and a panic's
	// stack, twice.
	ev := log.Info()
	if err != nil {
		ev = ev.Err(err)
	}
	ev.Str("job", name).Dur("took", time.Since(start)).Msg("job ended")
	return err
}

// Summary reports what the driver's jobs did so far.
func (d *Driver) Summary() progress.Summary { return d.cfg.Metrics.Summary(time.Since(d.started)) }

// SetOutcome records the program's result: on YARN it decides the application's
// final status at Close.
func (d *Driver) SetOutcome(err error) {
	d.mu.Lock()
	d.outcome = err
	d.mu.Unlock()
}

// Close stops the scheduler, ends the application on YARN, removes the in-process
// executor's files and closes the filesystems.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	outcome := d.outcome
	d.mu.Unlock()
	err := d.sched.Close()
	if d.cfg.Ending != nil {
		err = errors.Join(err, d.cfg.Ending(outcome))
	}
	if d.cfg.Cluster != nil {
		err = errors.Join(err, d.cfg.Cluster.Close(outcome, d.Summary().String()))
	}
	if d.cfg.Env != nil {
		for _, dir := range d.cfg.Env.Dirs {
			err = errors.Join(err, os.RemoveAll(dir))
		}
	}
	if c, ok := d.cfg.FS.(io.Closer); ok {
		err = errors.Join(err, c.Close())
	}
	return err
}

// driverRunner runs the driver's own stages in-process, closures and all.
type driverRunner struct{ d *Driver }

func (r driverRunner) RunTask(ctx context.Context, t *scheduler.Task) (*scheduler.TaskResult, error) {
	r.d.mu.Lock()
	plan := r.d.stages[t.StageID]
	r.d.mu.Unlock()
	if plan == nil {
		return nil, fmt.Errorf("task %d: unknown stage %d", t.ID, t.StageID)
	}
	return runTask(ctx, r.d.cfg.Env, plan, t)
}
