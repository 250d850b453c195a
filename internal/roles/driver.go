package roles

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/internal/cluster"
	"github.com/spindle-engine/spindle/internal/engine"
	"github.com/spindle-engine/spindle/internal/progress"
	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/scheduler"
	"github.com/spindle-engine/spindle/security/kerberos"
	"github.com/spindle-engine/spindle/yarn"
)

// DriverSpec is a driver to start.
type DriverSpec struct {
	Conf *conf.Conf
	// Hadoop is the cluster's configuration; nil when there is none (local mode with
	// local or full hdfs:// paths only).
	Hadoop *conf.Hadoop
	Log    zerolog.Logger
	// Bar draws the progress bar; nil draws none.
	Bar  *progress.Bar
	Jobs engine.Jobs
	// ShipInProcess runs local tasks from their payloads, as remote executors do.
	ShipInProcess bool
	// User is the Hadoop user; "" means HADOOP_USER_NAME, else the OS user.
	User string
	// AM is this process's container when it is the ApplicationMaster (cluster
	// mode).
	AM *cluster.Container
	// Submitted hears a client-mode driver's application id once submitted.
	Submitted func(appID string)
	// Ended hears a client-mode driver's application's final report when the
	// driver closes.
	Ended func(*yarn.AppReport)
	// Login is the driver's Kerberos login on a Kerberized cluster (the caller's,
	// who closes it): a client-mode driver submits and reaches HDFS with it, and a
	// keytab login renews the application's tokens. Nil on an open cluster, and in
	// an AM without a keytab, which has its container's tokens alone.
	Login *kerberos.User
	// ServeUI, when set, serves a local-mode driver's web UI on a listener of its
	// own and hears its URL (a program's run; sessions of NewSession serve none).
	// On YARN the UI is always served, through the ResourceManager's proxy.
	ServeUI func(url string)
}

// NewDriver starts a driver: in-process slots for a local master, executors in YARN
// containers for the yarn master. The caller must Close it.
func NewDriver(ctx context.Context, spec DriverSpec) (*engine.Driver, error) {
	c := spec.Conf
	if err := c.Validate(); err != nil {
		return nil, err
	}
	user := spec.User
	if user == "" && spec.Login != nil && spec.AM == nil {
		user = spec.Login.ShortName()
	}
	if user == "" {
		user = deploy.HadoopUser()
	}
	var containerTs []*ipc.Token
	staging := ""
	if spec.AM != nil {
		containerTs, staging = containerTokens(spec.AM.Env.Credentials), spec.AM.StagingDir
	}
	fsOpts, err := fsOptions(spec.Hadoop, user, containerTs, spec.Login)
	if err != nil {
		return nil, err
	}
	fs := hdfs.NewFileSystems(fsOpts)
	var mopts []progress.Option
	if c.String("spindle.master") != "yarn" {
		mopts = append(mopts, progress.InProcess())
	}
	metrics := progress.NewMetrics(spec.Bar, mopts...)
	obs := newObserver(c, fs, spec.Hadoop, spec.Log)
	dc := engine.DriverConfig{Conf: c, Log: spec.Log, FS: fs, Metrics: metrics, Ending: obs.ending}
	master := c.String("spindle.master")
	if master == "yarn" {
		bin, err := os.Executable()
		if err != nil {
			return nil, errors.Join(fmt.Errorf("job binary: %w", err), fs.Close())
		}
		cc := cluster.Config{
			Conf: c, Hadoop: spec.Hadoop, Log: spec.Log, Metrics: metrics, User: user, AM: spec.AM,
			Binary: bin, DriverHost: driverHost(c), Submitted: spec.Submitted, Ended: spec.Ended,
			Kerberos: spec.Login, FS: fs, Renewer: renewer(c, spec.Hadoop, fsOpts, spec.Login, staging, spec.Log),
		}
		if spec.AM != nil {
			// The AM reaches HDFS with the application's tokens; a client-mode
			// driver keeps its own login.
			cc.OnTokens = fs.SetTokens
		}
		if h := obs.handler(); h != nil {
			cc.UI, cc.UIPort = h, c.Int("spindle.ui.port")
		}
		cc.Executors = obs.rec
		cl, err := cluster.Start(ctx, cc)
		if err != nil {
			return nil, errors.Join(err, fs.Close())
		}
		obs.cluster.Store(cl)
		mode, attempt := "client", ""
		if spec.AM != nil {
			mode, attempt = "cluster", strconv.Itoa(int(spec.AM.Env.Attempt.Attempt))
		}
		if err := obs.started(ctx, cl.AppID(), attempt, appName(ctx, c, spec.Hadoop, spec.AM, spec.Log), user, mode); err != nil {
			return nil, errors.Join(err, cl.Close(err, ""), fs.Close())
		}
		dc.AppID, dc.Slots, dc.Backend, dc.Ship, dc.Cluster = cl.AppID(), cl.Slots(), cl.Backend(), true, cl
		dc.Backlog, dc.Listener, dc.ExternalShuffle = obs.backlog(cl.Backlog), obs.listener(cl.Listener()), cl.ExternalShuffle()
		if spec.AM != nil {
			dc.AppAttempt = int(spec.AM.Env.Attempt.Attempt)
		}
		d, err := engine.NewDriver(ctx, dc)
		if err != nil {
			obs.close()
			return nil, errors.Join(err, cl.Close(err, ""), fs.Close())
		}
		return d, nil
	}
	slots, err := scheduler.ParseLocalMaster(master)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("conf spindle.master=%q: want local, local[N], local[*] or yarn: %w", master, err), fs.Close())
	}
	dc.AppID = fmt.Sprintf("local-%d", time.Now().UnixNano())
	dir, err := os.MkdirTemp(c.String("spindle.local.dir"), "spindle-"+dc.AppID+"-")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("conf spindle.local.dir: %w", err), fs.Close())
	}
	// In local mode the driver process is the executor, so its memory is the
	// driver's, as in Spark.
	local := c.Clone()
	if err := local.Set("spindle.executor.memory", c.String("spindle.driver.memory")); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir), fs.Close())
	}
	dc.Slots, dc.Env = slots, engine.NewEnv(local, []string{dir})
	if err := obs.started(ctx, dc.AppID, "", appName(ctx, c, nil, nil, spec.Log), user, "local"); err != nil {
		return nil, errors.Join(err, os.RemoveAll(dir), fs.Close())
	}
	obs.localExecutor(slots, c.Size("spindle.driver.memory"))
	dc.Listener = obs.listener(nil)
	if spec.ServeUI != nil {
		if url, err := obs.serveLocal(driverHost(c)); err != nil {
			spec.Log.Warn().Err(err).Msg("no web UI")
		} else if url != "" {
			dc.Backlog = obs.backlog(nil)
			spec.ServeUI(url)
		}
	}
	if spec.ShipInProcess {
		// Tasks go through the same payloads as to remote executors, to an executor
		// in this process.
		dc.Ship = true
		dc.Runner = engine.NewExecutor(engine.ExecutorConfig{Conf: c, Log: spec.Log, FS: fs, Env: dc.Env, Jobs: spec.Jobs})
	}
	d, err := engine.NewDriver(ctx, dc)
	if err != nil {
		obs.close()
		return nil, errors.Join(err, os.RemoveAll(dir), fs.Close())
	}
	spec.Log.Debug().Str("master", master).Int("slots", slots).Str("localDir", dir).Msg("session started")
	return d, nil
}

// driverHost is the host executors and the client-mode AM dial the driver at:
// spindle.driver.host, else this machine's name.
func driverHost(c *conf.Conf) string {
	if h := c.Get("spindle.driver.host"); h != "" {
		return h
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "localhost"
}
