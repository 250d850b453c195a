package faults

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/integration/testenv"
	"github.com/spindle-engine/spindle/yarn"
)

// bigExecutors are submit flags for two executors that land one per NodeManager:
// 2g executors (2.4 GB containers) fit once beside the AM on a 4 GB NodeManager,
// never twice, and the job waits for both.
func bigExecutors(extra ...string) []string {
	return append([]string{"--executor-memory", "2g",
		"--conf", "spindle.scheduler.minRegisteredResourcesRatio=1",
		"--conf", "spindle.scheduler.maxRegisteredResourcesWaitingTime=3m"}, extra...)
}

// squares are the lines "x<TAB>x²" for x in [0, n).
func squares(n int) []string {
	out := make([]string, n)
	for x := range out {
		out[x] = strconv.Itoa(x) + "\t" + strconv.Itoa(x*x)
	}
	return out
}

// executorNodes waits for app's two executors and returns their nodes, sorted.
// A container's launch script and the executor both carry its environment, so
// processes count by container.
func executorNodes(t *testing.T, r *testenv.Running) (string, []string) {
	t.Helper()
	var app string
	byContainer := map[string]string{}
	testenv.Poll(t, "two executors running", 3*time.Minute, 200*time.Millisecond, func() bool {
		if app = r.App(); app == "" {
			return false
		}
		for _, p := range testenv.Processes(app, "executor") {
			if n, err := testenv.NodeOf(p.PID); err == nil && p.Container != "" {
				byContainer[p.Container] = n
			}
		}
		return len(byContainer) >= 2
	})
	return app, slices.Sorted(maps.Values(byContainer))
}

// amLog is the stderr of app's first AM container (in cluster mode, the driver's
// log too).
func amLog(e *testenv.Env, app string) string {
	logs, _ := e.ContainerLogs(app)
	for id, l := range logs {
		if strings.HasSuffix(id, "_000001") {
			return l
		}
	}
	return ""
}

// TestNodeExcludedOnFailure: every task on one node fails. Its executor is excluded
// for the stage, then, once the stage succeeded elsewhere, the executor and its
// node for the application; the node reaches the RM as a blacklist addition, sent
// by the AM (in the driver's process in cluster mode, the thin AM told over the
// link in client mode), and the job succeeds with the clean run's output.
func TestNodeExcludedOnFailure(t *testing.T) {
	for _, mode := range []string{"cluster", "client"} {
		t.Run(mode, func(t *testing.T) { nodeExcludedOnFailure(t, mode) })
	}
}

func nodeExcludedOnFailure(t *testing.T, mode string) {
	e := setup(t)
	dir := e.Dir(t, t.Name())
	out := dir + "/out"
	marker := filepath.Join(t.TempDir(), "bad-node")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	args := append(yarnArgs(mode, bigExecutors(
		"--conf", "spindle.excludeOnFailure.enabled=true",
		// One executor per node: one excluded executor is enough to exclude its node.
		"--conf", "spindle.excludeOnFailure.stage.maxFailedExecutorsPerNode=1",
		"--conf", "spindle.excludeOnFailure.application.maxFailedExecutorsPerNode=1",
		// Any failure in the map stage excludes the executor once that stage
		// succeeded, so that the reduce stage runs with the node excluded.
		"--conf", "spindle.excludeOnFailure.application.maxFailedTasksPerExecutor=1",
		"--conf", "spindle.log.level=info",
		"--name", "faults-exclusion-"+mode)...),
		filepath.Join(e.Bin, "faultjob"), "badnode", "hdfs://"+out, marker, "8")
	r := e.Start(ctx, append([]string{"submit"}, args...)...)
	app, nodes := executorNodes(t, r)
	if nodes[0] == nodes[1] {
		t.Fatalf("both executors run on %s: the 2g executors should be one per NodeManager", nodes[0])
	}
	bad := nodes[1]
	if err := os.WriteFile(marker+".tmp", []byte(bad+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(marker+".tmp", marker); err != nil {
		t.Fatal(err)
	}
	res, err := r.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != 0 {
		t.Fatalf("submit exited %d:\n%s", res.Code, res.Out)
	}
	rep := e.Report(t, app, time.Minute)
	if rep.State != yarn.StateFinished || rep.FinalStatus != yarn.Succeeded {
		t.Fatalf("RM reports %s/%s: %s", rep.State, rep.FinalStatus, rep.Diagnostics)
	}
	e.CheckCommitted(t, out, 2, squares(80))
	// The driver logs in the AM's container in cluster mode, on the submit's
	// output in client mode; the AM's own log is its container's either way.
	amLines := amLog(e, app)
	driverLines := amLines
	if mode == "client" {
		driverLines = res.Out
	}
	for _, c := range []struct{ who, log, want string }{
		{"driver", driverLines, "node excluded on failure"},
		{"AM", amLines, "node blacklist sent to the ResourceManager"},
		// The job summary, which the user sees (the submit's output, or the
		// final diagnostics in cluster mode).
		{"summary", res.Out + "\n" + rep.Diagnostics, "excluded nodes " + bad},
	} {
		if !hasLine(c.log, c.want, bad) {
			t.Errorf("the %s's log has no line %q naming %s:\n%s", c.who, c.want, bad, c.log)
		}
	}
	// The other node was never excluded: names are the RM scheduler's, one per
	// NodeManager, not the host they share.
	if good := nodes[0]; hasLine(amLines, "node blacklist sent to the ResourceManager", `"`+good+`"`) {
		t.Errorf("the AM blacklisted %s too, where tasks succeeded:\n%s", good, amLines)
	}
}

// hasLine reports whether a line of log has both want and node.
func hasLine(log, want, node string) bool {
	for l := range strings.SplitSeq(log, "\n") {
		if strings.Contains(l, want) && strings.Contains(l, node) {
			return true
		}
	}
	return false
}
