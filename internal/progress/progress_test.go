package progress

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/scheduler"
)

func TestStageLine(t *testing.T) {
	for _, tt := range []struct {
		p     stageProgress
		width int
		want  string
	}{
		{stageProgress{id: 2, total: 64, done: 37, running: 2}, 40, "[Stage 2:=========>       (37 + 2) / 64]"},
		{stageProgress{id: 0, total: 4, done: 0, running: 4}, 30, "[Stage 0:>        (0 + 4) / 4]"},
		{stageProgress{id: 1, total: 4, done: 4, running: 0}, 30, "[Stage 1:=========(4 + 0) / 4]"},
		{stageProgress{id: 9, total: 1000, done: 1, running: 1}, 10, "[Stage 9:(1 + 1) / 1000]"},
	} {
		p := tt.p
		got := stageLine(&p, tt.width)
		if got != tt.want {
			t.Errorf("stageLine(%+v, %d) = %q, want %q", tt.p, tt.width, got, tt.want)
		}
		if len(got) != tt.width && tt.width >= len("[Stage 9:(1 + 1) / 1000]") {
			t.Errorf("stageLine(%+v) is %d wide, want %d", tt.p, len(got), tt.width)
		}
	}
}

func TestProgressBarClearsAtJobEnd(t *testing.T) {
	var b bytes.Buffer
	m := NewMetrics(NewBar(&b))
	m.active[3] = &stageProgress{id: 3, total: 10, done: 5}
	m.draw(false)
	if !strings.Contains(b.String(), "[Stage 3:") {
		t.Fatalf("no progress drawn: %q", b.String())
	}
	m.JobEnded(nil, nil)
	if !strings.HasSuffix(b.String(), "\r") {
		t.Fatalf("progress line not cleared at job end: %q", b.String())
	}
}

// run feeds m one job of the given tasks: each with its preferred hosts, placement,
// metrics and outcome.
type taskRun struct {
	preferred []string
	locality  scheduler.Locality
	metrics   scheduler.TaskMetrics
	err       error
}

func runJob(m *Metrics, name string, tasks []taskRun, jobErr error) {
	job := &scheduler.JobSpec{Name: name, Stages: []scheduler.StageSpec{{ID: 0, NumTasks: len(tasks)}}}
	m.JobStarted(job)
	m.StageSubmitted(&job.Stages[0], 0, len(tasks))
	for i, tr := range tasks {
		t := &scheduler.Task{StageID: 0, Partition: i, Preferred: tr.preferred, Locality: tr.locality}
		m.TaskStarted(t, "1")
		m.TaskEnded(t, "1", &scheduler.TaskResult{Metrics: tr.metrics}, tr.err)
	}
	m.StageCompleted(&job.Stages[0], 0, jobErr)
	m.JobEnded(job, jobErr)
}

// TestSummaryCounts checks the summary's lines: locality only where placement
// could matter, dropped rows per job, records of successful attempts only.
func TestSummaryCounts(t *testing.T) {
	boom := errors.New("boom")
	twoBad := scheduler.TaskMetrics{RecordsRead: 3, DroppedMalformed: 2}
	tests := []struct {
		name       string
		opts       []Option
		jobs       [][]taskRun
		want, omit []string
	}{
		{name: "no preferred locations, no locality line",
			jobs: [][]taskRun{{{}, {}}},
			want: []string{"tasks 2 (0 failed attempts)"}, omit: []string{"preferred locations"}},
		{name: "local mode, no locality line", opts: []Option{InProcess()},
			jobs: [][]taskRun{{{preferred: []string{"h1"}, locality: scheduler.AnyLocality}, {preferred: []string{"h1"}}}},
			omit: []string{"preferred locations", "elsewhere"}},
		{name: "on YARN, locality counted",
			jobs: [][]taskRun{{{preferred: []string{"h1"}, locality: scheduler.NodeLocal}, {preferred: []string{"h2"}, locality: scheduler.AnyLocality}, {}}},
			want: []string{"tasks with preferred locations: 0 process-local, 1 node-local, 1 elsewhere"}},
		{name: "one job's dropped rows",
			jobs: [][]taskRun{{{metrics: twoBad}}},
			want: []string{"records read 3;", "malformed rows dropped: 2 (spindle.csv.mode=DROPMALFORMED)"}},
		{name: "two jobs over one file: per job, not a sum",
			jobs: [][]taskRun{{{metrics: twoBad}}, {{metrics: twoBad}}},
			want: []string{`malformed rows dropped per job (spindle.csv.mode=DROPMALFORMED): 2 by "job 1", 2 by "job 2"`},
			omit: []string{"dropped: 4"}},
		{name: "a failed attempt's records are read again",
			jobs: [][]taskRun{{{metrics: twoBad, err: boom}, {metrics: twoBad}}},
			want: []string{"tasks 1 (1 failed attempts)", "records read 3;", "malformed rows dropped: 2 ("}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics(nil, tt.opts...)
			for i, tasks := range tt.jobs {
				runJob(m, fmt.Sprintf("job %d", i+1), tasks, nil)
			}
			got := m.Summary(time.Second).String()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("summary lacks %q:\n%s", w, got)
				}
			}
			for _, o := range tt.omit {
				if strings.Contains(got, o) {
					t.Errorf("summary has %q:\n%s", o, got)
				}
			}
		})
	}
}

// TestFailedJobProgress: a job that fails keeps the progress it made.
func TestFailedJobProgress(t *testing.T) {
	m := NewMetrics(nil)
	job := &scheduler.JobSpec{Name: "j", Stages: []scheduler.StageSpec{{ID: 0, NumTasks: 4}}}
	m.JobStarted(job)
	m.StageSubmitted(&job.Stages[0], 0, 4)
	for i := range 4 {
		task := &scheduler.Task{Partition: i}
		var err error
		if i == 3 {
			err = errors.New("boom")
		}
		m.TaskEnded(task, "1", nil, err)
	}
	m.JobEnded(job, errors.New("boom"))
	if p := m.Progress(); p != 0.75 {
		t.Fatalf("progress after a failed job = %v, want 0.75", p)
	}
}
