package spindle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/executor/memory"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/scheduler"
	"github.com/spindle-engine/spindle/shuffle"
)

// Session is a driver's connection to its executors: it builds plans, runs jobs and
// keeps the state that outlives one job (shuffle outputs, cached partitions).
type Session struct {
	ctx  context.Context
	conf *conf.Conf
	log  zerolog.Logger
	app  string // application id, unique per session, names output commits

	mu          sync.Mutex
	nextNode    int
	nextShuffle int
	nextStage   int
	nextJob     int
	nextBuild   int
	stages      map[int]*stagePlan
	building    *build         // the build running now, if any
	builds      map[int]*build // executors: builds rebuilt so far, by id

	// buildMu makes builds one at a time, so that a build's nodes get consecutive ids.
	buildMu sync.Mutex
	// ship makes every stage carry its payload, for remote executors.
	ship bool
	// remote marks an executor's session: it runs tasks from their payloads.
	remote bool

	jobMu   sync.Mutex // one job at a time on the driver
	driver  *scheduler.Driver
	nslots  int
	env     *execEnv
	metrics *jobMetrics
	started time.Time
	hadoop  *conf.Hadoop  // nil when no HADOOP_CONF_DIR is set
	cluster *clusterState // set on YARN
}

// execEnv is what tasks need from the executor they run in: memory, cached blocks
// and local directories for shuffle and spill files.
type execEnv struct {
	mem      *memory.Manager
	blocks   *blockStore
	dirs     []string
	compress bool
	// executor is this executor's id; fetcher reads other executors' map outputs
	// (nil in-process, where every output is local).
	executor string
	fetcher  *shuffle.Fetcher
}

// NewSession starts a driver with the given configuration. The caller must Close it.
// Local masters (local, local[N], local[*]) run tasks in this process; the yarn master
// runs them on executors in YARN containers.
func NewSession(ctx context.Context, c *conf.Conf, opts ...SessionOption) (*Session, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var o sessionOpts
	for _, f := range opts {
		f(&o)
	}
	s := newSession(ctx, c, o.log)
	if dir := os.Getenv("HADOOP_CONF_DIR"); dir != "" {
		var err error
		if s.hadoop, err = conf.LoadHadoop(dir); err != nil {
			return nil, fmt.Errorf("HADOOP_CONF_DIR: %w", err)
		}
	}
	s.metrics = newJobMetrics(o.progress)
	opt := scheduler.Options{
		MaxFailures:  c.Int("spindle.task.maxFailures"),
		LocalityWait: c.Duration("spindle.locality.wait"),
	}
	master := c.String("spindle.master")
	if master == "yarn" {
		backend, err := s.startCluster(ctx, o.cluster)
		if err != nil {
			return nil, err
		}
		s.ship = true
		s.driver = scheduler.NewDriver(backend, opt, s.metrics)
		return s, nil
	}
	slots, err := scheduler.ParseLocalMaster(master)
	if err != nil {
		return nil, fmt.Errorf("conf spindle.master=%q: want local, local[N], local[*] or yarn: %w", master, err)
	}
	s.nslots = slots
	dir, err := os.MkdirTemp(c.String("spindle.local.dir"), "spindle-"+s.app+"-")
	if err != nil {
		return nil, fmt.Errorf("conf spindle.local.dir: %w", err)
	}
	// In local mode the driver process is the executor, so its memory is the
	// driver's, as in Spark.
	local := c.Clone()
	if err := local.Set("spindle.executor.memory", c.String("spindle.driver.memory")); err != nil {
		return nil, err
	}
	s.env = newExecEnv(local, []string{dir})
	var runner scheduler.Runner = s
	if o.shipInProcess {
		// Tasks go through the same payloads as to remote executors, to an executor
		// session in this process.
		s.ship = true
		exec := newSession(ctx, c, o.log)
		exec.remote, exec.env, exec.hadoop = true, s.env, s.hadoop
		runner = exec
	}
	s.driver = scheduler.NewDriver(scheduler.NewLocalBackend(slots, runner), opt, s.metrics)
	s.log.Debug().Str("master", master).Int("slots", slots).Str("localDir", dir).Msg("session started")
	return s, nil
}

func newSession(ctx context.Context, c *conf.Conf, log *zerolog.Logger) *Session {
	s := &Session{
		ctx:     ctx,
		conf:    c,
		log:     zerolog.Nop(),
		app:     fmt.Sprintf("local-%d", time.Now().UnixNano()),
		stages:  map[int]*stagePlan{},
		builds:  map[int]*build{},
		started: time.Now(),
	}
	if log != nil {
		s.log = *log
	}
	return s
}

// newExecEnv sizes an executor's memory from c's spindle.executor.memory.
func newExecEnv(c *conf.Conf, dirs []string) *execEnv {
	mm := c.Memory()
	mem := memory.NewManager(mm.Unified, mm.StorageRegion)
	return &execEnv{mem: mem, blocks: newBlockStore(mem), dirs: dirs, compress: c.Bool("spindle.shuffle.compress")}
}

// SessionOption tunes a session.
type SessionOption func(*sessionOpts)

type sessionOpts struct {
	log      *zerolog.Logger
	progress *progressBar
	// shipInProcess runs local tasks from their payloads, as remote executors do.
	shipInProcess bool
	cluster       clusterOpts
}

// WithLogger sends the session's logs to l.
func WithLogger(l zerolog.Logger) SessionOption {
	return func(o *sessionOpts) { o.log = &l }
}

// setOutcome records the program's result: on YARN it decides the application's
// final status.
func (s *Session) setOutcome(err error) {
	if s.cluster == nil {
		return
	}
	s.cluster.mu.Lock()
	s.cluster.outcome = err
	s.cluster.mu.Unlock()
}

// Conf returns the session's configuration.
func (s *Session) Conf() *conf.Conf { return s.conf }

// Summary reports what the session's jobs did so far.
func (s *Session) Summary() Summary { return s.metrics.summary(time.Since(s.started)) }

// Close stops the driver and removes the session's local files.
func (s *Session) Close() error {
	err := s.driver.Close()
	if s.cluster != nil {
		err = errors.Join(err, s.cluster.close(s.Summary().String()))
	}
	if s.env == nil {
		return err
	}
	for _, d := range s.env.dirs {
		if rerr := os.RemoveAll(d); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

func (s *Session) slots() int { return s.nslots }

func (s *Session) defaultParallelism() int {
	if s.conf.Get("spindle.default.parallelism") == "" {
		return 0
	}
	return s.conf.Int("spindle.default.parallelism")
}

func (s *Session) fsOptions() hdfs.Options {
	o := hdfs.Options{User: deploy.HadoopUser()}
	if s.hadoop != nil {
		o.DefaultFS = s.hadoop.GetDefault("fs.defaultFS", "")
	}
	return o
}

// newJobTag names one job's output commit, unique within the application.
func (s *Session) newJobTag() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextJob++
	return fmt.Sprintf("%s_%04d", s.app, s.nextJob)
}
