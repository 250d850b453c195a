package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/yarn"
)

// reportInterval is how often submit asks the RM for the application's state, as
// Spark's spark.yarn.report.interval.
const reportInterval = 500 * time.Millisecond

// hadoopConfDir is the cluster's configuration directory, from HADOOP_CONF_DIR or
// else YARN_CONF_DIR.
func hadoopConfDir() (string, error) {
	for _, env := range []string{"HADOOP_CONF_DIR", "YARN_CONF_DIR"} {
		if dir := os.Getenv(env); dir != "" {
			return dir, nil
		}
	}
	return "", errors.New("--master yarn: neither HADOOP_CONF_DIR nor YARN_CONF_DIR is set; point one at the directory holding the cluster's core-site.xml and yarn-site.xml")
}

// deployMode is the submit's deploy mode in lower case.
func deployMode(c *conf.Conf) string { return strings.ToLower(c.String("spindle.submit.deployMode")) }

// submitYARN runs a job on YARN: in cluster mode the CLI stages and submits it and
// follows it; in client mode the job binary runs here as the driver and submits its
// own ApplicationMaster.
func submitYARN(sa *submitArgs, stdout, stderr io.Writer) int {
	dir, err := hadoopConfDir()
	if err != nil {
		fmt.Fprintf(stderr, "spindle submit: %v\n", err)
		return 2
	}
	if deployMode(sa.conf) == deploy.ModeClient {
		// The driver reads where to run from its configuration: say it explicitly.
		if err := sa.conf.Set("spindle.submit.deployMode", deploy.ModeClient); err != nil {
			fmt.Fprintf(stderr, "spindle submit: %v\n", err)
			return 2
		}
		return runLocal(sa, stderr)
	}
	h, err := conf.LoadHadoop(dir)
	if err != nil {
		fmt.Fprintf(stderr, "spindle submit: Hadoop configuration %s: %v\n", dir, err)
		return 2
	}
	bin, ok := jobBinary(sa.binary, stderr)
	if !ok {
		return 2
	}
	u, err := login(h, sa.conf.Get("spindle.kerberos.principal"), sa.conf.Get("spindle.kerberos.keytab"))
	if err != nil {
		fmt.Fprintf(stderr, "spindle submit: %v\n", err)
		return 1
	}
	if u != nil {
		defer u.Close()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := zerolog.Nop()
	if sa.verbose {
		log = zerolog.New(zerolog.ConsoleWriter{Out: stderr}).With().Timestamp().Logger()
	}
	app, err := deploy.Submit(ctx, &deploy.Spec{
		Binary: bin, Args: sa.args, Name: sa.conf.String("spindle.app.name"), Queue: sa.conf.String("spindle.yarn.queue"),
		Conf: sa.conf, Hadoop: h, HadoopConfDir: dir, Mode: deploy.ModeCluster, Kerberos: u, Log: log,
	})
	if err != nil {
		fmt.Fprintf(stderr, "spindle submit: %v\n", err)
		return 1
	}
	defer app.Close()
	if note := app.AccessNote(); note != "" {
		fmt.Fprintf(stderr, "spindle: %s\n", note)
	}
	return follow(ctx, app, sa.conf.Bool("spindle.yarn.submit.waitAppCompletion"), stdout, stderr)
}

// follow prints the application's state changes until it ends (or, without
// waitAll, until it runs) and exits 0 only for SUCCEEDED. An interrupt stops the
// waiting, not the application, as with spark-submit.
func follow(ctx context.Context, app *deploy.App, waitAll bool, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "spindle: submitted %s\n", app.ID)
	p := &reportPrinter{w: stdout}
	until := yarn.AppState.Terminal
	if !waitAll {
		until = func(s yarn.AppState) bool { return s == yarn.StateRunning || s.Terminal() }
	}
	r, err := app.WaitFor(ctx, reportInterval, p.print, until)
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "\nspindle: stopped waiting; %s keeps running. Kill it with: spindle kill %s\n", app.ID, app.ID)
		return 130
	}
	if err != nil {
		fmt.Fprintf(stderr, "spindle submit: %s: %v\n", app.ID, err)
		return 1
	}
	if !r.State.Terminal() {
		fmt.Fprintf(stdout, "spindle: not waiting for %s to end (spindle.yarn.submit.waitAppCompletion=false); follow it with: spindle status %s\n", app.ID, app.ID)
		return 0
	}
	if !p.tracking && r.TrackingURL != "" {
		fmt.Fprintf(stdout, "spindle: tracking URL: %s\n", r.TrackingURL)
	}
	out := stdout
	if r.FinalStatus != yarn.Succeeded {
		out = stderr
	}
	code := deploy.WriteEnding(out, r, "")
	// The AM removes the staging directory too; this covers an AM that never ran.
	cctx, cancel := context.WithTimeout(context.Background(), appTimeout)
	defer cancel()
	if err := app.Cleanup(cctx); err != nil {
		fmt.Fprintf(stderr, "spindle submit: %v\n", err)
	}
	return code
}

// reportPrinter prints the changes in an application's reports while submit
// follows it: states, the tracking URL once, and the job's progress.
type reportPrinter struct {
	w        io.Writer
	state    yarn.AppState
	tracking bool // the tracking URL was printed
}

func (p *reportPrinter) print(r *yarn.AppReport) {
	if r.State == p.state {
		// The driver reports its job's progress through the AM's heartbeats. The
		// RM itself says 100% once the AM has unregistered, whatever the job did,
		// while the application still shows RUNNING: the final status that
		// follows says how it went.
		if r.State == yarn.StateRunning && r.Progress < 1 {
			fmt.Fprintf(p.w, "spindle: %s is %s, %.0f%% of the job's tasks done\n", r.ID, r.State, 100*r.Progress)
		}
		return
	}
	p.state = r.State
	if r.State.Terminal() {
		return // the final status says it
	}
	fmt.Fprintf(p.w, "spindle: %s is %s\n", r.ID, r.State)
	if !p.tracking && r.TrackingURL != "" && r.State == yarn.StateRunning {
		fmt.Fprintf(p.w, "spindle: tracking URL: %s\n", r.TrackingURL)
		p.tracking = true
	}
}
