package roles

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/executor"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/history"
	"github.com/spindle-engine/spindle/history/yarnlogs"
	"github.com/spindle-engine/spindle/internal/cluster"
	"github.com/spindle-engine/spindle/scheduler"
	"github.com/spindle-engine/spindle/ui"
	"github.com/spindle-engine/spindle/yarn"
)

// observer is what a driver shows of its application: the recorder the scheduler
// and the executors tell, the store the live UI's pages read, the UI's handler,
// and the event log when spindle.eventLog.enabled is set.
type observer struct {
	conf  *conf.Conf
	fs    *hdfs.FileSystems
	log   zerolog.Logger
	rec   *ui.Recorder
	store *ui.Store
	h     *ui.Handler

	appID   string
	events  *history.Writer // nil without an event log
	srv     *ui.Server      // local mode's listener; nil without one
	cluster atomic.Pointer[cluster.Cluster]
}

func newObserver(c *conf.Conf, fs *hdfs.FileSystems, h *conf.Hadoop, log zerolog.Logger) *observer {
	st := ui.NewStore(ui.Limits{Jobs: c.Int("spindle.ui.retainedJobs"), Stages: c.Int("spindle.ui.retainedStages"),
		TasksPerStage: c.Int("spindle.ui.retainedTasks"), DeadExecutors: c.Int("spindle.ui.retainedDeadExecutors")})
	o := &observer{conf: c, fs: fs, log: log, rec: ui.NewRecorder(st), store: st}
	cfg := ui.Config{Store: st, Live: true, Metrics: []func(*ui.MetricsWriter){o.allocatorMetrics}}
	if h != nil {
		https := false
		if p, _ := h.Get("yarn.http.policy"); strings.EqualFold(p, "HTTPS_ONLY") {
			https = true
		}
		cfg.Logs = history.ContainerLogs{FS: fs, Hadoop: h, Live: &yarnlogs.Live{HTTPS: https}}
	}
	o.h = ui.NewHandler(cfg)
	return o
}

// handler is the UI to serve, nil when spindle.ui.enabled is off.
func (o *observer) handler() *ui.Handler {
	if !o.conf.Bool("spindle.ui.enabled") {
		return nil
	}
	return o.h
}

// listener is what the scheduler tells: the recorder, and next, which may be nil.
func (o *observer) listener(next scheduler.Listener) scheduler.Listener {
	if next == nil {
		return o.rec
	}
	return scheduler.Tee(next, o.rec)
}

// started records the application's start, with its configuration redacted, and
// opens its event log; name is the application's name.
func (o *observer) started(ctx context.Context, id, attempt, name, user, mode string) error {
	re, err := regexp.Compile(o.conf.String("spindle.redaction.regex"))
	if err != nil {
		return fmt.Errorf("conf spindle.redaction.regex: %w", err)
	}
	o.appID = id
	app := ui.AppEvent{ID: id, Attempt: attempt, Name: name, User: user,
		Master: o.conf.String("spindle.master"), Mode: mode, Conf: ui.Redact(effectiveConf(o.conf), re), Runtime: runtimeInfo()}
	ev := o.rec.AppStarted(app)
	if !o.conf.Bool("spindle.eventLog.enabled") {
		return nil
	}
	dir := id
	if attempt != "" {
		dir += "_" + attempt
	}
	w, err := history.NewWriter(ctx, history.WriterConfig{FS: o.fs, Dir: o.conf.String("spindle.eventLog.dir"), Name: dir,
		MaxFileSize: o.conf.Size("spindle.eventLog.rolling.maxFileSize"), Log: o.log}, ev)
	if err != nil {
		return err
	}
	o.events = w
	o.rec.AddSink(w)
	o.log.Info().Str("dir", w.Dir()).Msg("event log")
	return nil
}

// appName is the application's name as YARN has it: spindle.app.name, else the
// job binary's file name, which submit names it after; the AM's localized binary
// has another name, so there the ResourceManager's report tells.
func appName(ctx context.Context, c *conf.Conf, h *conf.Hadoop, am *cluster.Container, log zerolog.Logger) string {
	if n := c.String("spindle.app.name"); n != "" {
		return n
	}
	if am != nil && h != nil {
		rm, err := yarn.NewResourceManager(h, yarn.WithTokens(am.Env.Credentials.TokenList()))
		if err == nil {
			defer rm.Close()
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			r, err := rm.Report(rctx, am.Env.Attempt.App)
			if err == nil {
				return r.Name
			}
			log.Debug().Err(err).Msg("application report for the UI's name")
		}
	}
	if bin, err := os.Executable(); err == nil {
		return filepath.Base(bin)
	}
	return "spindle"
}

// effectiveConf is every key that has a value, explicit or default.
func effectiveConf(c *conf.Conf) map[string]string {
	out := map[string]string{}
	for _, k := range conf.Keys() {
		if v := c.Get(k.Name); v != "" {
			out[k.Name] = v
		}
	}
	return out
}

func runtimeInfo() map[string]string {
	info := map[string]string{
		"Go version": runtime.Version(), "OS/arch": runtime.GOOS + "/" + runtime.GOARCH,
		"GOMAXPROCS": strconv.Itoa(runtime.GOMAXPROCS(0)), "CPUs": strconv.Itoa(runtime.NumCPU()),
		"Process id": strconv.Itoa(os.Getpid()),
	}
	if h, err := os.Hostname(); err == nil {
		info["Host"] = h
	}
	if bin, err := os.Executable(); err == nil {
		info["Job binary"] = bin
	}
	return info
}

// localExecutor records local mode's one executor, the driver's own slots.
func (o *observer) localExecutor(slots int, memory int64) {
	o.rec.ExecutorRegistered(executor.Details{ID: scheduler.LocalExecutorID, Host: scheduler.LocalHost, Cores: slots, Memory: memory})
}

// backlog takes the scheduler's backlog into the store, then hands it on.
func (o *observer) backlog(next func(scheduler.Backlog)) func(scheduler.Backlog) {
	return func(b scheduler.Backlog) {
		o.store.SetPending(b.Pending)
		if next != nil {
			next(b)
		}
	}
}

// ending is the engine's Ending hook: the application's end goes to the UI and
// the event log, which then closes, before YARN hears the final status.
func (o *observer) ending(outcome error) error {
	o.rec.AppEnded(o.appID, finalStatus(outcome), outcome)
	var err error
	if o.events != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = o.events.Close(ctx)
	}
	if o.srv != nil {
		err = errors.Join(err, o.srv.Close())
	}
	return err
}

// close releases what started opened, for a driver that did not start after all.
func (o *observer) close() {
	if o.events != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := o.events.Close(ctx); err != nil {
			o.log.Warn().Err(err).Msg("event log")
		}
	}
	if o.srv != nil {
		if err := o.srv.Close(); err != nil {
			o.log.Warn().Err(err).Msg("web UI")
		}
	}
}

// finalStatus names an outcome as YARN's final statuses do.
func finalStatus(outcome error) string {
	switch {
	case outcome == nil:
		return "SUCCEEDED"
	case errors.Is(outcome, context.Canceled):
		return "KILLED"
	}
	return "FAILED"
}

// serveLocal serves the UI on a listener of its own (local mode): at
// spindle.driver.bindAddress, else host, which its URL names.
func (o *observer) serveLocal(host string) (string, error) {
	h := o.handler()
	if h == nil {
		return "", nil
	}
	bind := host
	if b := o.conf.Get("spindle.driver.bindAddress"); b != "" {
		bind = b
	}
	srv, err := ui.Listen(bind, host, o.conf.Int("spindle.ui.port"), 16)
	if err != nil {
		return "", err
	}
	srv.SetHandler(h)
	o.srv = srv
	return srv.URL(), nil
}

// allocatorMetrics reports the ApplicationMaster's containers on YARN.
func (o *observer) allocatorMetrics(m *ui.MetricsWriter) {
	cl := o.cluster.Load()
	if cl == nil {
		return
	}
	c := cl.AllocatorCounts()
	a := []string{"app", o.appID}
	m.Gauge("spindle_allocator_target_executors", "Executors the driver asks the ApplicationMaster for.", float64(c.Target), a...)
	m.Counter("spindle_allocator_containers_launched_total", "Executor containers the ApplicationMaster started.", float64(c.Launched), a...)
	m.Counter("spindle_allocator_containers_released_total", "Executor containers the driver gave back (idle).", float64(c.Released), a...)
	m.Counter("spindle_allocator_containers_failed_total", "Executor containers that ended as the application's failures.", float64(c.Failed), a...)
	kinds := make([]string, 0, len(c.Exited))
	for k := range c.Exited {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		m.Counter("spindle_allocator_containers_exited_total", "Executor containers that ended, by kind.", float64(c.Exited[k]), "app", o.appID, "kind", k)
	}
}
