package ui

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

func mustRegexp(s string) *regexp.Regexp { return regexp.MustCompile(s) }

type fakeLogs struct{}

func (fakeLogs) ContainerLog(_ context.Context, app App, x Executor, file string) ([]byte, string, error) {
	if x.ID == "2" {
		return nil, "", errors.New("the NodeManager is gone")
	}
	return []byte("log " + file + " of " + x.Container + " <b>"), "from the test", nil
}

func get(t *testing.T, h http.Handler, path string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b), w.Result().Header
}

func TestPages(t *testing.T) {
	st, clock := recorded(t, true)
	h := NewHandler(Config{Store: st, Live: true, Logs: fakeLogs{}, Now: clock.now})
	tests := []struct {
		path   string
		status int
		want   []string // substrings the page must hold
	}{
		{"/", 200, []string{`id="count-active-jobs">1<`, `data-job="0" data-status="RUNNING"`, "<span>4/5 (1 running)</span>", `href="static/ui.css"`, "<svg"}},
		{"/jobs", 200, []string{"wordcount", "application_1_0001", "RUNNING"}},
		{"/job?id=0", 200, []string{`id="job-status">RUNNING<`, "Stage 0 · COMPLETE", "Stage 1 · ACTIVE", `<line class="edge"`, `href="stage?id=1&amp;attempt=0"`}},
		{"/job?id=7", 404, []string{"No job"}},
		{"/stages", 200, []string{`data-stage="0" data-attempt="0"`, "ReduceByKey at main.go:20", "2.9 KiB"}},
		{"/stage?id=0&attempt=0", 200, []string{`data-total="3" data-done="3" data-running="0" data-failed="1"`, `id="stage-records">30 / 15<`,
			"disk full", "NODE_LOCAL", "node-b", "Summary metrics of 3 completed tasks", "4.0 KiB"}},
		{"/stage?id=1&attempt=0", 200, []string{`data-done="1" data-running="1"`, `data-status="RUNNING"`}},
		{"/stage?id=9&attempt=0", 404, []string{"No attempt 0 of stage"}},
		{"/executors", 200, []string{`data-executor="1" data-active="true" data-complete="4"`, "node-a:4545", "5.0 MiB / 1.0 GiB",
			`href="logs?executor=1&amp;file=stderr"`, "http://node-a:8042/node/containerlogs/container_1_0001_01_000002/alice/stderr/"}},
		{"/environment", 200, []string{"spindle.executor.cores", "Go version"}},
		{"/timeline", 200, []string{"executor 1 · node-a", `class="task t-SUCCESS"`, `class="task t-FAILED"`}},
		{"/logs?executor=1&file=stdout", 200, []string{"log stdout of container_1_0001_01_000002 &lt;b&gt;", "from the test"}},
		{"/logs?executor=2", 200, []string{"the NodeManager is gone"}},
		{"/logs?executor=9", 404, []string{"No executor"}},
		{"/static/ui.js", 200, []string{"addEventListener"}},
	}
	for _, tt := range tests {
		code, body, hdr := get(t, h, tt.path)
		if code != tt.status {
			t.Errorf("GET %s: %d, want %d\n%s", tt.path, code, tt.status, body)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q in\n%s", tt.path, w, body)
			}
		}
		if hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control %q", tt.path, hdr.Get("Cache-Control"))
		}
		// Every link is relative: the pages live below /proxy/<app>/ and /history/<app>/.
		for _, m := range regexp.MustCompile(`(?:href|src)="(/[^"]*)"`).FindAllStringSubmatch(body, -1) {
			t.Errorf("GET %s: absolute link %s", tt.path, m[1])
		}
	}
}

func TestAPI(t *testing.T) {
	st, clock := recorded(t, false)
	h := NewHandler(Config{Store: st, Now: clock.now})
	var apps []struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Attempts []struct {
			Completed bool   `json:"completed"`
			StartTime string `json:"startTime"`
			SparkUser string `json:"sparkUser"`
			Duration  int64  `json:"duration"`
		} `json:"attempts"`
	}
	getJSON(t, h, "/api/v1/applications", &apps)
	if len(apps) != 1 || apps[0].ID != "application_1_0001" || len(apps[0].Attempts) != 1 || !apps[0].Attempts[0].Completed ||
		apps[0].Attempts[0].StartTime != "2026-05-01T12:00:00.000GMT" || apps[0].Attempts[0].SparkUser != "alice" || apps[0].Attempts[0].Duration != 2600 {
		t.Errorf("applications: %+v", apps)
	}
	var jobs []map[string]any
	getJSON(t, h, "/api/v1/applications/application_1_0001/jobs", &jobs)
	want := map[string]any{"jobId": 0.0, "status": "SUCCEEDED", "numTasks": 5.0, "numCompletedTasks": 5.0, "numFailedTasks": 1.0,
		"numCompletedStages": 2.0, "numActiveTasks": 0.0, "numCompletedIndices": 5.0}
	if len(jobs) != 1 {
		t.Fatalf("jobs: %v", jobs)
	}
	for k, v := range want {
		if jobs[0][k] != v {
			t.Errorf("job %s = %v, want %v", k, jobs[0][k], v)
		}
	}
	var stages []map[string]any
	getJSON(t, h, "/api/v1/applications/application_1_0001/stages", &stages)
	if len(stages) != 2 || stages[1]["stageId"] != 0.0 || stages[1]["numCompleteTasks"] != 3.0 || stages[1]["numFailedTasks"] != 1.0 ||
		stages[1]["inputRecords"] != 30.0 || stages[1]["status"] != "COMPLETE" || stages[0]["shuffleReadBytes"] != 3000.0 {
		t.Errorf("stages: %v", stages)
	}
	var stage map[string]any
	getJSON(t, h, "/api/v1/applications/application_1_0001/stages/0/0", &stage)
	if tasks, _ := stage["tasks"].(map[string]any); len(tasks) != 4 {
		t.Errorf("stage 0.0 has %d tasks, want 4", len(tasks))
	}
	var summary map[string]any
	getJSON(t, h, "/api/v1/applications/application_1_0001/stages/0/0/taskSummary?quantiles=0,1", &summary)
	if rt, _ := summary["executorRunTime"].([]any); len(rt) != 2 || rt[0] != 100.0 || rt[1] != 300.0 {
		t.Errorf("task summary: %v", summary)
	}
	var execs, all []map[string]any
	getJSON(t, h, "/api/v1/applications/application_1_0001/executors", &execs)
	getJSON(t, h, "/api/v1/applications/application_1_0001/allexecutors", &all)
	if len(execs) != 1 || len(all) != 2 || execs[0]["id"] != "1" || execs[0]["completedTasks"] != 4.0 || all[1]["failedTasks"] != 1.0 {
		t.Errorf("executors %v, all %v", execs, all)
	}
	if logs, _ := execs[0]["executorLogs"].(map[string]any); !strings.HasSuffix(logs["stdout"].(string), "/stdout/?start=-65536") {
		t.Errorf("executor logs %v", logs)
	}
	for _, p := range []string{"/api/v1/applications/other/jobs", "/api/v1/applications/application_1_0001/jobs/9", "/api/v1/nothing"} {
		if code, body, _ := get(t, h, p); code != http.StatusNotFound || !strings.Contains(body, `"message"`) {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
	}
	if code, _, _ := get(t, h, "/api/v1/applications/application_1_0001/stages/0/0/taskSummary?quantiles=2"); code != http.StatusBadRequest {
		t.Errorf("quantile 2: %d, want 400", code)
	}
}

func getJSON(t *testing.T, h http.Handler, path string, v any) {
	t.Helper()
	code, body, hdr := get(t, h, path)
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %d %s\n%s", path, code, hdr.Get("Content-Type"), body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

func TestMetrics(t *testing.T) {
	st, clock := recorded(t, true)
	st.SetPending(7)
	h := NewHandler(Config{Store: st, Live: true, Now: clock.now, Metrics: []func(*MetricsWriter){func(m *MetricsWriter) {
		m.Counter("spindle_allocator_containers_launched_total", "Launched.", 2, "app", "application_1_0001")
	}}})
	code, body, hdr := get(t, h, "/metrics")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics: %d %s", code, hdr.Get("Content-Type"))
	}
	for _, w := range []string{
		`spindle_scheduler_tasks_running{app="application_1_0001"} 1`,
		`spindle_scheduler_tasks_pending{app="application_1_0001"} 7`,
		`spindle_scheduler_tasks_failed_total{app="application_1_0001"} 1`,
		`spindle_scheduler_tasks_succeeded_total{app="application_1_0001"} 4`,
		`spindle_executor_heap_bytes{app="application_1_0001",executor="1",host="node-a",node="node-a:4545"} 5.24288e+06`,
		`spindle_executor_rss_bytes{app="application_1_0001",executor="2",host="node-b",node="node-b:4545"} 2.2020096e+07`,
		`spindle_allocator_containers_launched_total{app="application_1_0001"} 2`,
		"# TYPE spindle_executor_gc_total counter",
		"# HELP spindle_driver_goroutines ",
	} {
		if !strings.Contains(body, w) {
			t.Errorf("no %q in\n%s", w, body)
		}
	}
	// Each family's HELP and TYPE come once, before its samples.
	if n := strings.Count(body, "# TYPE spindle_executor_heap_bytes "); n != 1 {
		t.Errorf("TYPE of spindle_executor_heap_bytes %d times", n)
	}
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if !strings.HasPrefix(line, "# ") && !regexp.MustCompile(`^[a-z_]+(\{[^}]*\})? [-+0-9.e]+$`).MatchString(line) {
			t.Errorf("not an exposition line: %q", line)
		}
	}
}

func TestEscapeLabel(t *testing.T) {
	m := newMetricsWriter()
	m.Gauge("x", "h", 1, "l", "a\"b\\c\nd")
	var b strings.Builder
	if err := m.writeTo(&b); err != nil {
		t.Fatal(err)
	}
	if want := `x{l="a\"b\\c\nd"} 1`; !strings.Contains(b.String(), want) {
		t.Errorf("%q lacks %q", b.String(), want)
	}
}

func TestServerAnswers503UntilItHasAHandler(t *testing.T) {
	srv, err := Listen("127.0.0.1", "127.0.0.1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(srv.URL() + "jobs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("before SetHandler: %d", resp.StatusCode)
	}
	st, _ := recorded(t, false)
	srv.SetHandler(NewHandler(Config{Store: st}))
	resp, err = c.Get(srv.URL() + "jobs")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "wordcount") {
		t.Errorf("after SetHandler: %d %s", resp.StatusCode, b)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}
