// Package progress is what a driver reports about its jobs: the metrics it adds up
// from the scheduler's events, the summary printed after a run, and Spark's console
// progress bar.
package progress

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spindle-engine/spindle/scheduler"
	"github.com/spindle-engine/spindle/ui"
)

// Summary is what a session's jobs did, printed at the end of a run. Records are
// counted once per successful task: a failed attempt's are read again by the next.
type Summary struct {
	Jobs, Stages, Tasks, FailedTasks int
	// Tasks by locality: on an executor holding the data, on its host, anywhere
	// (tasks without a preference are not counted, nor any in local mode, where
	// every task runs in the driver's process).
	ProcessLocal, NodeLocal, NotLocal               int
	RecordsRead, RecordsWritten                     int64
	ShuffleWriteBytes, ShuffleReadBytes, SpillBytes int64
	// DroppedMalformed is the malformed CSV rows the jobs skipped in all;
	// DroppedByJob says which jobs did, in order: two jobs reading one file each
	// count its bad rows.
	DroppedMalformed int64
	DroppedByJob     []JobCount
	// Retries says what was done again and why; zero when nothing was.
	Retries Retries
	Wall    time.Duration
}

// JobCount is a number one job counted.
type JobCount struct {
	Job string // the job's name, e.g. "Count at main.go:30"
	N   int64
}

// String formats the summary as the lines printed after a run.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "jobs %d, stages %d, tasks %d (%d failed attempts), wall time %s\n",
		s.Jobs, s.Stages, s.Tasks, s.FailedTasks, s.Wall.Round(time.Millisecond))
	if s.ProcessLocal+s.NodeLocal+s.NotLocal > 0 {
		fmt.Fprintf(&b, "tasks with preferred locations: %d process-local, %d node-local, %d elsewhere\n", s.ProcessLocal, s.NodeLocal, s.NotLocal)
	}
	fmt.Fprintf(&b, "records read %d; shuffle write %s, shuffle read %s, spill %s",
		s.RecordsRead, ui.FormatBytes(s.ShuffleWriteBytes), ui.FormatBytes(s.ShuffleReadBytes), ui.FormatBytes(s.SpillBytes))
	switch {
	case len(s.DroppedByJob) > 1:
		// A sum would count a file's bad rows once for each job that read it.
		parts := make([]string, len(s.DroppedByJob))
		for i, j := range s.DroppedByJob {
			parts[i] = fmt.Sprintf("%d by %q", j.N, j.Job)
		}
		fmt.Fprintf(&b, "\nmalformed rows dropped per job (spindle.csv.mode=DROPMALFORMED): %s", strings.Join(parts, ", "))
	case s.DroppedMalformed > 0:
		fmt.Fprintf(&b, "\nmalformed rows dropped: %d (spindle.csv.mode=DROPMALFORMED)", s.DroppedMalformed)
	}
	if s.Retries.Any() {
		b.WriteString("\n" + s.Retries.String())
	}
	return b.String()
}

// Metrics listens to the scheduler: it adds up the summary and feeds the progress
// bar. The scheduler calls it from its driver goroutine; Summary may be read from
// another, hence the lock.
type Metrics struct {
	mu     sync.Mutex
	sum    Summary
	retry  retries
	bar    *Bar
	active map[int]*stageProgress
	// inProcess: every task runs in this process (local mode), so where a task
	// ran says nothing about locality.
	inProcess bool
	// The running job's name, its tasks in all its stages, those done (its
	// progress) and the malformed rows it dropped.
	job               string
	jobTasks, jobDone int
	jobDropped        int64
}

// Option adjusts Metrics.
type Option func(*Metrics)

// InProcess says every task runs in the driver's process (local mode): the summary
// then has no locality line, as no placement could have been closer to the data.
func InProcess() Option { return func(m *Metrics) { m.inProcess = true } }

type stageProgress struct {
	id, total, done, running int
}

// NewMetrics returns metrics that draw on bar, which may be nil.
func NewMetrics(bar *Bar, opts ...Option) *Metrics {
	m := &Metrics{bar: bar, active: map[int]*stageProgress{}}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Summary is what the jobs did so far, over wall time.
func (m *Metrics) Summary(wall time.Duration) Summary {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sum
	s.DroppedByJob = append([]JobCount(nil), m.sum.DroppedByJob...)
	s.Retries = m.retry.snapshot()
	s.Wall = wall
	return s
}

// JobStarted implements scheduler.Listener.
func (m *Metrics) JobStarted(job *scheduler.JobSpec) {
	m.mu.Lock()
	m.sum.Jobs++
	m.job, m.jobTasks, m.jobDone, m.jobDropped = job.Name, 0, 0, 0
	for _, st := range job.Stages {
		m.jobTasks += st.NumTasks
	}
	m.mu.Unlock()
}

// Progress is the running job's share of tasks done, 0 to 1, as YARN shows it.
func (m *Metrics) Progress() float32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.jobTasks == 0 {
		return 0
	}
	return min(1, float32(m.jobDone)/float32(m.jobTasks))
}

// StageSubmitted implements scheduler.Listener.
func (m *Metrics) StageSubmitted(st *scheduler.StageSpec, attempt int, numTasks int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sum.Stages++
	if attempt > 0 {
		m.retry.StageRetries++
	}
	m.active[st.ID] = &stageProgress{id: st.ID, total: numTasks}
	m.draw(false)
}

// TaskStarted implements scheduler.Listener.
func (m *Metrics) TaskStarted(t *scheduler.Task, _ string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.active[t.StageID]; p != nil {
		p.running++
	}
	m.draw(false)
}

// TaskEnded implements scheduler.Listener.
func (m *Metrics) TaskEnded(t *scheduler.Task, _ string, res *scheduler.TaskResult, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.active[t.StageID]; p != nil {
		p.running = max(0, p.running-1)
		if err == nil {
			p.done++
		}
	}
	if err != nil {
		m.sum.FailedTasks++
		m.retry.taskFailed(err)
	} else {
		m.sum.Tasks++
		m.jobDone++
		if len(t.Preferred) > 0 && !m.inProcess {
			switch t.Locality {
			case scheduler.ProcessLocal:
				m.sum.ProcessLocal++
			case scheduler.NodeLocal:
				m.sum.NodeLocal++
			default:
				m.sum.NotLocal++
			}
		}
	}
	if res != nil {
		r := res.Metrics
		m.sum.ShuffleWriteBytes += r.ShuffleWriteBytes
		m.sum.ShuffleReadBytes += r.ShuffleReadBytes
		m.sum.SpillBytes += r.SpillBytes
		if err == nil {
			// A failed attempt's records are read again by the next attempt.
			m.sum.RecordsRead += r.RecordsRead
			m.sum.RecordsWritten += r.RecordsWritten
			m.sum.DroppedMalformed += r.DroppedMalformed
			m.jobDropped += r.DroppedMalformed
		}
	}
	m.draw(false)
}

// StageCompleted implements scheduler.Listener.
func (m *Metrics) StageCompleted(st *scheduler.StageSpec, _ int, _ error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.active, st.ID)
	m.draw(false)
}

// JobEnded implements scheduler.Listener. A failed job's progress stays where it
// was: the job did not do the rest of its tasks.
func (m *Metrics) JobEnded(*scheduler.JobSpec, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.jobDropped > 0 {
		m.sum.DroppedByJob = append(m.sum.DroppedByJob, JobCount{Job: m.job, N: m.jobDropped})
		m.jobDropped = 0
	}
	clear(m.active)
	m.draw(true)
}

// draw renders the active stages; the caller holds m.mu.
func (m *Metrics) draw(final bool) {
	if m.bar == nil {
		return
	}
	stages := make([]*stageProgress, 0, len(m.active))
	for _, p := range m.active {
		stages = append(stages, p)
	}
	sort.Slice(stages, func(i, j int) bool { return stages[i].id < stages[j].id })
	m.bar.render(stages, final)
}

// Bar draws Spark's console progress line, e.g.
// "[Stage 2:=======>        (37 + 2) / 64]", on a terminal, at most every 100 ms.
type Bar struct {
	w     io.Writer
	width int
	last  time.Time
	shown bool
}

// NewBar draws on w, a terminal.
func NewBar(w io.Writer) *Bar { return &Bar{w: w, width: 80} }

func (b *Bar) render(stages []*stageProgress, final bool) {
	now := time.Now()
	if !final && now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = now
	if final || len(stages) == 0 {
		if b.shown {
			fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", b.width))
			b.shown = false
		}
		return
	}
	per := b.width / len(stages)
	var line strings.Builder
	for _, p := range stages {
		line.WriteString(stageLine(p, per))
	}
	fmt.Fprintf(b.w, "\r%s", line.String())
	b.shown = true
}

// stageLine formats one stage within width columns.
func stageLine(p *stageProgress, width int) string {
	header := fmt.Sprintf("[Stage %d:", p.id)
	tailer := fmt.Sprintf("(%d + %d) / %d]", p.done, p.running, p.total)
	w := width - len(header) - len(tailer)
	if w <= 0 {
		return header + tailer
	}
	percent := 0
	if p.total > 0 {
		percent = w * p.done / p.total
	}
	bar := strings.Repeat("=", percent)
	if percent < w {
		bar += ">" + strings.Repeat(" ", w-percent-1)
	}
	return header + bar + tailer
}
