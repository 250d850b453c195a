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
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/security/kerberos"
	"github.com/spindle-engine/spindle/yarn"
)

// appTimeout bounds status and kill, which talk to the ResourceManager.
const appTimeout = 2 * time.Minute

// session is status's and kill's view of the cluster: its configuration and the
// user's login on a Kerberized one.
type session struct {
	hadoop *conf.Hadoop
	login  *kerberos.User // nil on an open cluster
	// notices hears that the RM does not answer and is being retried; nil says
	// nothing.
	notices io.Writer
}

// newSession reads HADOOP_CONF_DIR (or YARN_CONF_DIR) and logs in if the cluster
// is Kerberized.
func newSession(a appArgs) (*session, error) {
	h, err := conf.HadoopFromEnv()
	if err != nil {
		return nil, err
	}
	u, err := login(h, a.principal, a.keytab)
	if err != nil {
		return nil, err
	}
	return &session{hadoop: h, login: u}, nil
}

// resourceManager connects to the session's RM, saying once to s.notices when the
// RM does not answer: the retries (ipc.client.connect.max.retries) take a while.
func (s *session) resourceManager() (*yarn.ResourceManager, error) {
	var opts []yarn.Option
	if w := s.notices; w != nil {
		opts = append(opts, yarn.WithRetryNotice(func(addr string, retries int, err error) {
			fmt.Fprintf(w, "spindle: the ResourceManager at %s does not answer (%v); retrying up to %d times (ipc.client.connect.max.retries)\n", addr, err, retries)
		}))
	}
	if s.login != nil {
		opts = append(opts, yarn.WithKerberos(s.login.Client()))
	}
	return yarn.NewResourceManager(s.hadoop, opts...)
}

func (s *session) close() {
	if s.login != nil {
		s.login.Close()
	}
}

// appCommand parses "<command> [--principal P --keytab F] <application id>".
func appCommand(name string, args []string, stderr io.Writer) (yarn.AppID, appArgs, bool) {
	a, ok := parseAppArgs(name, args, stderr)
	if !ok {
		return yarn.AppID{}, a, false
	}
	id, err := yarn.ParseAppID(a.id)
	if err != nil {
		fmt.Fprintf(stderr, "spindle %s: %q is not an application id (application_<cluster timestamp>_<number>): %v\n", name, a.id, err)
		return yarn.AppID{}, a, false
	}
	return id, a, true
}

// withReport runs the common part of status and kill: parse the id, log in and
// connect to the RM, read the application's report, and hand them to f.
func withReport(name string, args []string, stderr io.Writer, f func(ctx context.Context, s *session, rm *yarn.ResourceManager, r *yarn.AppReport) int) int {
	id, a, ok := appCommand(name, args, stderr)
	if !ok {
		return 2
	}
	s, err := newSession(a)
	if err != nil {
		fmt.Fprintf(stderr, "spindle %s: %v\n", name, err)
		return 2
	}
	defer s.close()
	s.notices = stderr
	rm, err := s.resourceManager()
	if err != nil {
		fmt.Fprintf(stderr, "spindle %s: %v\n", name, err)
		return 2
	}
	defer rm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), appTimeout)
	defer cancel()
	r, err := rm.Report(ctx, id)
	if err != nil {
		fmt.Fprintf(stderr, "spindle %s %s: %s\n", name, id, serverError(err, a.verbose))
		return 1
	}
	return f(ctx, s, rm, r)
}

// serverError is an error's first line: a Java server's exception message ends
// with its stack trace, which only --verbose shows.
func serverError(err error, verbose bool) string {
	msg := err.Error()
	first, rest, more := strings.Cut(msg, "\n")
	if verbose || !more || strings.TrimSpace(rest) == "" {
		return msg
	}
	return first + " (--verbose shows the server's stack trace)"
}

// status prints the RM's report of an application.
func status(args []string, stdout, stderr io.Writer) int {
	return withReport("status", args, stderr, func(_ context.Context, _ *session, _ *yarn.ResourceManager, r *yarn.AppReport) int {
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
	return withReport("kill", args, stderr, func(ctx context.Context, s *session, rm *yarn.ResourceManager, r *yarn.AppReport) int {
		code := killApp(ctx, rm, r, stdout, stderr)
		if code == 0 {
			s.removeStaging(ctx, r, stderr)
		}
		return code
	})
}

// removeStaging removes an ended application's staging directory where submit puts
// it by default (/user/<user>/.spindleStaging/<id>); a missing one is fine. Failing
// to is a warning: the application has ended either way.
func (s *session) removeStaging(ctx context.Context, r *yarn.AppReport, stderr io.Writer) {
	user := deploy.HadoopUser()
	if s.login != nil {
		user = s.login.ShortName()
	}
	dir, err := deploy.StagingURL(conf.New(), s.hadoop, r.User, r.ID.String())
	if err == nil {
		var opts hdfs.Options
		if opts, err = hdfs.OptionsFrom(s.hadoop, user); err == nil {
			if s.login != nil {
				opts.Kerberos = s.login.Client()
			}
			err = deploy.RemoveStagingURL(ctx, dir, opts)
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
