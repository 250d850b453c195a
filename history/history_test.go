package history

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/ui"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// events is an application of one job of one stage of n tasks, at known times;
// with end it ends.
func events(app string, n int, end bool) []ui.Event {
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	evs := []ui.Event{
		{Kind: ui.KindAppStart, Time: at(0), App: &ui.AppEvent{ID: app, Name: "wordcount", User: "alice", Conf: map[string]string{"k": "v"}}},
		{Kind: ui.KindExecutorAdded, Time: at(1), Executor: &ui.ExecutorEvent{ID: "1", Host: "node-a", Cores: 2, Container: "container_1"}},
		{Kind: ui.KindJobStart, Time: at(2), Job: &ui.JobEvent{ID: 0, Name: "Collect", Stages: []ui.StageInfo{{ID: 0, Name: "Collect", NumTasks: n, Shuffle: -1}}}},
		{Kind: ui.KindStageSubmitted, Time: at(3), Stage: &ui.StageEvent{ID: 0, Job: 0, Name: "Collect", NumTasks: n}},
	}
	for i := range n {
		evs = append(evs,
			ui.Event{Kind: ui.KindTaskStart, Time: at(10 + i), Task: &ui.TaskEvent{ID: int64(i), Partition: i, Executor: "1", Host: "node-a"}},
			ui.Event{Kind: ui.KindTaskEnd, Time: at(20 + i), Task: &ui.TaskEvent{ID: int64(i), Partition: i, Executor: "1", Host: "node-a",
				Metrics: &ui.TaskMetrics{DurationMs: 10, RecordsRead: 3}}})
	}
	if end {
		evs = append(evs,
			ui.Event{Kind: ui.KindStageCompleted, Time: at(100), Stage: &ui.StageEvent{ID: 0, Job: 0}},
			ui.Event{Kind: ui.KindJobEnd, Time: at(101), Job: &ui.JobEvent{ID: 0}},
			ui.Event{Kind: ui.KindAppEnd, Time: at(102), App: &ui.AppEvent{ID: app, Status: "SUCCEEDED"}})
	}
	return evs
}

func write(t *testing.T, dir, app string, evs []ui.Event, maxSize int64) *Writer {
	t.Helper()
	w, err := NewWriter(context.Background(), WriterConfig{FS: hdfs.NewFileSystems(hdfs.Options{}), Dir: dir, Name: app,
		MaxFileSize: maxSize, Log: zerolog.Nop()}, evs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs[1:] {
		w.Record(ev)
	}
	return w
}

func TestEventLogRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		tasks     int
		maxSize   int64
		end       bool
		wantParts int // at least
		completed bool
	}{
		{"one part", 3, 0, true, 2, true},
		{"rolled by size", 40, 500, true, 4, true},
		{"not ended", 3, 0, false, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			app := "application_1_0001"
			evs := events(app, tt.tasks, tt.end)
			w := write(t, dir, app, evs, tt.maxSize)
			if err := w.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			_, err := os.Stat(filepath.Join(dir, app, inProgress))
			if tt.completed == (err == nil) {
				t.Errorf("in-progress marker exists: %v, want %v", err == nil, !tt.completed)
			}
			logs, err := List(context.Background(), hdfs.NewFileSystems(hdfs.Options{}), dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(logs) != 1 {
				t.Fatalf("%d logs listed, want 1", len(logs))
			}
			a := logs[0]
			if a.App.ID != app || a.App.Name != "wordcount" || !a.Started.Equal(t0) || a.Completed() != tt.completed || len(a.Parts) < tt.wantParts {
				t.Errorf("listed %+v (%d parts), want %s completed=%v with at least %d parts", a.App, len(a.Parts), app, tt.completed, tt.wantParts)
			}
			if tt.completed && a.Status != "SUCCEEDED" {
				t.Errorf("status %q", a.Status)
			}
			st := ui.NewStore(ui.Limits{})
			if err := Replay(context.Background(), a, st); err != nil {
				t.Fatal(err)
			}
			s, ok := st.Stage(0, 0, true)
			if !ok || s.Done != tt.tasks || len(s.Tasks) != tt.tasks || s.Totals.RecordsRead != int64(3*tt.tasks) {
				t.Errorf("replayed stage: %+v", s)
			}
			if got := st.App(); got.ID != app || got.Ended.IsZero() == tt.completed {
				t.Errorf("replayed app %+v", got)
			}
		})
	}
}

// TestCrashLeavesAReadableLog: a driver that dies leaves its last line cut short;
// the log still lists and replays up to it.
func TestCrashLeavesAReadableLog(t *testing.T) {
	dir := t.TempDir()
	app := "application_1_0002"
	w := write(t, dir, app, events(app, 5, false), 0)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	logs, err := List(context.Background(), hdfs.NewFileSystems(hdfs.Options{}), dir)
	if err != nil || len(logs) != 1 {
		t.Fatalf("list: %v %v", logs, err)
	}
	last := logs[0].Parts[len(logs[0].Parts)-1]
	f, err := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"kind":"TaskStart","time":"2026-05-01T12:00:01Z","task":{"id":9`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	st := ui.NewStore(ui.Limits{})
	if err := Replay(context.Background(), logs[0], st); err != nil {
		t.Fatalf("replay of a crashed log: %v", err)
	}
	if s, _ := st.Stage(0, 0, false); s.Done != 5 {
		t.Errorf("replayed %d tasks done, want 5", s.Done)
	}
	// A cut line anywhere but in the newest part is corruption, and says where.
	if len(logs[0].Parts) > 1 {
		first := logs[0]
		first.Parts = []string{last, first.Parts[0]}
		if err := Replay(context.Background(), first, ui.NewStore(ui.Limits{})); err == nil || !strings.Contains(err.Error(), last) {
			t.Errorf("replay with a cut line in an older part: %v", err)
		}
	}
}

func TestListSkipsOthersAndSortsNewestFirst(t *testing.T) {
	dir := t.TempDir()
	for i, app := range []string{"application_1_0001", "application_1_0002"} {
		evs := events(app, 1, true)
		for j := range evs {
			evs[j].Time = evs[j].Time.Add(time.Duration(i) * time.Hour)
		}
		if err := write(t, dir, app, evs, 0).Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "not-a-log"), 0o755); err != nil {
		t.Fatal(err)
	}
	logs, err := List(context.Background(), hdfs.NewFileSystems(hdfs.Options{}), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 || logs[0].App.ID != "application_1_0002" || logs[1].App.ID != "application_1_0001" {
		t.Fatalf("listed %d: %+v", len(logs), logs)
	}
	if a, ok := Find(logs, "application_1_0001", ""); !ok || a.Name != "application_1_0001" {
		t.Errorf("find: %+v %v", a, ok)
	}
	if _, ok := Find(logs, "application_1_0009", ""); ok {
		t.Error("found an application that has no log")
	}
}

func TestServer(t *testing.T) {
	dir := t.TempDir()
	done := "application_1_0001"
	if err := write(t, dir, done, events(done, 4, true), 0).Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	running := "application_1_0002"
	w := write(t, dir, running, events(running, 2, false), 0)
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := NewServer(ServerConfig{FS: hdfs.NewFileSystems(hdfs.Options{}), Dir: dir, Log: zerolog.Nop()})
	tests := []struct {
		path   string
		status int
		want   []string
	}{
		{"/", 200, []string{`data-app="application_1_0001" data-completed="true"`, `data-app="application_1_0002" data-completed="false"`,
			`href="history/application_1_0001/"`, "INCOMPLETE", `href="static/ui.css"`}},
		{"/static/ui.css", 200, []string{"body"}},
		{"/history/application_1_0001/", 200, []string{`id="count-completed-jobs">1<`, "SUCCEEDED", " · history"}},
		{"/history/application_1_0001/stage?id=0&attempt=0", 200, []string{`data-total="4" data-done="4"`}},
		{"/history/application_1_0002/jobs", 200, []string{"INCOMPLETE", `id="count-active-jobs">1<`}},
		{"/history/application_1_0009/", 404, []string{"no event log of application_1_0009"}},
		{"/api/v1/applications?status=completed", 200, []string{`"id": "application_1_0001"`}},
		{"/api/v1/applications/application_1_0001/jobs", 200, []string{`"numCompletedTasks": 4`, `"status": "SUCCEEDED"`}},
		{"/api/v1/applications/application_1_0002/stages", 200, []string{`"numCompleteTasks": 2`, `"status": "ACTIVE"`}},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, tt.path, nil)
		rw := httptest.NewRecorder()
		s.ServeHTTP(rw, req)
		b, _ := io.ReadAll(rw.Result().Body)
		if rw.Code != tt.status {
			t.Errorf("GET %s: %d, want %d\n%s", tt.path, rw.Code, tt.status, b)
			continue
		}
		for _, want := range tt.want {
			if !strings.Contains(string(b), want) {
				t.Errorf("GET %s: no %q in\n%s", tt.path, want, b)
			}
		}
	}
	// The listing names completed applications only when asked for them.
	req := httptest.NewRequest(http.MethodGet, "/api/v1/applications?status=completed", nil)
	rw := httptest.NewRecorder()
	s.ServeHTTP(rw, req)
	var apps []ui.AppInfo
	if err := json.Unmarshal(rw.Body.Bytes(), &apps); err != nil || len(apps) != 1 {
		t.Errorf("completed applications: %v %s", err, rw.Body.Bytes())
	}
	// An incomplete log that grew is replayed again.
	all := events(running, 2, true)
	more := all[len(all)-3:] // the stage's, job's and application's ends
	part := filepath.Join(dir, running, partName(2))
	f, err := os.Create(part)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for _, ev := range more {
		if err := enc.Encode(ev); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	req = httptest.NewRequest(http.MethodGet, "/api/v1/applications/application_1_0002/jobs", nil)
	rw = httptest.NewRecorder()
	s.ServeHTTP(rw, req)
	if !strings.Contains(rw.Body.String(), `"status": "SUCCEEDED"`) {
		t.Errorf("after the log grew: %s", rw.Body.String())
	}
}
