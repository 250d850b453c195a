package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/examples/datagen"
	"github.com/spindle-engine/spindle/integration/testenv"
	"github.com/spindle-engine/spindle/yarn"
)

// nodeLocal reads "N node-local" from the job summary a run printed.
var nodeLocal = regexp.MustCompile(`(\d+) node-local`)

// TestWordCount counts words of a multi-block HDFS file (1 MiB blocks, 2 replicas) on
// YARN in cluster and client mode, and compares the output with a plain Go count.
func TestWordCount(t *testing.T) {
	e := setup(t)
	var text bytes.Buffer
	if err := datagen.Text(&text, 5<<20, 20000, 11); err != nil {
		t.Fatal(err)
	}
	dir := e.dir(t, "wordcount")
	in := dir + "/in.txt"
	e.writeHDFS(t, in, text.Bytes(), 1<<20)
	want := map[string]int{}
	for _, w := range strings.Fields(text.String()) {
		want[w]++
	}
	for _, mode := range []string{"cluster", "client"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			out := dir + "/out-" + mode
			// Executors of 2g (3 GB containers) fit one per NodeManager beside the AM,
			// and the job waits for both, so tasks run on both NodeManagers: they share
			// one host name, so locality alone does not spread them.
			r := e.submit(t, ctx, append(e.yarnArgs(mode, "--name", "e2e-wordcount-"+mode, "--conf", "spindle.files.maxPartitionBytes=1m",
				"--executor-memory", "2g", "--conf", "spindle.scheduler.minRegisteredResourcesRatio=1", "--conf", "spindle.scheduler.maxRegisteredResourcesWaitingTime=3m"),
				e.bin+"/wordcount", "hdfs://"+in, "hdfs://"+out)...)
			if r.code != 0 {
				t.Fatalf("submit exited %d:\n%s", r.code, r.out)
			}
			rep := e.report(t, r.app)
			if rep.State != yarn.StateFinished || rep.FinalStatus != yarn.Succeeded {
				t.Fatalf("RM reports %s/%s: %s", rep.State, rep.FinalStatus, rep.Diagnostics)
			}
			got := map[string]int{}
			for _, line := range strings.Split(strings.TrimSpace(e.readParts(t, out)), "\n") {
				w, n, ok := strings.Cut(line, "\t")
				c, err := strconv.Atoi(n)
				if !ok || err != nil {
					t.Fatalf("output line %q is not word<TAB>count", line)
				}
				got[w] += c
			}
			if len(got) != len(want) {
				t.Fatalf("%d distinct words in the output, want %d", len(got), len(want))
			}
			for w, n := range want {
				if got[w] != n {
					t.Fatalf("count of %q = %d, want %d", w, got[w], n)
				}
			}
			if !e.exists(out + "/_SUCCESS") {
				t.Fatalf("no _SUCCESS in %s", out)
			}
			// The summary (the driver's stderr in client mode, the final diagnostics in
			// cluster mode) counts node-local tasks: the splits' DataNodes are the
			// NodeManagers' host.
			m := nodeLocal.FindStringSubmatch(r.out + rep.Diagnostics)
			if m == nil || m[1] == "0" {
				t.Errorf("no node-local tasks in the summary:\n%s\n%s", r.out, rep.Diagnostics)
			}
			// Executors ran tasks on both NodeManagers, and logged as JSON lines.
			logs, nodes := e.containerLogs(t, r.app)
			ran := map[string]bool{}
			for id, l := range logs {
				if strings.Contains(l, `"role":"executor"`) && strings.Contains(l, `"task finished"`) {
					ran[nodes[id]] = true
				}
			}
			if len(ran) != 2 {
				t.Errorf("executors ran tasks on %d NodeManagers (%v), want 2; containers: %v", len(ran), ran, nodes)
			}
			// In cluster mode the driver logs in the AM's container: every executor's
			// connection is encrypted exactly when the run asks.
			if mode == "cluster" {
				registered, encrypted := 0, 0
				for _, l := range logs {
					for _, line := range strings.Split(l, "\n") {
						if strings.Contains(line, `"executor registered"`) && strings.Contains(line, `"role":"driver"`) {
							registered++
							if strings.Contains(line, `"encrypted":true`) {
								encrypted++
							}
						}
					}
				}
				if want := map[bool]int{true: registered, false: 0}[crypto]; registered == 0 || encrypted != want {
					t.Errorf("%d executors registered, %d encrypted; encryption %v", registered, encrypted, crypto)
				}
			}
		})
	}
}

// TestRevenue runs the seed's revenue-by-region job in cluster mode and compares the
// table the driver printed (the AM container's stdout) with a plain Go computation.
func TestRevenue(t *testing.T) {
	e := setup(t)
	var sales bytes.Buffer
	if err := datagen.Sales(&sales, 4<<20, 5); err != nil {
		t.Fatal(err)
	}
	in := e.dir(t, "revenue") + "/sales.csv"
	e.writeHDFS(t, in, sales.Bytes(), 1<<20)
	want, err := datagen.TopRevenue(bytes.NewReader(sales.Bytes()), 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 5 {
		t.Fatalf("the generated sales have %d regions; the check needs several", len(want))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Two cores per executor: the test cluster's scheduler reports one vcore for every
	// container, which must not make the AM refuse them.
	r := e.submit(t, ctx, append(e.yarnArgs("cluster", "--name", "e2e-revenue", "--executor-cores", "2"), e.bin+"/revenue", "hdfs://"+in)...)
	if r.code != 0 {
		t.Fatalf("submit exited %d:\n%s", r.code, r.out)
	}
	stdout := e.amStdout(t, r.app)
	if got := strings.Count(stdout, "\n"); got != len(want)+1 {
		t.Fatalf("the driver printed %d lines, want a header and %d rows:\n%s", got, len(want), stdout)
	}
	for _, line := range want {
		if !strings.Contains(stdout, line) {
			t.Fatalf("the driver's output lacks %q:\n%s", line, stdout)
		}
	}
}

// amStdout is the stdout of the application's first container, the AM.
func (e *env) amStdout(t *testing.T, app string) string {
	t.Helper()
	logs, _ := e.containerLogs(t, app)
	for id := range logs {
		if strings.HasSuffix(id, "_000001") {
			files, err := e.c.ContainerLogs(app, id)
			if err != nil {
				t.Fatal(err)
			}
			return files["stdout"]
		}
	}
	t.Fatalf("no AM container logs for %s", app)
	return ""
}

// TestFailures checks that failed, killed and impossible applications end as users
// expect, with the reason where they look for it.
func TestFailures(t *testing.T) {
	e := setup(t)
	t.Run("bad arguments", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		// Bad arguments are the user's to mend, not YARN's: even with two attempts
		// allowed, the first unregisters FAILED with the job's error and no second
		// AM starts.
		r := e.submit(t, ctx, append(e.yarnArgs("cluster", "--conf", "spindle.yarn.maxAppAttempts=2"), e.bin+"/wordcount", "only-one-arg")...)
		if r.code == 0 || !strings.Contains(r.out, "usage: wordcount") {
			t.Fatalf("submit exited %d; want non-zero with the job's usage error:\n%s", r.code, r.out)
		}
		rep := e.report(t, r.app)
		if rep.FinalStatus != yarn.Failed || !strings.Contains(rep.Diagnostics, "usage: wordcount") {
			t.Fatalf("RM reports %s/%s %q; want FAILED with the usage error", rep.State, rep.FinalStatus, rep.Diagnostics)
		}
		logs, _ := e.containerLogs(t, r.app)
		attempts := 0
		for id := range logs {
			if strings.HasSuffix(id, "_000001") {
				attempts++
			}
		}
		if attempts != 1 {
			t.Fatalf("%d AM attempts ran, want 1 (containers %v)", attempts, logs)
		}
	})
	t.Run("panic in user code", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		r := e.submit(t, ctx, append(e.yarnArgs("cluster", "--conf", "spindle.task.maxFailures=2"), e.bin+"/testjob", "panic", "10")...)
		if r.code == 0 || !strings.Contains(r.out, "e2e boom at element 9") {
			t.Fatalf("submit exited %d; want non-zero with the panic message:\n%s", r.code, r.out)
		}
		rep := e.report(t, r.app)
		if rep.FinalStatus != yarn.Failed || !strings.Contains(rep.Diagnostics, "e2e boom at element 9") {
			t.Fatalf("RM reports %s/%s %q; want FAILED with the panic", rep.State, rep.FinalStatus, rep.Diagnostics)
		}
	})
	t.Run("executors keep dying", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		r := e.submit(t, ctx, append(e.yarnArgs("cluster", "--conf", "spindle.executor.maxNumFailures=2",
			"--conf", "spindle.scheduler.maxRegisteredResourcesWaitingTime=1s"), e.bin+"/testjob", "crash", "3")...)
		rep := e.report(t, r.app)
		if r.code == 0 || rep.FinalStatus != yarn.Failed || !strings.Contains(rep.Diagnostics, "executor failures") {
			t.Fatalf("submit exited %d, RM reports %s/%s %q; want FAILED for executor failures:\n%s", r.code, rep.State, rep.FinalStatus, rep.Diagnostics, r.out)
		}
	})
	t.Run("kill", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out := e.dir(t, "slow") + "/out"
		r := e.submit(t, ctx, append(e.yarnArgs("cluster", "--conf", "spindle.yarn.submit.waitAppCompletion=false"),
			e.bin+"/testjob", "slow", "hdfs://"+out, "1000")...)
		if r.code != 0 || r.app == "" {
			t.Fatalf("submit exited %d:\n%s", r.code, r.out)
		}
		// Kill once a task has started writing, so that there is output to hide.
		for deadline := time.Now().Add(2 * time.Minute); !e.exists(out + "/_temporary"); {
			if time.Now().After(deadline) {
				t.Fatalf("the job never started writing %s", out)
			}
			time.Sleep(200 * time.Millisecond) // polling HDFS
		}
		// The driver's progress reaches the RM through the AM's heartbeats.
		id, _ := yarn.ParseAppID(r.app)
		for deadline := time.Now().Add(2 * time.Minute); ; {
			rep, err := e.rm.Report(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Progress > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the RM never saw progress of %s", r.app)
			}
			time.Sleep(200 * time.Millisecond) // polling the RM
		}
		k := e.run(t, ctx, "kill", r.app)
		if k.code != 0 {
			t.Fatalf("spindle kill exited %d:\n%s", k.code, k.out)
		}
		rep := e.report(t, r.app)
		if rep.State != yarn.StateKilled {
			t.Fatalf("RM reports %s/%s, want KILLED", rep.State, rep.FinalStatus)
		}
		if e.exists(out + "/_SUCCESS") {
			t.Fatal("a killed job left _SUCCESS")
		}
		if infos, err := e.fs.ReadDir(out); err == nil {
			for _, fi := range infos {
				if strings.HasPrefix(fi.Name(), "part-") {
					t.Fatalf("a killed job left visible output %s", fi.Name())
				}
			}
		}
	})
	t.Run("interrupted client-mode driver", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out := e.dir(t, "interrupted") + "/out"
		cmd := exec.CommandContext(ctx, filepath.Join(e.bin, "spindle"), append([]string{"submit"},
			append(e.yarnArgs("client"), e.bin+"/testjob", "slow", "hdfs://"+out, "1000")...)...)
		cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+e.c.ConfDir, "HADOOP_USER_NAME="+deploy.HadoopUser())
		var buf testenv.SyncBuffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(2 * time.Minute); !e.exists(out + "/_temporary"); {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("the job never started writing:\n%s", buf.String())
			}
			time.Sleep(200 * time.Millisecond) // polling HDFS
		}
		cmd.Process.Signal(os.Interrupt)
		err := cmd.Wait()
		app := appIDPattern.FindString(buf.String())
		if err == nil || app == "" {
			t.Fatalf("interrupted submit: %v\n%s", err, buf.String())
		}
		rep := e.report(t, app)
		if rep.FinalStatus != yarn.Killed || !strings.Contains(rep.Diagnostics, "interrupted") {
			t.Fatalf("RM reports %s/%s %q; want KILLED by the interrupted driver", rep.State, rep.FinalStatus, rep.Diagnostics)
		}
		if e.exists(out + "/_SUCCESS") {
			t.Fatal("an interrupted job left _SUCCESS")
		}
	})
	t.Run("executor larger than the cluster allows", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		args := e.yarnArgs("cluster")
		args = append(args, "--executor-memory", "64g", e.bin+"/wordcount", "a", "b")
		r := e.submit(t, ctx, args...)
		if r.code == 0 || r.app != "" || !strings.Contains(r.out, "8192") {
			t.Fatalf("submit exited %d; want an error before submit naming the cluster maximum (8192 MB):\n%s", r.code, r.out)
		}
	})
}

// run runs another spindle subcommand.
func (e *env) run(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	return e.command(t, ctx, args...)
}
