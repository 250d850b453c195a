package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/integration/testenv"
)

// sumsReference is what testjob's Sums job computes: numbers 0..199999 summed by
// their value mod 97.
func sumsReference() map[int]int {
	want := map[int]int{}
	for x := range 200000 {
		want[x%97] += x
	}
	return want
}

func (e *env) checkSums(t *testing.T, out string) {
	t.Helper()
	want := sumsReference()
	got := map[int]int{}
	for _, line := range strings.Split(strings.TrimSpace(e.readParts(t, out)), "\n") {
		k, v, ok := strings.Cut(line, "\t")
		key, err1 := strconv.Atoi(k)
		sum, err2 := strconv.Atoi(v)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("output line %q is not key<TAB>sum", line)
		}
		got[key] = sum
	}
	if len(got) != len(want) {
		t.Fatalf("%d keys in the output, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("sum of key %d = %d, want %d", k, got[k], v)
		}
	}
}

// twoPhaseArgs are the flags of a twophase run through the nodes' shuffle services.
func (e *env) twoPhaseArgs(extra ...string) []string {
	return e.yarnArgs("client", append([]string{"--conf", "spindle.shuffle.service.enabled=true"}, extra...)...)
}

// TestDynamicAllocationGivesBackExecutorsBetweenJobs runs two jobs over one shuffle
// with dynamic allocation and a 1 s idle timeout: every executor is given back in the
// pause, new ones run the second job's reduce tasks, which read every map output
// through the NodeManagers' shuffle services, and no map task runs again.
func TestDynamicAllocationGivesBackExecutorsBetweenJobs(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := e.dir(t, "dynamic") + "/out"
	r := e.submit(t, ctx, append(e.twoPhaseArgs(
		"--conf", "spindle.dynamicAllocation.enabled=true", "--conf", "spindle.dynamicAllocation.executorIdleTimeout=1s",
		"--conf", "spindle.dynamicAllocation.maxExecutors=2"),
		e.bin+"/testjob", "twophase", "hdfs://"+out, "10000", "0")...)
	if r.code != 0 {
		t.Fatalf("submit exited %d:\n%s", r.code, r.out)
	}
	e.checkSums(t, out)
	if !strings.Contains(r.out, "first job: 97 keys, 12 tasks") || !strings.Contains(r.out, "second job: 4 tasks") {
		t.Fatalf("want 8 map and 4 reduce tasks, then the 4 reduce tasks alone:\n%s", r.out)
	}
	logs, _ := e.containerLogs(t, r.app)
	var amLog string
	executors := 0
	for _, l := range logs {
		if strings.Contains(l, `"role":"am"`) {
			amLog += l
		}
		if strings.Contains(l, `"role":"executor"`) && strings.Contains(l, "registered with the driver") {
			executors++
		}
	}
	if released := strings.Count(amLog, "idle above target"); released < 2 {
		t.Errorf("the AM released %d idle containers, want the first job's two:\n%s", released, amLog)
	}
	if executors < 3 {
		t.Errorf("%d executors registered, want new ones for the second job", executors)
	}
}

// TestShuffleServiceOutlivesKilledExecutors kills every executor with SIGKILL after
// the map stage: their map outputs stay with the shuffle services, the replacements
// run only the reduce tasks, and the result is right.
func TestShuffleServiceOutlivesKilledExecutors(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := e.dir(t, "killed") + "/out"
	done := make(chan result, 1)
	go func() {
		done <- e.submit(t, ctx, append(e.twoPhaseArgs(), e.bin+"/testjob", "twophase", "hdfs://"+out, "15000", "0")...)
	}()
	// The first job's executors, once it ended: the pause is the driver's.
	var killed []int
	for deadline := time.Now().Add(3 * time.Minute); len(killed) == 0; time.Sleep(200 * time.Millisecond) { // polling the processes
		if time.Now().After(deadline) {
			t.Fatal("no executor process found after the first job")
		}
		for _, p := range testenv.Processes("", "executor") {
			if p.App != "" && e.firstJobDone(t, p.App) {
				if err := syscall.Kill(p.PID, syscall.SIGKILL); err == nil {
					killed = append(killed, p.PID)
				}
			}
		}
	}
	r := <-done
	if r.code != 0 {
		t.Fatalf("submit exited %d after executors %v were killed:\n%s", r.code, killed, r.out)
	}
	e.checkSums(t, out)
	if !strings.Contains(r.out, "second job: 4 tasks") {
		t.Fatalf("map tasks ran again after the executors were lost:\n%s", r.out)
	}
}

// firstJobDone says whether app's first job ended: all its 12 tasks finished, as
// the executors' logs say (the driver's output is not at hand while it runs).
func (e *env) firstJobDone(t *testing.T, app string) bool {
	logs, _ := e.containerLogs(t, app)
	finished := 0
	for _, l := range logs {
		if strings.Contains(l, `"role":"executor"`) {
			finished += strings.Count(l, `"task finished"`)
		}
	}
	return finished >= 12
}

// TestShuffleDaemonRestartsWithoutLoss kills every node's shuffle daemon with
// SIGKILL between the two jobs: the NodeManagers' aux services restart them on the
// same ports, they serve the running application from their stores, and the
// second job's reducers read every map output (retrying while the daemons restart)
// without a map task running again.
func TestShuffleDaemonRestartsWithoutLoss(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := e.dir(t, "restarted") + "/out"
	done := make(chan result, 1)
	go func() {
		done <- e.submit(t, ctx, append(e.twoPhaseArgs(), e.bin+"/testjob", "twophase", "hdfs://"+out, "15000", "0")...)
	}()
	var killed []int
	for deadline := time.Now().Add(3 * time.Minute); len(killed) == 0; time.Sleep(200 * time.Millisecond) { // polling the logs
		if time.Now().After(deadline) {
			t.Fatal("the first job never ended")
		}
		apps := map[string]bool{}
		for _, p := range testenv.Processes("", "executor") {
			apps[p.App] = apps[p.App] || e.firstJobDone(t, p.App)
		}
		for _, ok := range apps {
			if !ok {
				continue
			}
			for _, pid := range daemonProcesses(t, e.c.ConfDir) {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					killed = append(killed, pid)
				}
			}
		}
	}
	// The supervisors start new daemons.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) { // polling the processes
		now := daemonProcesses(t, e.c.ConfDir)
		if len(now) >= 2 && !slices.ContainsFunc(now, func(p int) bool { return slices.Contains(killed, p) }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemons %v not restarted after %v were killed", now, killed)
		}
	}
	r := <-done
	if r.code != 0 {
		t.Fatalf("submit exited %d after the daemons %v were killed:\n%s", r.code, killed, r.out)
	}
	e.checkSums(t, out)
	if !strings.Contains(r.out, "second job: 4 tasks") {
		t.Fatalf("map tasks ran again after the daemons restarted:\n%s", r.out)
	}
}

// daemonProcesses lists the spindle-shuffle daemons of the test cluster whose
// configuration is in confDir (their state dirs are under its work dir).
func daemonProcesses(t *testing.T, confDir string) []int {
	root := filepath.Dir(confDir)
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmd), "\x00")
		if strings.HasSuffix(args[0], "spindle-shuffle") && strings.Contains(string(cmd), root) {
			out = append(out, pid)
		}
	}
	return out
}
