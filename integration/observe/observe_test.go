// Package observe checks on the real minicluster what a person debugging a job
// sees of it: the live web UI through the ResourceManager's proxy, opened in a
// headless Chromium from the tracking URL the RM reports, while the job runs;
// /metrics through the proxy; the same pages from `spindle history` after the
// application ended; the JSON API against the job's summary; and `spindle logs`
// against Hadoop's own `yarn logs`.
package observe

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/history/yarnlogs"
	"github.com/spindle-engine/spindle/integration/cluster"
	"github.com/spindle-engine/spindle/integration/testenv"
	"github.com/spindle-engine/spindle/yarn"
)

var (
	setupOnce sync.Once
	shared    *testenv.Env
	setupErr  error
)

func setup(t *testing.T) *testenv.Env {
	t.Helper()
	c := cluster.FromEnv(t)
	setupOnce.Do(func() { shared, setupErr = testenv.New(c, "./integration/observe/internal/obsjob") })
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return shared
}

// chromium is Debian's browser, run headless.
const chromium = "/usr/bin/chromium"

// shots is where the screenshots go, below the repository's build/.
func shots(t *testing.T) string {
	d := filepath.Join(cluster.RepoRoot(), "build", "observe-screenshots")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// browse opens url in headless Chromium, saves a screenshot as name.png under
// build/observe-screenshots and returns the DOM after its scripts ran.
func browse(t *testing.T, ctx context.Context, url, name string) string {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("the browser test needs %s (Debian's chromium package): %v", chromium, err)
	}
	png := filepath.Join(shots(t), name+".png")
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir="+t.TempDir(), "--window-size=1400,1000", "--screenshot="+png, "--dump-dom", url)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}
	if fi, err := os.Stat(png); err != nil || fi.Size() == 0 {
		t.Fatalf("chromium %s: no screenshot %s: %v", url, png, err)
	}
	t.Logf("screenshot of %s: %s", url, png)
	return string(dom)
}

var client = &http.Client{Timeout: time.Minute}

func fetch(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s: %.300s", url, resp.Status, b)
	}
	return string(b), nil
}

func fetchJSON(ctx context.Context, url string, v any) error {
	b, err := fetch(ctx, url)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(b), v); err != nil {
		return fmt.Errorf("GET %s: %w: %.300s", url, err, b)
	}
	return nil
}

// apiJob and apiStage are the fields of Spark's API the tests read.
type apiJob struct {
	JobID             int    `json:"jobId"`
	Status            string `json:"status"`
	NumTasks          int    `json:"numTasks"`
	NumActiveTasks    int    `json:"numActiveTasks"`
	NumCompletedTasks int    `json:"numCompletedTasks"`
	NumFailedTasks    int    `json:"numFailedTasks"`
	NumKilledTasks    int    `json:"numKilledTasks"`
}

type apiStage struct {
	Status           string `json:"status"`
	StageID          int    `json:"stageId"`
	AttemptID        int    `json:"attemptId"`
	NumTasks         int    `json:"numTasks"`
	NumActiveTasks   int    `json:"numActiveTasks"`
	NumCompleteTasks int    `json:"numCompleteTasks"`
	NumFailedTasks   int    `json:"numFailedTasks"`
	NumKilledTasks   int    `json:"numKilledTasks"`
	InputRecords     int64  `json:"inputRecords"`
}

type apiExecutor struct {
	ID             string            `json:"id"`
	IsActive       bool              `json:"isActive"`
	CompletedTasks int               `json:"completedTasks"`
	FailedTasks    int               `json:"failedTasks"`
	TotalCores     int               `json:"totalCores"`
	Attributes     map[string]string `json:"attributes"`
}

// summaryLine is the job summary the driver prints and leaves in the RM's
// diagnostics: "jobs 1, stages 2, tasks 12 (0 failed attempts), ..." and
// "records read N".
var (
	summaryLine = regexp.MustCompile(`jobs (\d+), stages (\d+), tasks (\d+) \((\d+) failed attempts\)`)
	recordsLine = regexp.MustCompile(`records read (\d+);`)
)

type summary struct{ jobs, stages, tasks, failed, records int }

func parseSummary(t *testing.T, text string) summary {
	t.Helper()
	m := summaryLine.FindStringSubmatch(text)
	r := recordsLine.FindStringSubmatch(text)
	if m == nil || r == nil {
		t.Fatalf("no job summary in:\n%s", text)
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	return summary{n(m[1]), n(m[2]), n(m[3]), n(m[4]), n(r[1])}
}

// countsOf adds up what the API says the application did.
func countsOf(t *testing.T, ctx context.Context, base, app string) summary {
	t.Helper()
	var jobs []apiJob
	var stages []apiStage
	if err := fetchJSON(ctx, base+"api/v1/applications/"+app+"/jobs", &jobs); err != nil {
		t.Fatal(err)
	}
	if err := fetchJSON(ctx, base+"api/v1/applications/"+app+"/stages", &stages); err != nil {
		t.Fatal(err)
	}
	s := summary{jobs: len(jobs)}
	for _, st := range stages {
		if st.Status == "PENDING" || st.Status == "SKIPPED" {
			continue
		}
		s.stages++
		s.tasks += st.NumCompleteTasks
		s.failed += st.NumFailedTasks + st.NumKilledTasks
		s.records += int(st.InputRecords)
	}
	return s
}

// TestWatchAJob runs one application in cluster mode with an event log and
// follows it as a user would, from submission to its history and logs.
func TestWatchAJob(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	dir := e.Dir(t, "observe")
	events := "hdfs://" + e.C.Info.NN + dir + "/events"
	if err := e.FS.MkdirAll(dir+"/events", 0o777); err != nil {
		t.Fatal(err)
	}

	// The history server first: the application's final tracking URL names it.
	hs := e.Start(ctx, "history", "--dir", events, "--port", "0", "--bind", "127.0.0.1", "--host", "localhost")
	defer func() {
		_ = hs.Cmd.Process.Signal(os.Interrupt)
		if r, err := hs.Wait(); err != nil || r.Code != 0 {
			t.Errorf("spindle history ended %d %v:\n%s", r.Code, err, r.Out)
		}
	}()
	var historyURL string
	served := regexp.MustCompile(`at (http://localhost:\d+/)`)
	testenv.Poll(t, "spindle history to serve", 2*time.Minute, 100*time.Millisecond, func() bool {
		if m := served.FindStringSubmatch(hs.Output()); m != nil {
			historyURL = m[1]
		}
		return historyURL != ""
	})

	// Executors of 2g fit one per NodeManager beside the AM, and the job waits for
	// both: the executors run on both NodeManagers.
	sub := e.Start(ctx, "submit", "--master", "yarn", "--deploy-mode", "cluster", "--name", "observe-sums",
		"--num-executors", "2", "--executor-cores", "2", "--executor-memory", "2g", "--driver-memory", "512m",
		"--conf", "spindle.scheduler.minRegisteredResourcesRatio=1", "--conf", "spindle.scheduler.maxRegisteredResourcesWaitingTime=3m",
		"--conf", "spindle.eventLog.enabled=true", "--conf", "spindle.eventLog.dir="+events,
		"--conf", "spindle.yarn.historyServer.address="+strings.TrimSuffix(strings.TrimPrefix(historyURL, "http://"), "/"),
		filepath.Join(e.Bin, "obsjob"), "hdfs://"+e.C.Info.NN+dir+"/out", "25000")
	var app string
	testenv.Poll(t, "submit to print the application id", 3*time.Minute, 100*time.Millisecond, func() bool {
		app = sub.App()
		return app != ""
	})
	id, err := yarn.ParseAppID(app)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("application %s", app)

	// The tracking URL as the RM reports it: through its web proxy, at the web
	// app's real address.
	var tracking string
	testenv.Poll(t, "the RM to report a tracking URL", 3*time.Minute, 200*time.Millisecond, func() bool {
		r, err := e.RM.Report(ctx, id)
		if err == nil && r.State == yarn.StateRunning && strings.Contains(r.TrackingURL, "/proxy/"+app) {
			tracking = r.TrackingURL
		}
		return tracking != ""
	})
	if !strings.HasPrefix(tracking, "http") {
		tracking = "http://" + tracking
	}
	if !strings.HasSuffix(tracking, "/") {
		tracking += "/"
	}
	if !strings.Contains(tracking, e.C.Info.RMWebapp) {
		t.Fatalf("tracking URL %s is not at the RM's web app %s", tracking, e.C.Info.RMWebapp)
	}
	t.Logf("tracking URL %s", tracking)

	// spindle logs --follow from the start: it prints what the containers append
	// and ends by itself when the application does.
	follow := e.Start(ctx, "logs", "--follow", app)

	// While the job runs: its map stage has tasks running on both executors.
	var running apiStage
	testenv.Poll(t, "the map stage to run tasks (API through the proxy)", 4*time.Minute, 250*time.Millisecond, func() bool {
		var stages []apiStage
		if err := fetchJSON(ctx, tracking+"api/v1/applications/"+app+"/stages?status=active", &stages); err != nil {
			return false
		}
		for _, s := range stages {
			if s.NumTasks == 8 && s.NumActiveTasks >= 2 {
				running = s
				return true
			}
		}
		return false
	})
	if r, err := e.RM.Report(ctx, id); err != nil || r.State != yarn.StateRunning {
		t.Fatalf("the application no longer runs: %v %v", r, err)
	}
	t.Run("live pages", func(t *testing.T) {
		dom := browse(t, ctx, tracking, "live-jobs")
		for _, want := range []string{`id="count-active-jobs">1<`, `data-status="RUNNING"`, "observe-sums", `id="app-state">RUNNING<`} {
			if !strings.Contains(dom, want) {
				t.Errorf("live jobs page: no %q in\n%s", want, dom)
			}
		}
		if !regexp.MustCompile(`data-total="12"`).MatchString(dom) && !strings.Contains(dom, "/12") {
			t.Errorf("live jobs page does not show the job's 12 tasks:\n%s", dom)
		}
		stage := fmt.Sprintf("stage?id=%d&attempt=%d", running.StageID, running.AttemptID)
		dom = browse(t, ctx, tracking+stage, "live-stage")
		m := regexp.MustCompile(`id="stage-tasks" data-total="(\d+)" data-done="(\d+)" data-running="(\d+)"`).FindStringSubmatch(dom)
		if m == nil || m[1] != "8" || m[3] == "0" {
			t.Errorf("live stage page: tasks %v, want 8 of them with some running:\n%s", m, dom)
		}
		if n := strings.Count(dom, `data-status="RUNNING"`); n < 2 {
			t.Errorf("live stage page lists %d running tasks, want 2 or more", n)
		}
		dom = browse(t, ctx, tracking+"executors", "live-executors")
		execs := regexp.MustCompile(`data-executor="(\d+)" data-active="true"`).FindAllStringSubmatch(dom, -1)
		if len(execs) != 2 {
			t.Errorf("live executors page: %d active executors, want 2:\n%s", len(execs), dom)
		}
		for _, n := range e.C.Info.Nodes {
			if !strings.Contains(dom, ">"+n.NodeID+"<") {
				t.Errorf("live executors page names no executor on NodeManager %s", n.NodeID)
			}
		}
	})
	t.Run("metrics through the proxy", func(t *testing.T) {
		var body string
		want := map[string]bool{}
		for _, n := range e.C.Info.Nodes {
			want[n.NodeID] = true
		}
		series := regexp.MustCompile(`(?m)^spindle_executor_heap_bytes\{[^}]*node="([^"]+)"[^}]*\} ([0-9.e+]+)$`)
		testenv.Poll(t, "/metrics to show both NodeManagers' executors", time.Minute, 500*time.Millisecond, func() bool {
			b, err := fetch(ctx, tracking+"metrics")
			if err != nil {
				return false
			}
			body = b
			seen := map[string]bool{}
			for _, m := range series.FindAllStringSubmatch(b, -1) {
				if v, _ := strconv.ParseFloat(m[2], 64); v > 0 {
					seen[m[1]] = true
				}
			}
			for n := range want {
				if !seen[n] {
					return false
				}
			}
			return true
		})
		for _, w := range []string{"spindle_scheduler_tasks_running{", "spindle_executor_rss_bytes{", "spindle_allocator_containers_launched_total{"} {
			if !strings.Contains(body, w) {
				t.Errorf("/metrics has no %s", w)
			}
		}
	})
	t.Run("live logs", func(t *testing.T) {
		r := e.Command(t, ctx, "logs", app)
		if r.Code != 0 {
			t.Fatalf("spindle logs of the running application exited %d:\n%s", r.Code, r.Out)
		}
		blocks := yarnlogs.Parse(r.Out)
		local, node := e.ContainerLogs(app)
		stderrs := 0
		for _, b := range blocks {
			if b.Name != "stderr" {
				continue
			}
			stderrs++
			// The file grows while the container runs: what was printed begins it.
			if now, ok := local[b.Container]; !ok || !strings.HasPrefix(now, b.Content) || b.Node != node[b.Container] {
				t.Errorf("live stderr of %s on %s (%d bytes) does not begin the NodeManager's file of %s (%d bytes)", b.Container, b.Node, len(b.Content), node[b.Container], len(now))
			}
		}
		// A MiniYARNCluster's NodeManagers all serve one's web services; the others'
		// containers are warned about.
		if stderrs == 0 {
			t.Errorf("spindle logs printed no running container's stderr:\n%s", r.Out)
		}
		t.Logf("live logs: %d stderr files of %d containers", stderrs, len(local))
	})

	t.Run("live progress", func(t *testing.T) {
		// Once the first wave of map tasks is done, the pages show it while the
		// second runs.
		var stage apiStage
		testenv.Poll(t, "the first map tasks to finish", 3*time.Minute, 250*time.Millisecond, func() bool {
			if err := fetchJSON(ctx, fmt.Sprintf("%sapi/v1/applications/%s/stages/%d/%d", tracking, app, running.StageID, running.AttemptID), &stage); err != nil {
				return false
			}
			return stage.NumCompleteTasks >= 4 || stage.Status != "ACTIVE"
		})
		if stage.Status != "ACTIVE" || stage.NumCompleteTasks >= 8 {
			t.Fatalf("the map stage ended before the test saw it halfway: %+v", stage)
		}
		dom := browse(t, ctx, tracking+"jobs", "live-jobs-progress")
		m := regexp.MustCompile(`<span>(\d+)/12 \((\d+) running\)</span>`).FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("live jobs page shows no progress of 12 tasks with some running:\n%s", dom)
		}
		if done, _ := strconv.Atoi(m[1]); done < stage.NumCompleteTasks || done >= 12 {
			t.Errorf("live jobs page: %s of 12 tasks done, the API said %d a moment before", m[1], stage.NumCompleteTasks)
		}
		dom = browse(t, ctx, tracking+"timeline", "live-timeline")
		if n := strings.Count(dom, `class="task t-SUCCESS"`); n < 4 {
			t.Errorf("live timeline draws %d finished tasks, want 4 or more", n)
		}
	})

	res, err := sub.Wait()
	if err != nil || res.Code != 0 {
		t.Fatalf("submit exited %d %v:\n%s", res.Code, err, res.Out)
	}
	t.Run("follow", func(t *testing.T) {
		fr, err := follow.Wait()
		if err != nil || fr.Code != 0 {
			t.Fatalf("spindle logs --follow ended %d %v:\n%s", fr.Code, err, fr.Out)
		}
		// The map tasks print this line 25 s after they start, long after --follow
		// began: it followed the files as they grew.
		for _, want := range []string{"==> container_", "obsjob: map task done sleeping", "ended SUCCEEDED"} {
			if !strings.Contains(fr.Out, want) {
				t.Errorf("spindle logs --follow printed no %q:\n%.3000s", want, fr.Out)
			}
		}
	})
	sum := parseSummary(t, res.Out)
	if sum.jobs != 1 || sum.tasks != 12 {
		t.Errorf("summary %+v: want 1 job of 12 tasks", sum)
	}
	final := e.Report(t, app, time.Minute)
	wantFinal := historyURL + "history/" + app + "/" + strconv.Itoa(int(final.CurrentAttempt.Attempt)) + "/"
	if strings.TrimPrefix(final.OriginalTrackingURL, "http://") != strings.TrimPrefix(wantFinal, "http://") {
		t.Errorf("final tracking URL %q, want the history server's %q", final.OriginalTrackingURL, wantFinal)
	}
	// The RM's link of the ended application leads to its history page.
	noRedirect := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := noRedirect.Get(tracking); err != nil {
		t.Errorf("GET %s after the end: %v", tracking, err)
	} else {
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != wantFinal {
			t.Errorf("GET %s after the end: %s to %q, want a redirect to %s", tracking, resp.Status, loc, wantFinal)
		}
	}

	t.Run("history pages", func(t *testing.T) {
		dom := browse(t, ctx, historyURL, "history-list")
		if !strings.Contains(dom, `data-app="`+app+`" data-completed="true"`) {
			t.Errorf("history list does not show %s completed:\n%s", app, dom)
		}
		// Through the RM's tracking URL, which redirects there.
		page := wantFinal
		dom = browse(t, ctx, tracking, "history-jobs")
		for _, want := range []string{`id="count-completed-jobs">1<`, `id="count-active-jobs">0<`, `data-status="SUCCEEDED"`, "<span>12/12</span>"} {
			if !strings.Contains(dom, want) {
				t.Errorf("history jobs page: no %q in\n%s", want, dom)
			}
		}
		dom = browse(t, ctx, page+fmt.Sprintf("stage?id=%d&attempt=%d", running.StageID, running.AttemptID), "history-stage")
		if !strings.Contains(dom, `id="stage-tasks" data-total="8" data-done="8" data-running="0"`) {
			t.Errorf("history stage page does not show 8 of 8 tasks done:\n%s", dom)
		}
		if n := strings.Count(dom, `data-status="SUCCESS"`); n < 8 {
			t.Errorf("history stage page lists %d successful tasks, want 8", n)
		}
		dom = browse(t, ctx, page+"executors", "history-executors")
		done := 0
		for _, m := range regexp.MustCompile(`data-executor="\d+" data-active="\w+" data-complete="(\d+)"`).FindAllStringSubmatch(dom, -1) {
			n, _ := strconv.Atoi(m[1])
			done += n
		}
		if done != sum.tasks {
			t.Errorf("history executors page: %d tasks complete, the summary says %d", done, sum.tasks)
		}
	})
	t.Run("API matches the summary", func(t *testing.T) {
		got := countsOf(t, ctx, historyURL, app)
		if got != sum {
			t.Errorf("history API counts %+v, the job summary %+v", got, sum)
		}
		var execs []apiExecutor
		if err := fetchJSON(ctx, historyURL+"api/v1/applications/"+app+"/allexecutors", &execs); err != nil {
			t.Fatal(err)
		}
		tasks, nodes := 0, map[string]bool{}
		for _, x := range execs {
			tasks += x.CompletedTasks
			nodes[x.Attributes["NODE_ID"]] = true
		}
		if tasks != sum.tasks || len(execs) != 2 || len(nodes) != 2 {
			t.Errorf("executors %+v: %d tasks on %d nodes, want %d tasks of 2 executors on 2 nodes", execs, tasks, len(nodes), sum.tasks)
		}
	})
	t.Run("logs as yarn logs prints them", func(t *testing.T) {
		// Hadoop's own LogsCLI, from the harness's classpath, once the NodeManagers
		// have uploaded every container's logs.
		var want []yarnlogs.Block
		containers := func(bs []yarnlogs.Block) int {
			seen := map[string]bool{}
			for _, b := range bs {
				seen[b.Container] = true
			}
			return len(seen)
		}
		testenv.Poll(t, "yarn logs to show the aggregated logs of the AM and both executors", 3*time.Minute, time.Second, func() bool {
			cmd := cluster.HarnessCommand(ctx, "yarn-logs", "--conf-dir", e.C.ConfDir, "-applicationId", app)
			out, err := cmd.Output()
			if err != nil {
				return false
			}
			want = yarnlogs.Parse(string(out))
			return containers(want) >= 3 && !strings.Contains(string(out), "belongs to a running container")
		})
		r := e.Command(t, ctx, "logs", app)
		if r.Code != 0 {
			t.Fatalf("spindle logs exited %d:\n%s", r.Code, r.Out)
		}
		got := yarnlogs.Parse(r.Out)
		if !slices.Equal(got, want) {
			t.Errorf("spindle logs printed %d files of %d containers, yarn logs %d of %d; first difference: %s",
				len(got), containers(got), len(want), containers(want), firstDiff(got, want))
		}
		one := want[0].Container
		r = e.Command(t, ctx, "logs", "--container", one, app)
		for _, b := range yarnlogs.Parse(r.Out) {
			if b.Container != one {
				t.Errorf("spindle logs --container %s printed %s", one, b.Container)
			}
		}
	})
}

func firstDiff(got, want []yarnlogs.Block) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("file %d: %s %s on %s (%d bytes), want %s %s on %s (%d bytes)", i,
				got[i].Container, got[i].Name, got[i].Node, len(got[i].Content), want[i].Container, want[i].Name, want[i].Node, len(want[i].Content))
		}
	}
	return fmt.Sprintf("%d files, want %d", len(got), len(want))
}
