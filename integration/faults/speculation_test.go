package faults

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/yarn"
)

// TestSpeculativeCopyOfStraggler: one task's first attempt takes ten minutes, its
// stage's others half a second. With speculation on, the task gets a copy on the
// other executor once three quarters of the stage finished; the copy wins, the job
// ends long before the straggler would have, and the output has each partition
// once.
func TestSpeculativeCopyOfStraggler(t *testing.T) {
	e := setup(t)
	dir := e.Dir(t, t.Name())
	out := dir + "/out"
	marker := filepath.Join(t.TempDir(), "straggler")
	const straggle = 10 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	args := append(yarnArgs("cluster", bigExecutors(
		"--conf", "spindle.speculation=true",
		"--conf", "spindle.log.level=info",
		"--name", "faults-speculation")...),
		filepath.Join(e.Bin, "faultjob"), "straggler", "hdfs://"+out, marker, "8", "500", "600000")
	began := time.Now()
	r := e.Start(ctx, append([]string{"submit"}, args...)...)
	res, err := r.Wait()
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	if res.Code != 0 {
		t.Fatalf("submit exited %d:\n%s", res.Code, res.Out)
	}
	rep := e.Report(t, res.App, time.Minute)
	if rep.State != yarn.StateFinished || rep.FinalStatus != yarn.Succeeded {
		t.Fatalf("RM reports %s/%s: %s", rep.State, rep.FinalStatus, rep.Diagnostics)
	}
	if took >= straggle/2 {
		t.Errorf("the job took %v: the straggler (%v) was not overtaken", took, straggle)
	}
	e.CheckCommitted(t, out, 8, squares(80))
	logs, _ := e.ContainerLogs(res.App)
	var straggler, copies int
	for _, l := range logs {
		straggler += strings.Count(l, "faultjob: straggler started")
		copies += strings.Count(l, "faultjob: copy of the straggler started")
	}
	if straggler != 1 || copies != 1 {
		t.Errorf("%d straggling attempts and %d copies started, want one of each", straggler, copies)
	}
	if log := amLog(e, res.App); !strings.Contains(log, "speculative copy of a slow task launched") {
		t.Errorf("the driver's log does not report the speculative copy:\n%s", log)
	}
}
