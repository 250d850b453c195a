package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/integration/testenv"
	"github.com/spindle-engine/spindle/yarn"
)

// text is a deterministic text of about size bytes over a vocabulary of words, and
// its word counts as the job writes them ("word\tcount"): the clean run's output.
func text(size, words int) ([]byte, []string) {
	r := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	var b strings.Builder
	for b.Len() < size {
		for i := range 12 {
			w := "w" + strconv.Itoa(r.IntN(words))
			counts[w]++
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w)
		}
		b.WriteByte('\n')
	}
	var want []string
	for w, n := range counts {
		want = append(want, w+"\t"+strconv.Itoa(n))
	}
	return []byte(b.String()), want
}

// input writes the word-count input: 4 MiB in 1 MiB blocks, so 4 map tasks,
// replicated twice.
func input(t *testing.T, e *testenv.Env, dir string) (string, []string) {
	data, want := text(4<<20, 5000)
	in := dir + "/in.txt"
	e.WriteHDFS(t, in, data, 1<<20, 2)
	return in, want
}

// url is HDFS path p as a job takes it: a path without a scheme is local.
func url(e *testenv.Env, p string) string { return "hdfs://" + e.C.Info.NN + p }

// jobProcess is the Go process of one of app's containers in role: not the shell
// the NodeManager starts it from.
func jobProcess(app, role, container string) (testenv.Process, bool) {
	for _, p := range testenv.Processes(app, role) {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.PID))
		if err == nil && strings.TrimSpace(string(comm)) == deploy.JobResource && (container == "" || p.Container == container) {
			return p, true
		}
	}
	return testenv.Process{}, false
}

// awaitLog waits until one of app's containers logged marker, and returns it.
func awaitLog(t *testing.T, e *testenv.Env, r *testenv.Running, marker string) string {
	t.Helper()
	var found string
	testenv.Poll(t, "a container logging "+marker, 4*time.Minute, 200*time.Millisecond, func() bool {
		if r.App() == "" {
			return false
		}
		logs, _ := e.ContainerLogs(r.App())
		for c, l := range logs {
			if strings.Contains(l, marker) {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

// kill9 SIGKILLs the Go process of container c.
func kill9(t *testing.T, app, role, c string) {
	t.Helper()
	p, ok := jobProcess(app, role, c)
	if !ok {
		t.Fatalf("no %s process of container %s", role, c)
	}
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d (%s %s): %v", p.PID, role, c, err)
	}
	t.Logf("killed %s %s (pid %d)", role, c, p.PID)
}

// succeeded waits for r's end and fails t unless the application SUCCEEDED.
func succeeded(t *testing.T, e *testenv.Env, r *testenv.Running) (testenv.Result, *yarn.AppReport) {
	t.Helper()
	res, err := r.Wait()
	if err != nil {
		t.Fatal(err)
	}
	rep := e.Report(t, res.App, 2*time.Minute)
	if res.Code != 0 || rep.FinalStatus != yarn.Succeeded {
		t.Fatalf("submit exited %d, RM says %s/%s %q; want SUCCEEDED:\n%s", res.Code, rep.State, rep.FinalStatus, rep.Diagnostics, res.Out)
	}
	return res, rep
}

// amAttempts counts app's AM containers (each attempt's first, *_000001).
func amAttempts(e *testenv.Env, app string) int {
	logs, _ := e.ContainerLogs(app)
	n := 0
	for c := range logs {
		if strings.HasSuffix(c, "_000001") {
			n++
		}
	}
	return n
}

// TestKilledExecutor kills one executor with SIGKILL while the map stage runs and,
// separately, while the reduce stage runs: the job recomputes what was lost.
func TestKilledExecutor(t *testing.T) {
	e := setup(t)
	for _, stage := range []string{"map", "reduce"} {
		t.Run(stage, func(t *testing.T) {
			dir := e.Dir(t, "killed-executor-"+stage)
			in, want := input(t, e, dir)
			out := dir + "/out"
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
			defer cancel()
			r := e.Start(ctx, append([]string{"submit"}, append(yarnArgs("cluster"), e.Bin+"/faultjob", "wordcount", url(e, in), url(e, out), "6000", "6000")...)...)
			c := awaitLog(t, e, r, "faultjob: "+stage+" task started")
			kill9(t, r.App(), "executor", c)
			res, _ := succeeded(t, e, r)
			e.CheckCommitted(t, out, 4, want)
			if !strings.Contains(res.Out, "task attempts after lost executors") {
				t.Errorf("the summary does not say what was retried:\n%s", res.Out)
			}
		})
	}
}

// TestKilledAM kills the ApplicationMaster (the cluster-mode driver) mid-job and
// during the job commit: the second attempt ends SUCCEEDED with the whole output.
func TestKilledAM(t *testing.T) {
	e := setup(t)
	t.Run("mid-job", func(t *testing.T) {
		dir := e.Dir(t, "killed-am")
		in, want := input(t, e, dir)
		out := dir + "/out"
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		r := e.Start(ctx, append([]string{"submit"}, append(yarnArgs("cluster", "--conf", "spindle.yarn.maxAppAttempts=2"),
			e.Bin+"/faultjob", "wordcount", url(e, in), url(e, out), "4000", "0")...)...)
		awaitLog(t, e, r, "faultjob: map task started")
		kill9(t, r.App(), "am", "")
		res, _ := succeeded(t, e, r)
		e.CheckCommitted(t, out, 4, want)
		if n := amAttempts(e, res.App); n != 2 {
			t.Errorf("%d AM attempts, want 2", n)
		}
	})
	t.Run("in job commit", func(t *testing.T) {
		dir := e.Dir(t, "killed-am-commit")
		in, want := input(t, e, dir)
		out := dir + "/out"
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		// The first attempt kills itself after moving 2 of the 4 committed files.
		r := e.Start(ctx, append([]string{"submit"}, append(yarnArgs("cluster", "--conf", "spindle.yarn.maxAppAttempts=2",
			"--conf", "spindle.testing.killInJobCommit=2"), e.Bin+"/faultjob", "wordcount", url(e, in), url(e, out), "0", "0")...)...)
		res, _ := succeeded(t, e, r)
		e.CheckCommitted(t, out, 4, want)
		if n := amAttempts(e, res.App); n != 2 {
			t.Errorf("%d AM attempts, want 2 (the first killed in its job commit)", n)
		}
		logs, _ := e.ContainerLogs(res.App)
		var killed, recovered bool
		for _, l := range logs {
			killed = killed || strings.Contains(l, "killing this process in the job commit")
			recovered = recovered || strings.Contains(l, "output committed by an earlier application attempt")
		}
		if !killed || !recovered {
			t.Errorf("AM logs: killed in commit %v, commit recovered by attempt 2 %v", killed, recovered)
		}
	})
}

// TestUserCodeFailures: a user function that fails its first attempt on one
// partition is retried and the job succeeds; one that always fails ends the
// application FAILED on its first AM attempt, naming the partition.
func TestUserCodeFailures(t *testing.T) {
	e := setup(t)
	var want []string
	for i := range 100 {
		want = append(want, strconv.Itoa(i*i))
	}
	t.Run("first attempt fails", func(t *testing.T) {
		out := e.Dir(t, "flaky-once") + "/out"
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		r := e.Start(ctx, append([]string{"submit"}, append(yarnArgs("cluster"), e.Bin+"/faultjob", "flaky", url(e, out), "3", "once")...)...)
		res, _ := succeeded(t, e, r)
		e.CheckCommitted(t, out, 10, want)
		if !strings.Contains(res.Out, "1 task attempts after task errors") {
			t.Errorf("the summary does not name the retried task error:\n%s", res.Out)
		}
	})
	t.Run("always fails", func(t *testing.T) {
		out := e.Dir(t, "flaky-always") + "/out"
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		r := e.Start(ctx, append([]string{"submit"}, append(yarnArgs("cluster", "--conf", "spindle.yarn.maxAppAttempts=2", "--conf", "spindle.task.maxFailures=2"),
			e.Bin+"/faultjob", "flaky", url(e, out), "3", "always")...)...)
		res, err := r.Wait()
		if err != nil {
			t.Fatal(err)
		}
		rep := e.Report(t, res.App, 2*time.Minute)
		if res.Code == 0 || rep.FinalStatus != yarn.Failed || !strings.Contains(rep.Diagnostics, "element 30 always fails") || !strings.Contains(rep.Diagnostics, "partition 3") {
			t.Fatalf("exit %d, RM %s/%s %q; want FAILED naming partition 3 and the panic:\n%s", res.Code, rep.State, rep.FinalStatus, rep.Diagnostics, res.Out)
		}
		if n := amAttempts(e, res.App); n != 1 {
			t.Errorf("%d AM attempts; a failure retrying cannot mend must end the first", n)
		}
		if e.Exists(out + "/_SUCCESS") {
			t.Errorf("a failed job left %s/_SUCCESS", out)
		}
	})
}

// TestKilledClientModeSubmit: kill -9 of `spindle submit` in client mode ends the
// application within seconds, releases its containers and removes its staging dir;
// so does kill -9 of submit and its driver at once (a lost submitting machine),
// where the thin AM, seeing the driver gone, ends the application itself.
func TestKilledClientModeSubmit(t *testing.T) {
	e := setup(t)
	for _, tt := range []struct {
		name   string
		driver bool // kill the driver too
	}{{"submit", false}, {"submit and driver", true}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := e.Dir(t, "killed-"+tt.name)
			in, _ := input(t, e, dir)
			out := url(e, dir+"/out")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			r := e.Start(ctx, append([]string{"submit"}, append(yarnArgs("client"), e.Bin+"/faultjob", "wordcount", url(e, in), out, "60000", "0")...)...)
			awaitLog(t, e, r, "faultjob: map task started")
			app := r.App()
			id, err := yarn.ParseAppID(app)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := e.RM.Report(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			staging := path.Join("/user", rep.User, ".spindleStaging", app)
			if !e.Exists(staging) {
				t.Fatalf("no staging dir %s while the application runs", staging)
			}
			if tt.driver {
				for _, pid := range processesWithArg(out) {
					if pid != r.Cmd.Process.Pid {
						if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if err := r.Cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Wait(); err != nil {
				t.Fatal(err)
			}
			killed := time.Now()
			rep = e.Report(t, app, time.Minute)
			if !rep.State.Terminal() || rep.FinalStatus == yarn.Succeeded {
				t.Fatalf("after kill -9 the RM says %s/%s %q; want the application ended, KILLED or FAILED", rep.State, rep.FinalStatus, rep.Diagnostics)
			}
			t.Logf("application %s ended %s/%s %s after the kill: %q", app, rep.State, rep.FinalStatus, time.Since(killed).Round(time.Millisecond), rep.Diagnostics)
			testenv.Poll(t, "the application's processes gone", time.Minute, 200*time.Millisecond, func() bool {
				return len(testenv.Processes(app, "")) == 0
			})
			testenv.Poll(t, "staging dir "+staging+" removed", time.Minute, 200*time.Millisecond, func() bool { return !e.Exists(staging) })
			// The driver, submit's child, went with it (its parent-death signal).
			testenv.Poll(t, "the client-mode driver gone", time.Minute, 200*time.Millisecond, func() bool {
				return len(processesWithArg(out)) == 0
			})
		})
	}
}

// processesWithArg lists this machine's processes with arg on their command line.
func processesWithArg(arg string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err == nil && slices.Contains(strings.Split(string(cmd), "\x00"), arg) {
			out = append(out, pid)
		}
	}
	return out
}
