package deploy

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/yarn"
)

// App is a submitted application.
type App struct {
	ID      yarn.AppID
	Staging string // the staging directory's URL, e.g. hdfs://nn:8020/user/u/.spindleStaging/<id>
	Secret  []byte // the application secret in the AM's credentials
	// Tokens are the delegation tokens in the AM's credentials (Kerberized
	// clusters only), for the driver in client mode.
	Tokens []*ipc.Token
	// AccessEnds is when the tokens' max lifetime ends, when no keytab renews them
	// (see AccessNote); zero otherwise.
	AccessEnds time.Time

	rm       *yarn.ResourceManager
	fsOpts   hdfs.Options
	preserve bool
}

// Report returns the RM's current report of the application.
func (a *App) Report(ctx context.Context) (*yarn.AppReport, error) {
	return a.rm.Report(ctx, a.ID)
}

// Wait polls the RM every interval until the application has ended, calling
// onReport (if not nil) with the first report and each one whose state differs from
// the one before. It returns the terminal report.
func (a *App) Wait(ctx context.Context, every time.Duration, onReport func(*yarn.AppReport)) (*yarn.AppReport, error) {
	return a.WaitFor(ctx, every, onReport, yarn.AppState.Terminal)
}

// WaitFor is Wait until a state that until accepts, or the end of the application.
// onReport sees every change of state or of progress.
func (a *App) WaitFor(ctx context.Context, every time.Duration, onReport func(*yarn.AppReport), until func(yarn.AppState) bool) (*yarn.AppReport, error) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last yarn.AppState
	var lastProgress float32
	for {
		r, err := a.rm.Report(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		if (r.State != last || r.Progress != lastProgress) && onReport != nil {
			onReport(r)
		}
		last, lastProgress = r.State, r.Progress
		if until(r.State) || r.State.Terminal() {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, fmt.Errorf("wait for %s: %w", a.ID, ctx.Err())
		case <-tick.C:
		}
	}
}

// Kill asks the RM to kill the application; Wait sees it end.
func (a *App) Kill(ctx context.Context) error {
	return a.rm.KillWithReason(ctx, a.ID, "killed by its Spindle submitter")
}

// Cleanup removes the staging directory unless spindle.yarn.preserveStagingFiles is
// set. The AM removes it too at its end; either may come first.
func (a *App) Cleanup(ctx context.Context) error {
	if a.preserve {
		return nil
	}
	return a.removeStaging(ctx)
}

func (a *App) removeStaging(ctx context.Context) error {
	return RemoveStagingURL(ctx, a.Staging, a.fsOpts)
}

// Close releases the RM connection.
func (a *App) Close() error { return a.rm.Close() }

// WriteEnding writes how an application ended, as `spindle submit` shows it in
// either deploy mode: "spindle: <id> ended <state>, final status <status>", then its
// diagnostics unless they are shown, text the caller printed already (a client-mode
// driver's job summary). It returns submit's exit code for that end: 0 for
// SUCCEEDED, else 1.
func WriteEnding(w io.Writer, r *yarn.AppReport, shown string) int {
	fmt.Fprintf(w, "spindle: %s ended %s, final status %s\n", r.ID, r.State, r.FinalStatus)
	if d := strings.TrimSpace(r.Diagnostics); d != "" && d != strings.TrimSpace(shown) {
		fmt.Fprintf(w, "spindle: diagnostics: %s\n", d)
	}
	return ExitCode(r)
}

// ExitCode is `spindle submit`'s exit code for an application that ended as r: 0
// for SUCCEEDED, else 1.
func ExitCode(r *yarn.AppReport) int {
	if r.FinalStatus == yarn.Succeeded {
		return 0
	}
	return 1
}
