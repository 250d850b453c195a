package secure

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/yarn"
)

// TestJobOutlivesDelegationTokens: a job submitted with a keytab still reads and
// writes HDFS after the delegation tokens it started with are past their max
// lifetime (two minutes on the test cluster): the AM obtained new ones from its
// keytab at 75% of the renew interval and sent them to its running executors,
// which replaced their tokens without a restart. The NameNode refuses a connection
// with a dead token, and the executors' HDFS clients reconnect once theirs dies, so
// the second half of the job fails unless both steps work.
func TestJobOutlivesDelegationTokens(t *testing.T) {
	e := setup(t)
	in, mid, out := e.path(t, "in.txt"), e.path(t, "counts"), e.path(t, "copy")
	e.write(t, in, wordsInput())
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	run := e.start(t, ctx, login{keytab: true}, yarnArgs(deploy.ModeCluster, filepath.Join(e.bin, "outlive"), in, mid, out)...)
	// The tracking page is read while the job waits out its tokens, for the
	// secret scan.
	page := e.trackingPage(ctx, run)
	secrets := newSecretCollector(e)
	secrets.watch(ctx, run)
	r := run.wait(t)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	if got, want := e.lines(t, out), e.lines(t, mid); len(got) == 0 || !slices.Equal(got, want) {
		t.Fatalf("the copy made after the tokens' max lifetime differs from the counts: %d vs %d lines", len(got), len(want))
	}
	// The executors that ran the second half got renewed tokens over the driver's
	// stream: the same executors as before, not new containers.
	logs, _ := e.containerDirs(r.app)
	replaced, executors := 0, 0
	for _, d := range logs {
		b := readFile(t, filepath.Join(d, "stderr"))
		if strings.Contains(b, `"role":"executor"`) {
			executors++
			replaced += strings.Count(b, "delegation tokens replaced")
		}
	}
	if executors != 2 || replaced < 2 {
		t.Fatalf("%d executors replaced their tokens %d times; want both, at least once each", executors, replaced)
	}
	if page == "" {
		t.Error("the tracking page could not be read while the job ran")
	}
	t.Run("no secret in logs", func(t *testing.T) {
		e.checkNoSecrets(t, r.app, secrets, r.out, map[string]string{"the tracking page": page})
	})
}

// trackingPage reads the AM's status page while the run's application runs,
// polling the RM for its address; "" when the application ended first.
func (e *env) trackingPage(ctx context.Context, run *running) string {
	tick := time.NewTicker(500 * time.Millisecond) // polling the CLI's output and the RM
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ""
		case <-tick.C:
		}
		app := appIDPattern.FindString(run.out.String())
		if app == "" {
			continue
		}
		id, err := yarn.ParseAppID(app)
		if err != nil {
			return ""
		}
		r, err := e.rm.Report(ctx, id)
		if err != nil || r.State.Terminal() {
			return ""
		}
		if r.State == yarn.StateRunning && strings.HasPrefix(r.OriginalTrackingURL, "http") {
			if page := get(ctx, r.OriginalTrackingURL); page != "" {
				return page
			}
		}
	}
}

func get(ctx context.Context, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(b)
}
