package faults

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/examples/datagen"
	"github.com/spindle-engine/spindle/integration/testenv"
	"github.com/spindle-engine/spindle/yarn"
)

// TestRMFailoverMidJob: while a word count's map tasks run, the active
// ResourceManager goes standby and the other takes over (work-preserving
// recovery). The CLI's reports, the AM's heartbeats and the executors' launches
// follow the new active RM, and the job ends SUCCEEDED with the clean run's output.
func TestRMFailoverMidJob(t *testing.T) {
	for _, mode := range []string{"cluster", "client"} {
		t.Run(mode, func(t *testing.T) {
			e := setup(t)
			dir := e.Dir(t, t.Name())
			in, out := dir+"/in.txt", dir+"/out"
			var text bytes.Buffer
			if err := datagen.Text(&text, 4<<20, 2000, 9); err != nil {
				t.Fatal(err)
			}
			e.WriteHDFS(t, in, text.Bytes(), 1<<20, 2)
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
			defer cancel()
			before, err := e.C.ActiveRM(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Map tasks pause 8 s each, four of them on two executors: the failover
			// (3-4 s) happens while the map stage runs, and the rest of the job's
			// heartbeats, and its unregistration, go to the new RM.
			args := append(yarnArgs(mode, "--name", "faults-rmfailover-"+mode, "--conf", "spindle.files.maxPartitionBytes=1m"),
				filepath.Join(e.Bin, "faultjob"), "wordcount", "hdfs://"+in, "hdfs://"+out, "8000", "1000")
			r := e.Start(ctx, append([]string{"submit"}, args...)...)
			testenv.Poll(t, "a map task started", 4*time.Minute, 100*time.Millisecond, func() bool {
				return r.App() != "" && mapStarted(e, r.App())
			})
			after, err := e.C.FailoverRM(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if after.Active == before.Active || after.Active == "" {
				t.Fatalf("failover: active RM %q before, %q after", before.Active, after.Active)
			}
			t.Logf("failed over from %s to %s", before.Active, after.Active)
			// The new RM recovered the application, still running: the failover
			// happened mid-job. e.RM follows the failover, as the CLI does.
			id, err := yarn.ParseAppID(r.App())
			if err != nil {
				t.Fatal(err)
			}
			// The new RM may show the recovered application ACCEPTED until its AM's
			// next heartbeat resyncs (Hadoop 3.3.6 does), so wait for RUNNING; an
			// application that ended here was not carried over mid-job.
			var mid *yarn.AppReport
			testenv.Poll(t, "the recovered application RUNNING on the new RM", time.Minute, 100*time.Millisecond, func() bool {
				if mid, err = e.RM.Report(ctx, id); err != nil {
					t.Fatalf("report from the new RM: %v", err)
				}
				if mid.State.Terminal() {
					t.Fatalf("after the failover the application ended %s/%s before the job did: %s", mid.State, mid.FinalStatus, mid.Diagnostics)
				}
				return mid.State == yarn.StateRunning
			})
			res, err := r.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if res.Code != 0 {
				t.Fatalf("submit exited %d:\n%s", res.Code, res.Out)
			}
			rep := e.Report(t, res.App, time.Minute)
			if rep.State != yarn.StateFinished || rep.FinalStatus != yarn.Succeeded {
				t.Fatalf("RM reports %s/%s: %s", rep.State, rep.FinalStatus, rep.Diagnostics)
			}
			e.CheckCommitted(t, out, 4, wordCounts(text.String()))
		})
	}
}
