package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/user"
	"strings"
	"time"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/yarn"
)

// appTimeout bounds status and kill, which talk to the ResourceManager.
const appTimeout = 2 * time.Minute

// resourceManager connects to the RM of HADOOP_CONF_DIR (or YARN_CONF_DIR).
func resourceManager() (*yarn.ResourceManager, error) {
	h, err := conf.HadoopFromEnv()
	if err != nil {
		return nil, err
	}
	return yarn.NewResourceManager(h)
}

// appCommand parses "<command> <application id>".
func appCommand(name string, args []string, stderr io.Writer) (yarn.AppID, bool) {
	if len(args) != 1 {
		fmt.Fprintf(stderr, "usage: spindle %s <application id>\n", name)
		return yarn.AppID{}, false
	}
	id, err := yarn.ParseAppID(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "spindle %s: %q is not an application id (application_<cluster timestamp>_<number>): %v\n", name, args[0], err)
		return yarn.AppID{}, false
	}
	return id, true
}

// withReport runs the common part of status and kill: parse the id, connect to the
// RM, read the application's report, and hand all three to f.
func withReport(name string, args []string, stderr io.Writer, f func(ctx context.Context, rm *yarn.ResourceManager, r *yarn.AppReport) int) int {
	id, ok := appCommand(name, args, stderr)
	if !ok {
		return 2
	}
	rm, err := resourceManager()
	if err != nil {
		fmt.Fprintf(stderr, "spindle %s: %v\n", name, err)
		return 2
	}
	defer rm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), appTimeout)
	defer cancel()
	r, err := rm.Report(ctx, id)
	if err != nil {
		fmt.Fprintf(stderr, "spindle %s %s: %v\n", name, id, err)
		return 1
	}
	return f(ctx, rm, r)
}

// status prints the RM's report of an application.
func status(args []string, stdout, stderr io.Writer) int {
	return withReport("status", args, stderr, func(_ context.Context, _ *yarn.ResourceManager, r *yarn.AppReport) int {
		printReport(stdout, r)
		return 0
	})
}

func printReport(w io.Writer, r *yarn.AppReport) {
	fmt.Fprintf(w, "%s  %s\n", r.ID, r.Name)
	fmt.Fprintf(w, "  state:        %s\n", r.State)
	fmt.Fprintf(w, "  final status: %s\n", r.FinalStatus)
	fmt.Fprintf(w, "  user, queue:  %s, %s\n", r.User, r.Queue)
	fmt.Fprintf(w, "  progress:     %.0f%%\n", 100*r.Progress)
	if r.TrackingURL != "" {
		fmt.Fprintf(w, "  tracking URL: %s\n", r.TrackingURL)
	}
	if !r.StartTime.IsZero() {
		fmt.Fprintf(w, "  started:      %s\n", r.StartTime.Format(time.RFC3339))
	}
	if !r.FinishTime.IsZero() {
		fmt.Fprintf(w, "  finished:     %s\n", r.FinishTime.Format(time.RFC3339))
	}
	if d := strings.TrimSpace(r.Diagnostics); d != "" {
		fmt.Fprintf(w, "  diagnostics:  %s\n", strings.ReplaceAll(d, "\n", "\n                "))
	}
}

// kill asks the RM to kill an application and waits until it has ended, then
// removes its staging directory, which a killed ApplicationMaster may leave.
func kill(args []string, stdout, stderr io.Writer) int {
	return withReport("kill", args, stderr, func(ctx context.Context, rm *yarn.ResourceManager, r *yarn.AppReport) int {
		code := killApp(ctx, rm, r, stdout, stderr)
		if code == 0 {
			removeStaging(ctx, r, stderr)
		}
		return code
	})
}

// removeStaging removes an ended application's staging directory where submit puts
// it by default (/user/<user>/.spindleStaging/<id>); a missing one is fine. Failing
// to is a warning: the application has ended either way.
func removeStaging(ctx context.Context, r *yarn.AppReport, stderr io.Writer) {
	h, err := conf.HadoopFromEnv()
	if err == nil {
		var dir string
		if dir, err = deploy.StagingURL(conf.New(), h, r.User, r.ID.String()); err == nil {
			err = deploy.RemoveStagingURL(ctx, dir, deploy.HadoopUser())
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "spindle kill: warning: %v\n", err)
	}
}

func killApp(ctx context.Context, rm *yarn.ResourceManager, r *yarn.AppReport, stdout, stderr io.Writer) int {
	id := r.ID
	if r.State.Terminal() {
		fmt.Fprintf(stdout, "%s already ended: %s/%s\n", id, r.State, r.FinalStatus)
		return 0
	}
	who := "unknown user"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	if err := rm.KillWithReason(ctx, id, "killed by `spindle kill` ("+who+")"); err != nil {
		fmt.Fprintf(stderr, "spindle kill %s: %v\n", id, err)
		return 1
	}
	// The RM kills asynchronously: poll its report until the application has ended.
	var err error
	for tick := time.NewTicker(200 * time.Millisecond); ; {
		r, err = rm.Report(ctx, id)
		if err == nil && r.State.Terminal() {
			tick.Stop()
			break
		}
		select {
		case <-ctx.Done():
			tick.Stop()
			fmt.Fprintf(stderr, "spindle kill %s: not ended after %s: %v\n", id, appTimeout, errors.Join(err, ctx.Err()))
			return 1
		case <-tick.C:
		}
	}
	fmt.Fprintf(stdout, "%s %s/%s\n", id, r.State, r.FinalStatus)
	return 0
}
