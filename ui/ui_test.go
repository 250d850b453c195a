package ui

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/executor"
	"github.com/spindle-engine/spindle/scheduler"
)

// fakeClock is a clock that moves on only when told: the recorded events' times
// are then known.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) tick(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// recorded drives a Recorder as a scheduler and two executors would for one job
// of two stages: a map stage of 3 tasks (one attempt of partition 2 fails on
// executor 2 and runs again on executor 1) and a result stage of 2 tasks reading
// its shuffle. The job and the application end unless running is set, which
// stops with a result task still running.
func recorded(t *testing.T, running bool) (*Store, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: t0}
	st := NewStore(Limits{})
	rec := NewRecorder(st)
	rec.now = clock.now
	rec.AppStarted(AppEvent{ID: "application_1_0001", Name: "wordcount", User: "alice", Master: "yarn", Mode: "cluster",
		Conf: map[string]string{"spindle.executor.cores": "2"}, Runtime: map[string]string{"Go version": "go1.x"}})
	clock.tick(time.Second)
	rec.ExecutorRegistered(executor.Details{ID: "1", Host: "node-a", Container: "container_1_0001_01_000002", Cores: 2, Memory: 1 << 30})
	rec.ExecutorRegistered(executor.Details{ID: "2", Host: "node-b", Container: "container_1_0001_01_000003", Cores: 2, Memory: 1 << 30})
	rec.ExecutorHeartbeat("1", executor.Heartbeat{Node: "node-a:4545", NodeHTTP: "node-a:8042", HeapBytes: 5 << 20, RSSBytes: 20 << 20, GCCount: 3})
	rec.ExecutorHeartbeat("2", executor.Heartbeat{Node: "node-b:4545", NodeHTTP: "node-b:8042", HeapBytes: 6 << 20, RSSBytes: 21 << 20, GCCount: 4})
	mapStage := scheduler.StageSpec{ID: 0, Name: "ReduceByKey at main.go:20", NumTasks: 3, ShuffleID: 0}
	result := scheduler.StageSpec{ID: 1, Name: "Collect at main.go:21", NumTasks: 2, ShuffleID: -1, Parents: []int{0}}
	job := &scheduler.JobSpec{Name: "Collect at main.go:21", Stages: []scheduler.StageSpec{mapStage, result}}
	rec.JobStarted(job)
	rec.StageSubmitted(&mapStage, 0, 3)
	tasks := []*scheduler.Task{
		{ID: 0, StageID: 0, Partition: 0, Locality: scheduler.NodeLocal},
		{ID: 1, StageID: 0, Partition: 1},
		{ID: 2, StageID: 0, Partition: 2},
	}
	execs := []string{"1", "1", "2"}
	for i, tk := range tasks {
		rec.TaskStarted(tk, execs[i])
	}
	clock.tick(100 * time.Millisecond)
	for i, tk := range tasks[:2] {
		rec.TaskEnded(tk, execs[i], &scheduler.TaskResult{Metrics: scheduler.TaskMetrics{Duration: time.Duration(100*(i+1)) * time.Millisecond,
			RecordsRead: 10, RecordsWritten: 5, ShuffleWriteBytes: 1000}}, nil)
	}
	rec.TaskEnded(tasks[2], "2", nil, errors.New("disk full"))
	retry := &scheduler.Task{ID: 3, StageID: 0, Partition: 2, Attempt: 1}
	rec.TaskStarted(retry, "1")
	clock.tick(300 * time.Millisecond)
	rec.TaskEnded(retry, "1", &scheduler.TaskResult{Metrics: scheduler.TaskMetrics{Duration: 300 * time.Millisecond,
		RecordsRead: 10, RecordsWritten: 5, ShuffleWriteBytes: 1000, SpillBytes: 4096}}, nil)
	rec.StageCompleted(&mapStage, 0, nil)
	rec.StageSubmitted(&result, 0, 2)
	r0 := &scheduler.Task{ID: 4, StageID: 1, Partition: 0}
	r1 := &scheduler.Task{ID: 5, StageID: 1, Partition: 1}
	rec.TaskStarted(r0, "1")
	rec.TaskStarted(r1, "2")
	clock.tick(200 * time.Millisecond)
	rec.TaskEnded(r0, "1", &scheduler.TaskResult{Metrics: scheduler.TaskMetrics{Duration: 200 * time.Millisecond, RecordsRead: 8, ShuffleReadBytes: 1500}}, nil)
	if running {
		return st, clock
	}
	rec.TaskEnded(r1, "2", &scheduler.TaskResult{Metrics: scheduler.TaskMetrics{Duration: 200 * time.Millisecond, RecordsRead: 7, ShuffleReadBytes: 1500}}, nil)
	rec.StageCompleted(&result, 0, nil)
	rec.JobEnded(job, nil)
	clock.tick(time.Second)
	rec.ExecutorRemoved("2", errors.New("idle"))
	rec.AppEnded("application_1_0001", "SUCCEEDED", nil)
	return st, clock
}

func TestStoreCountsAJob(t *testing.T) {
	tests := []struct {
		name    string
		running bool
		// want: job status, its tasks done, active, failed; stages complete, active
		status                    string
		done, active, failed      int
		completeStages, activeStg int
		// executor 1's and 2's completed tasks; executor 2 active
		exec1Done, exec2Done int
		exec2Active          bool
	}{
		{"running", true, JobRunning, 4, 1, 1, 1, 1, 4, 0, true},
		{"ended", false, JobSucceeded, 5, 0, 1, 2, 0, 4, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := recorded(t, tt.running)
			jobs := st.Jobs()
			if len(jobs) != 1 {
				t.Fatalf("%d jobs, want 1", len(jobs))
			}
			j := jobs[0]
			if j.Status != tt.status || j.Done != tt.done || j.Active != tt.active || j.Failed != tt.failed ||
				j.CompletedStages != tt.completeStages || j.ActiveStages != tt.activeStg || j.NumTasks != 5 {
				t.Errorf("job: status %s done %d active %d failed %d stages complete %d active %d tasks %d; want %s %d %d %d %d %d 5",
					j.Status, j.Done, j.Active, j.Failed, j.CompletedStages, j.ActiveStages, j.NumTasks,
					tt.status, tt.done, tt.active, tt.failed, tt.completeStages, tt.activeStg)
			}
			if j.CompletedIndices != tt.done {
				t.Errorf("completed indices %d, want %d (a retried partition counts once)", j.CompletedIndices, tt.done)
			}
			m, ok := st.Stage(0, 0, true)
			if !ok {
				t.Fatal("no stage 0.0")
			}
			if m.Done != 3 || m.Failed != 1 || len(m.Tasks) != 4 || m.Totals.RecordsRead != 30 || m.Totals.ShuffleWriteBytes != 3000 || m.Totals.SpillBytes != 4096 {
				t.Errorf("stage 0: done %d failed %d tasks %d records %d shuffle write %d spill %d", m.Done, m.Failed, len(m.Tasks),
					m.Totals.RecordsRead, m.Totals.ShuffleWriteBytes, m.Totals.SpillBytes)
			}
			if m.Tasks[2].Status != TaskFailed || m.Tasks[2].Error != "disk full" || m.Tasks[2].Host != "node-b" {
				t.Errorf("failed task: %+v", m.Tasks[2])
			}
			if m.Tasks[0].Locality != scheduler.NodeLocal.String() {
				t.Errorf("locality %q, want %q", m.Tasks[0].Locality, scheduler.NodeLocal.String())
			}
			x1, _ := st.Executor("1")
			x2, _ := st.Executor("2")
			if x1.Done != tt.exec1Done || x2.Done != tt.exec2Done || x2.Failed != 1 || x2.Active != tt.exec2Active {
				t.Errorf("executors: 1 done %d, 2 done %d failed %d active %v", x1.Done, x2.Done, x2.Failed, x2.Active)
			}
			if x1.Node != "node-a:4545" || x1.NodeHTTP != "node-a:8042" || x1.HeartbeatMetric.HeapBytes != 5<<20 {
				t.Errorf("executor 1's heartbeat: %+v", x1)
			}
			c := st.Counts()
			if c.TasksFailed != 1 || c.TasksSucceeded != int64(tt.done) || c.ExecutorsAdded != 2 {
				t.Errorf("counts %+v", c)
			}
		})
	}
}

func TestStoreRetention(t *testing.T) {
	tests := []struct {
		name                   string
		lim                    Limits
		jobs                   int
		wantJobs, wantStages   int
		wantTasks, wantDropped int
	}{
		{"within limits", Limits{Jobs: 10, Stages: 10, TasksPerStage: 10}, 3, 3, 3, 4, 0},
		{"jobs and stages trimmed", Limits{Jobs: 2, Stages: 1, TasksPerStage: 10}, 5, 2, 1, 4, 0},
		{"tasks trimmed", Limits{Jobs: 10, Stages: 10, TasksPerStage: 3}, 2, 2, 2, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := NewStore(tt.lim)
			rec := NewRecorder(st)
			for j := range tt.jobs {
				s := scheduler.StageSpec{ID: j, Name: fmt.Sprintf("stage %d", j), NumTasks: 4, ShuffleID: -1}
				job := &scheduler.JobSpec{Name: fmt.Sprintf("job %d", j), Stages: []scheduler.StageSpec{s}}
				rec.JobStarted(job)
				rec.StageSubmitted(&s, 0, 4)
				for p := range 4 {
					tk := &scheduler.Task{ID: int64(j*4 + p), StageID: j, Partition: p}
					rec.TaskStarted(tk, "driver")
					rec.TaskEnded(tk, "driver", &scheduler.TaskResult{Metrics: scheduler.TaskMetrics{RecordsRead: 1}}, nil)
				}
				rec.StageCompleted(&s, 0, nil)
				rec.JobEnded(job, nil)
			}
			if got := len(st.Jobs()); got != tt.wantJobs {
				t.Errorf("%d jobs kept, want %d", got, tt.wantJobs)
			}
			if got := len(st.Stages()); got != tt.wantStages {
				t.Errorf("%d stages kept, want %d", got, tt.wantStages)
			}
			last := tt.jobs - 1
			s, ok := st.Stage(last, 0, true)
			if !ok {
				t.Fatalf("newest stage %d not kept", last)
			}
			if len(s.Tasks) != tt.wantTasks || s.DroppedTasks != tt.wantDropped || s.Done != 4 || s.Totals.RecordsRead != 4 {
				t.Errorf("stage %d: %d tasks kept, %d dropped, %d done, %d records; want %d kept, %d dropped, 4 done, 4 records",
					last, len(s.Tasks), s.DroppedTasks, s.Done, s.Totals.RecordsRead, tt.wantTasks, tt.wantDropped)
			}
			if c := st.Counts(); c.Jobs != int64(tt.jobs) || c.TasksSucceeded != int64(4*tt.jobs) {
				t.Errorf("counts %+v: retention must not lower them", c)
			}
		})
	}
}

func TestQuantiles(t *testing.T) {
	tests := []struct {
		durations []int64
		want      [5]float64
	}{
		{[]int64{5}, [5]float64{5, 5, 5, 5, 5}},
		{[]int64{40, 10, 30, 20, 50}, [5]float64{10, 20, 30, 40, 50}},
		{[]int64{1, 2, 3, 4}, [5]float64{1, 2, 3, 3, 4}},
	}
	for _, tt := range tests {
		var tasks []Task
		for _, d := range tt.durations {
			tasks = append(tasks, Task{Status: TaskSuccess, Metrics: TaskMetrics{DurationMs: d}})
		}
		tasks = append(tasks, Task{Status: TaskFailed, Metrics: TaskMetrics{DurationMs: 1e6}})
		q := Quantiles(tasks)
		if len(q) == 0 || q[0].Metric != "Duration" || q[0].Values != tt.want {
			t.Errorf("quantiles of %v: %+v, want %v", tt.durations, q, tt.want)
		}
	}
	if q := Quantiles([]Task{{Status: TaskRunning}}); q != nil {
		t.Errorf("quantiles without a successful task: %+v", q)
	}
}

func TestRedact(t *testing.T) {
	got := Redact(map[string]string{
		"spindle.executor.cores":      "2",
		"fs.s3a.access.key":           "AKIA",
		"spindle.ssl.keyPassword":     "hunter2",
		"spindle.some.url":            "https://x/?token=abc",
		"spindle.authenticate.secret": "s",
	}, mustRegexp(DefaultRedaction))
	want := map[string]string{
		"spindle.executor.cores":      "2",
		"fs.s3a.access.key":           Redacted,
		"spindle.ssl.keyPassword":     Redacted,
		"spindle.some.url":            Redacted,
		"spindle.authenticate.secret": Redacted,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{formatBytes(512), "512 B"},
		{formatBytes(1536), "1.5 KiB"},
		{formatBytes(5 << 30), "5.0 GiB"},
		{formatDuration(230 * time.Millisecond), "230 ms"},
		{formatDuration(4500 * time.Millisecond), "4.5 s"},
		{formatDuration(3 * time.Minute), "3.0 min"},
		{formatTime(time.Time{}), "-"},
		{formatTime(t0), "2026-05-01 12:00:00"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%q, want %q", tt.got, tt.want)
		}
	}
}
