package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/yarn"
)

// TestReportPrinter checks the lines submit prints while it follows an
// application: each state once, the job's progress while it runs, never the 100%
// the RM reports once the AM has unregistered (the failed job had not done all its
// tasks), and no "is FINISHED" before the final status line.
func TestReportPrinter(t *testing.T) {
	id, err := yarn.ParseAppID("application_1_0007")
	if err != nil {
		t.Fatal(err)
	}
	reports := []yarn.AppReport{
		{ID: id, State: yarn.StateAccepted},
		{ID: id, State: yarn.StateRunning, TrackingURL: "http://rm/proxy/application_1_0007/"},
		{ID: id, State: yarn.StateRunning, Progress: 0.5},
		{ID: id, State: yarn.StateRunning, Progress: 1},
		{ID: id, State: yarn.StateFinished, FinalStatus: yarn.Failed, Progress: 1, Diagnostics: "job failed: boom"},
	}
	var b bytes.Buffer
	p := &reportPrinter{w: &b}
	for i := range reports {
		p.print(&reports[i])
	}
	code := deploy.WriteEnding(&b, &reports[len(reports)-1], "")
	want := `spindle: application_1_0007 is ACCEPTED
spindle: application_1_0007 is RUNNING
spindle: tracking URL: http://rm/proxy/application_1_0007/
spindle: application_1_0007 is RUNNING, 50% of the job's tasks done
spindle: application_1_0007 ended FINISHED, final status FAILED
spindle: diagnostics: job failed: boom
`
	if b.String() != want || code != 1 {
		t.Fatalf("exit %d, printed:\n%s\nwant exit 1 and:\n%s", code, b.String(), want)
	}
}

// TestWriteEndingSkipsShownDiagnostics: a client-mode driver printed its summary,
// which is a successful application's diagnostics, already.
func TestWriteEndingSkipsShownDiagnostics(t *testing.T) {
	id, _ := yarn.ParseAppID("application_1_0008")
	r := &yarn.AppReport{ID: id, State: yarn.StateFinished, FinalStatus: yarn.Succeeded, Diagnostics: "jobs 1, stages 2\n"}
	var b bytes.Buffer
	if code := deploy.WriteEnding(&b, r, "jobs 1, stages 2"); code != 0 || strings.Contains(b.String(), "diagnostics") {
		t.Fatalf("exit %d, printed %q", code, b.String())
	}
}
