package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/history/yarnlogs"
	"github.com/spindle-engine/spindle/yarn"
)

// followInterval is how often `spindle logs --follow` reads the live logs again.
const followInterval = 2 * time.Second

// logsArgs is a parsed `spindle logs` command line.
type logsArgs struct {
	appArgs
	container string
	follow    bool
}

func parseLogsArgs(args []string, stderr io.Writer) (logsArgs, bool) {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var a logsArgs
	fs.StringVar(&a.container, "container", "", "")
	fs.BoolVar(&a.follow, "follow", false, "")
	fs.BoolVar(&a.follow, "f", false, "")
	fs.StringVar(&a.principal, "principal", "", "")
	fs.StringVar(&a.keytab, "keytab", "", "")
	fs.BoolVar(&a.verbose, "verbose", false, "")
	err := fs.Parse(args)
	if err == nil && fs.NArg() != 1 {
		err = errors.New("want one application id")
	}
	if err != nil {
		fmt.Fprintf(stderr, "usage: spindle logs [--container ID] [--follow] [--principal PRINCIPAL --keytab KEYTAB] <application id>: %v\n", err)
		return a, false
	}
	a.id = fs.Arg(0)
	return a, true
}

// logsCmd is `spindle logs`: a finished application's container logs from YARN's
// aggregated logs in HDFS, a running one's live from its NodeManagers, printed as
// `yarn logs -applicationId` prints them. --follow keeps printing what running
// containers append until the application ends.
func logsCmd(args []string, stdout, stderr io.Writer) int {
	a, ok := parseLogsArgs(args, stderr)
	if !ok {
		return 2
	}
	id, err := yarn.ParseAppID(a.id)
	if err != nil {
		fmt.Fprintf(stderr, "spindle logs: %q is not an application id (application_<cluster timestamp>_<number>): %v\n", a.id, err)
		return 2
	}
	s, err := newSession(a.appArgs)
	if err != nil {
		fmt.Fprintf(stderr, "spindle logs: %v\n", err)
		return 2
	}
	defer s.close()
	rm, err := s.resourceManager()
	if err != nil {
		fmt.Fprintf(stderr, "spindle logs: %v\n", err)
		return 2
	}
	defer rm.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rctx, cancel := context.WithTimeout(ctx, appTimeout)
	r, err := rm.Report(rctx, id)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "spindle logs %s: %s\n", id, serverError(err, a.verbose))
		return 1
	}
	if r.State.Terminal() {
		return s.aggregatedLogs(ctx, r, a.container, stdout, stderr)
	}
	https := strings.EqualFold(s.hadoop.GetDefault("yarn.http.policy", "HTTP_ONLY"), "HTTPS_ONLY")
	live := &yarnlogs.Live{HTTPS: https}
	if a.follow {
		return followLogs(ctx, rm, live, id, a.container, stdout, stderr)
	}
	lctx, cancel := context.WithTimeout(ctx, appTimeout)
	defer cancel()
	nodes, err := liveNodes(lctx, rm, live, stderr)
	if err == nil {
		err = live.ReadLive(lctx, nodes, id.String(), a.container, func(f yarnlogs.LogFile, b []byte) error {
			return yarnlogs.Print(stdout, f, b, true)
		})
	}
	if err != nil {
		fmt.Fprintf(stderr, "spindle logs %s: %v\n", id, err)
		return 1
	}
	return 0
}

// liveNodes are the running NodeManagers whose web services answer for
// themselves; the others are warned about, since their containers' live logs
// cannot be read.
func liveNodes(ctx context.Context, rm *yarn.ResourceManager, live *yarnlogs.Live, stderr io.Writer) ([]yarnlogs.Node, error) {
	reports, err := rm.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	return live.Nodes(ctx, reports, func(msg string) { fmt.Fprintf(stderr, "spindle logs: warning: %s\n", msg) }), nil
}

// aggregatedLogs prints an ended application's logs from HDFS.
func (s *session) aggregatedLogs(ctx context.Context, r *yarn.AppReport, container string, stdout, stderr io.Writer) int {
	user := r.User
	login := deployUser(s)
	opts, err := hdfs.OptionsFrom(s.hadoop, login)
	if err != nil {
		fmt.Fprintf(stderr, "spindle logs: %v\n", err)
		return 2
	}
	if s.login != nil {
		opts.Kerberos = s.login.Client()
	}
	fsys := hdfs.NewFileSystems(opts)
	defer fsys.Close()
	ctx, cancel := context.WithTimeout(ctx, appTimeout)
	defer cancel()
	found := false
	err = yarnlogs.ReadAggregated(ctx, fsys, s.hadoop, user, r.ID, func(f yarnlogs.LogFile, b []byte) error {
		if container != "" && f.Container != container {
			return nil
		}
		found = true
		return yarnlogs.Print(stdout, f, b, false)
	})
	switch {
	case errors.Is(err, yarnlogs.ErrNoAggregatedLogs):
		fmt.Fprintf(stderr, "spindle logs %s: %v; the application ended %s ago: YARN may still be aggregating them, or log aggregation (yarn.log-aggregation-enable) is off\n",
			r.ID, err, time.Since(r.FinishTime).Round(time.Second))
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "spindle logs %s: %v\n", r.ID, err)
		return 1
	case container != "" && !found:
		fmt.Fprintf(stderr, "spindle logs %s: the aggregated logs hold no container %s\n", r.ID, container)
		return 1
	}
	return 0
}

// deployUser is who the session reaches HDFS as.
func deployUser(s *session) string {
	if s.login != nil {
		return s.login.ShortName()
	}
	return deploy.HadoopUser()
}

// followLogs prints the running containers' logs and then what they append,
// every followInterval, until the application ends or the user interrupts.
// Each file's new bytes come after a "==> container file <==" line, as tail -f
// prints several files.
func followLogs(ctx context.Context, rm *yarn.ResourceManager, live *yarnlogs.Live, id yarn.AppID, container string, stdout, stderr io.Writer) int {
	printed := map[[2]string]int64{} // (container, file) → bytes printed
	warned := map[string]bool{}
	var lastFile [2]string
	tick := time.NewTicker(followInterval)
	defer tick.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, appTimeout)
		nodes := live.Nodes(rctx, mustNodes(rctx, rm, stderr), func(msg string) {
			if !warned[msg] {
				warned[msg] = true
				fmt.Fprintf(stderr, "spindle logs: warning: %s\n", msg)
			}
		})
		err := live.ReadLive(rctx, nodes, id.String(), container, func(f yarnlogs.LogFile, b []byte) error {
			k := [2]string{f.Container, f.Name}
			from := printed[k]
			if int64(len(b)) <= from {
				return nil
			}
			if k != lastFile {
				fmt.Fprintf(stdout, "\n==> %s %s on %s <==\n", f.Container, f.Name, f.Node)
				lastFile = k
			}
			if _, err := stdout.Write(b[from:]); err != nil {
				return err
			}
			printed[k] = int64(len(b))
			return nil
		})
		r, rerr := rm.Report(rctx, id)
		cancel()
		if ctx.Err() != nil {
			return 130
		}
		if err != nil && !errors.Is(err, yarnlogs.ErrNotOnNode) {
			fmt.Fprintf(stderr, "spindle logs %s: %v\n", id, err)
		}
		if rerr == nil && r.State.Terminal() {
			fmt.Fprintf(stderr, "spindle logs: %s ended %s; its whole logs: spindle logs %s\n", id, r.FinalStatus, id)
			return 0
		}
		select {
		case <-ctx.Done():
			return 130
		case <-tick.C:
		}
	}
}

// mustNodes lists the running NodeManagers, or none (said on stderr) when the
// ResourceManager does not answer this round.
func mustNodes(ctx context.Context, rm *yarn.ResourceManager, stderr io.Writer) []yarn.NodeReport {
	reports, err := rm.Nodes(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "spindle logs: nodes: %v\n", err)
		return nil
	}
	return reports
}
