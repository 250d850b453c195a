package spindle

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/executor/memory"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/scheduler"
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
	stages      map[int]*stagePlan

	jobMu   sync.Mutex // one job at a time on the driver
	driver  *scheduler.Driver
	nslots  int
	env     *execEnv
	metrics *jobMetrics
	started time.Time
	hadoop  *conf.Hadoop // nil when no HADOOP_CONF_DIR is set
}

// execEnv is what tasks need from the executor they run in: memory, cached blocks
// and local directories for shuffle and spill files.
type execEnv struct {
	mem      *memory.Manager
	blocks   *blockStore
	dirs     []string
	compress bool
}

// NewSession starts a driver with the given configuration. The caller must Close it.
// Only local masters (local, local[N], local[*]) run in this build.
func NewSession(ctx context.Context, c *conf.Conf, opts ...SessionOption) (*Session, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	master := c.String("spindle.master")
	slots, err := scheduler.ParseLocalMaster(master)
	if err != nil {
		return nil, fmt.Errorf("conf spindle.master=%q: only local masters run in-process (local, local[N], local[*]): %w", master, err)
	}
	s := &Session{
		ctx:     ctx,
		conf:    c,
		log:     zerolog.Nop(),
		app:     fmt.Sprintf("local-%d", time.Now().UnixNano()),
		stages:  map[int]*stagePlan{},
		nslots:  slots,
		started: time.Now(),
	}
	var o sessionOpts
	for _, f := range opts {
		f(&o)
	}
	if o.log != nil {
		s.log = *o.log
	}
	if dir := os.Getenv("HADOOP_CONF_DIR"); dir != "" {
		if s.hadoop, err = conf.LoadHadoop(dir); err != nil {
			return nil, fmt.Errorf("HADOOP_CONF_DIR: %w", err)
		}
	}
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
	mm := local.Memory()
	mem := memory.NewManager(mm.Unified, mm.StorageRegion)
	s.env = &execEnv{mem: mem, blocks: newBlockStore(mem), dirs: []string{dir}, compress: c.Bool("spindle.shuffle.compress")}
	s.metrics = newJobMetrics(o.progress)
	s.driver = scheduler.NewDriver(scheduler.NewLocalBackend(slots, s), scheduler.Options{
		MaxFailures:  c.Int("spindle.task.maxFailures"),
		LocalityWait: c.Duration("spindle.locality.wait"),
	}, s.metrics)
	s.log.Debug().Str("master", master).Int("slots", slots).Int64("unifiedMemory", mm.Unified).Str("localDir", dir).Msg("session started")
	return s, nil
}

// SessionOption tunes a session.
type SessionOption func(*sessionOpts)

type sessionOpts struct {
	log      *zerolog.Logger
	progress *progressBar
}

// WithLogger sends the session's logs to l.
func WithLogger(l zerolog.Logger) SessionOption {
	return func(o *sessionOpts) { o.log = &l }
}

// Conf returns the session's configuration.
func (s *Session) Conf() *conf.Conf { return s.conf }

// Summary reports what the session's jobs did so far.
func (s *Session) Summary() Summary { return s.metrics.summary(time.Since(s.started)) }

// Close stops the driver and removes the session's local files.
func (s *Session) Close() error {
	err := s.driver.Close()
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
	o := hdfs.Options{}
	if s.hadoop != nil {
		o.DefaultFS = s.hadoop.GetDefault("fs.defaultFS", "")
	}
	if u := os.Getenv("HADOOP_USER_NAME"); u != "" {
		o.User = u
	} else if u, err := user.Current(); err == nil {
		o.User = u.Username
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
