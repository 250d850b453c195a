// Package roles holds the parts one job binary plays in an application, which
// spindle.Main picks from the environment `spindle submit` and YARN give the
// process: a driver (a plain run, or YARN client mode), the ApplicationMaster that
// runs the driver (cluster mode), client mode's thin ApplicationMaster, and an
// executor. This package, and no other below the root, reads the process's
// environment, sets process-wide state (the Go memory limit, signal handling) and
// writes to stderr itself.
package roles

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/internal/engine"
	"github.com/spindle-engine/spindle/internal/progress"
	"github.com/spindle-engine/spindle/yarn"
)

// EnvCPUProfile names a file for a CPU profile of the driver process (in local mode,
// the whole job), for `go tool pprof`.
const EnvCPUProfile = "SPINDLE_CPUPROFILE"

// Program is what a job binary brings: its registered jobs, which executors rebuild,
// and the driver's program.
type Program struct {
	Jobs engine.Jobs
	Run  func(ctx context.Context, d *engine.Driver) error
}

// Main plays the process's part and returns its exit code: 0 on success, 1 when the
// program or the role failed (in client mode, unless the application SUCCEEDED,
// as `spindle submit` exits in cluster mode), 2 when the configuration was bad. SIGINT and SIGTERM
// cancel the role's context.
func Main(p Program) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch role := os.Getenv(deploy.EnvRole); role {
	case deploy.RoleExecutor:
		return runExecutor(ctx, p.Jobs)
	case deploy.RoleClientAM:
		return runClientAM(ctx)
	case "", deploy.RoleAM:
		return runDriver(ctx, p, role == deploy.RoleAM)
	default:
		fmt.Fprintf(os.Stderr, "spindle: %s=%q: want it unset, or one of %s, %s, %s\n", deploy.EnvRole, role, deploy.RoleAM, deploy.RoleClientAM, deploy.RoleExecutor)
		return 2
	}
}

// runDriver is a driver's process: locally, in client mode, or in the AM's container
// in cluster mode.
func runDriver(ctx context.Context, p Program, inAM bool) int {
	c, err := confFromEnv(consoleLogger(""))
	if err != nil {
		fmt.Fprintf(os.Stderr, "spindle: %v\n", err)
		return 2
	}
	spec := DriverSpec{Conf: c, Jobs: p.Jobs}
	// ended is a client-mode application's final report, which Close hears.
	var ended *yarn.AppReport
	if inAM {
		spec.Log = containerLogger(c, map[string]string{"role": "driver", "app": os.Getenv(deploy.EnvAppID)})
		if spec.AM, err = amContainer(c); err != nil {
			spec.Log.Error().Err(err).Msg("ApplicationMaster cannot start")
			return 2
		}
	} else {
		spec.Log = consoleLogger(c.String("spindle.log.level"))
		spec.Submitted = func(app string) {
			fmt.Fprintf(os.Stderr, "spindle: submitted %s; waiting for its ApplicationMaster\n", app)
		}
		spec.Ended = func(r *yarn.AppReport) { ended = r }
		spec.ServeUI = func(url string) { fmt.Fprintf(os.Stderr, "spindle: web UI at %s\n", url) }
	}
	if spec.Hadoop, err = hadoopFromEnv(); err != nil {
		fmt.Fprintf(os.Stderr, "spindle: %v\n", err)
		return 2
	}
	if spec.Login, err = driverLogin(c, spec.Hadoop, inAM, spec.Log); err != nil {
		spec.Log.Error().Err(err).Msg("Kerberos login")
		fmt.Fprintf(os.Stderr, "spindle: %v\n", err)
		return 2
	}
	if spec.Login != nil {
		defer spec.Login.Close()
	}
	tuneGC(c, "spindle.driver.memory")
	if term.IsTerminal(int(os.Stderr.Fd())) {
		spec.Bar = progress.NewBar(os.Stderr)
	}
	d, err := NewDriver(ctx, spec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "spindle: %v\n", err)
		// A bad value is a bad configuration; anything else (the cluster refused
		// the containers, say) exits as a failed cluster-mode submit does.
		var bad *conf.ValueError
		if errors.As(err, &bad) {
			return 2
		}
		return 1
	}
	if path := os.Getenv(EnvCPUProfile); path != "" {
		stopProfile, perr := startCPUProfile(path)
		if perr != nil {
			fmt.Fprintf(os.Stderr, "spindle: %s: %v\n", EnvCPUProfile, perr)
			return 2
		}
		defer stopProfile()
	}
	start := time.Now()
	err = p.Run(ctx, d)
	d.SetOutcome(err)
	sum := d.Summary()
	if cerr := d.Close(); cerr != nil {
		spec.Log.Warn().Err(cerr).Msg("close session")
	}
	fmt.Fprintf(os.Stderr, "spindle: %s\n", strings.ReplaceAll(sum.String(), "\n", "\nspindle: "))
	code := 0
	if ended != nil {
		// Client mode ends as cluster mode does: the final status and diagnostics.
		// A successful application's diagnostics are the summary printed above.
		shown := ""
		if ended.FinalStatus == yarn.Succeeded {
			shown = ended.Diagnostics
		}
		code = deploy.WriteEnding(os.Stderr, ended, shown)
	}
	if err != nil {
		switch {
		case errors.Is(err, context.Canceled):
			fmt.Fprintf(os.Stderr, "spindle: interrupted after %s\n", time.Since(start).Round(time.Millisecond))
		case ended == nil || ended.FinalStatus == yarn.Succeeded:
			// Otherwise the diagnostics above said it.
			fmt.Fprintf(os.Stderr, "spindle: job failed: %v\n", err)
		}
		return 1
	}
	return code
}

// hadoopFromEnv loads the cluster's configuration from HADOOP_CONF_DIR, else
// YARN_CONF_DIR; nil when neither is set.
func hadoopFromEnv() (*conf.Hadoop, error) {
	for _, k := range []string{"HADOOP_CONF_DIR", "YARN_CONF_DIR"} {
		if dir := os.Getenv(k); dir != "" {
			h, err := conf.LoadHadoop(dir)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			return h, nil
		}
	}
	return nil, nil
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// tuneGC makes the garbage collector work with the memory accounting: it collects
// harder as the process nears the memory it was given (memKey), and otherwise
// every spindle.go.gcPercent per cent of growth, unless the user set GOMEMLIMIT or
// GOGC, which the runtime has read already.
func tuneGC(c *conf.Conf, memKey string) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(c.Size(memKey))
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(c.Int("spindle.go.gcPercent"))
	}
}
