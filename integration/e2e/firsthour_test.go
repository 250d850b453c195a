package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/yarn"
)

// endingLine is the line `spindle submit` ends a YARN run with, in either mode.
var endingLine = regexp.MustCompile(`(?m)^spindle: (application_\d+_\d+) ended (\w+), final status (\w+)$`)

// TestSubmitEndsAlikeInBothModes runs the same submits in cluster and client mode and
// checks that both end alike, as a user reads them: the same final-status line (once),
// the job's error in the diagnostics, the same exit code, and the application named
// after the job binary. The configuration error of an executor larger than the
// cluster allows exits 1 in both modes too.
func TestSubmitEndsAlikeInBothModes(t *testing.T) {
	e := setup(t)
	dir := e.dir(t, "firsthour")
	in := dir + "/in.txt"
	e.writeHDFS(t, in, []byte("a b a\nc a b\n"), 1<<20)
	tests := []struct {
		name     string
		extra    []string // submit flags beyond yarnArgs
		job      []string // the job binary (in e.bin) and its arguments
		code     int
		final    yarn.FinalStatus
		noApp    bool // submit fails before it submits an application
		appName  string
		contains []string // in the output
	}{
		{name: "succeeds", job: []string{"wordcount", "hdfs://" + in, "hdfs://" + dir + "/out-%s"},
			final: yarn.Succeeded, appName: "wordcount"},
		{name: "job fails", extra: []string{"--conf", "spindle.task.maxFailures=2"}, job: []string{"testjob", "panic", "10"},
			code: 1, final: yarn.Failed, appName: "testjob",
			contains: []string{"spindle: diagnostics: ", "e2e boom at element 9"}},
		{name: "executor too large", extra: []string{"--executor-memory", "999g"}, job: []string{"wordcount", "a", "b"},
			code: 1, noApp: true, contains: []string{"8192"}},
	}
	for _, tt := range tests {
		for _, mode := range []string{"cluster", "client"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
				defer cancel()
				job := append([]string{e.bin + "/" + tt.job[0]}, tt.job[1:]...)
				for i, a := range job {
					if strings.Contains(a, "%s") {
						job[i] = strings.ReplaceAll(a, "%s", mode)
					}
				}
				r := e.submit(t, ctx, append(e.yarnArgs(mode, tt.extra...), job...)...)
				if r.code != tt.code {
					t.Fatalf("submit exited %d, want %d:\n%s", r.code, tt.code, r.out)
				}
				for _, c := range tt.contains {
					if !strings.Contains(r.out, c) {
						t.Fatalf("output lacks %q:\n%s", c, r.out)
					}
				}
				endings := endingLine.FindAllStringSubmatch(r.out, -1)
				if tt.noApp {
					if len(endings) != 0 {
						t.Fatalf("an application ended though none should be submitted:\n%s", r.out)
					}
					return
				}
				if len(endings) != 1 {
					t.Fatalf("%d final-status lines, want 1:\n%s", len(endings), r.out)
				}
				app, state, final := endings[0][1], endings[0][2], endings[0][3]
				rep := e.report(t, app)
				if state != rep.State.String() || final != rep.FinalStatus.String() || rep.FinalStatus != tt.final {
					t.Fatalf("submit printed %s, final status %s; the RM reports %s/%s; want final status %s:\n%s",
						state, final, rep.State, rep.FinalStatus, tt.final, r.out)
				}
				if rep.Name != tt.appName {
					t.Fatalf("application name %q, want the job binary's %q", rep.Name, tt.appName)
				}
				if n := strings.Count(r.out, "e2e boom at element 9"); tt.final == yarn.Failed && n > 2 {
					// The diagnostics line, and the driver's own error line in client mode at most.
					t.Fatalf("the job's error appears %d times:\n%s", n, r.out)
				}
			})
		}
	}
}

// TestStatusOfUnknownApplication: an application id the RM does not know is one
// clear line; --verbose adds the server's stack trace.
func TestStatusOfUnknownApplication(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const unknown = "application_1_9999"
	plain := e.run(t, ctx, "status", unknown)
	lines := strings.Split(strings.TrimSpace(plain.out), "\n")
	if plain.code != 1 || len(lines) != 1 || !strings.Contains(lines[0], unknown) || !strings.Contains(lines[0], "--verbose") {
		t.Fatalf("status of an unknown id exited %d, printed %d lines; want 1 and one line naming the id and --verbose:\n%s", plain.code, len(lines), plain.out)
	}
	verbose := e.run(t, ctx, "status", "--verbose", unknown)
	if verbose.code != 1 || !strings.Contains(verbose.out, "\tat org.apache.hadoop.") {
		t.Fatalf("status --verbose exited %d; want 1 with the server's stack trace:\n%s", verbose.code, verbose.out)
	}
}
