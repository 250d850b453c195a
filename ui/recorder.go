package ui

import (
	"errors"
	"sync"
	"time"

	"github.com/spindle-engine/spindle/executor"
	"github.com/spindle-engine/spindle/scheduler"
)

// Sink takes an application's events in order. Record is called with the
// Recorder's lock held, so it must be quick and must not call back.
type Sink interface {
	Record(Event)
}

// Recorder turns the scheduler's callbacks (it is a scheduler.Listener), the
// executors' registrations and heartbeats (an executor.Observer) and the
// application's start and end into Events, numbered and ordered, for its sinks.
type Recorder struct {
	now func() time.Time

	mu       sync.Mutex
	sinks    []Sink
	nextJob  int
	jobs     map[*scheduler.JobSpec]int
	stageJob map[int]int       // stage → the job that last listed it
	hosts    map[string]string // executor → host
}

// NewRecorder returns a Recorder telling sinks.
func NewRecorder(sinks ...Sink) *Recorder {
	return &Recorder{now: time.Now, sinks: sinks, jobs: map[*scheduler.JobSpec]int{}, stageJob: map[int]int{}, hosts: map[string]string{}}
}

// AddSink adds a sink that hears the events from now on (the event log, once the
// application's id is known).
func (r *Recorder) AddSink(s Sink) {
	r.mu.Lock()
	r.sinks = append(r.sinks, s)
	r.mu.Unlock()
}

func (r *Recorder) emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = r.now()
	}
	for _, s := range r.sinks {
		s.Record(ev)
	}
}

// AppStarted records the application's start, and returns the event for a sink
// added later (the event log, which begins with it); a.Conf must be redacted
// already.
func (r *Recorder) AppStarted(a AppEvent) Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := Event{Kind: KindAppStart, Time: r.now(), App: &a}
	r.emit(ev)
	return ev
}

// AppEnded records the application's end: status is SUCCEEDED, FAILED or KILLED.
func (r *Recorder) AppEnded(id, status string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a := &AppEvent{ID: id, Status: status}
	if err != nil {
		a.Error = err.Error()
	}
	r.emit(Event{Kind: KindAppEnd, App: a})
}

// JobStarted implements scheduler.Listener. Jobs are numbered from 0 in the order
// they start, as the DAG scheduler numbers them.
func (r *Recorder) JobStarted(job *scheduler.JobSpec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.nextJob
	r.nextJob++
	r.jobs[job] = id
	e := &JobEvent{ID: id, Name: job.Name, Stages: make([]StageInfo, len(job.Stages))}
	for i, st := range job.Stages {
		e.Stages[i] = StageInfo{ID: st.ID, Name: st.Name, NumTasks: st.NumTasks, Parents: st.Parents, Shuffle: st.ShuffleID}
		r.stageJob[st.ID] = id
	}
	r.emit(Event{Kind: KindJobStart, Job: e})
}

// StageSubmitted implements scheduler.Listener.
func (r *Recorder) StageSubmitted(st *scheduler.StageSpec, attempt, numTasks int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emit(Event{Kind: KindStageSubmitted, Stage: &StageEvent{ID: st.ID, Attempt: attempt, Job: r.stageJob[st.ID], Name: st.Name, NumTasks: numTasks}})
}

// TaskStarted implements scheduler.Listener.
func (r *Recorder) TaskStarted(t *scheduler.Task, exec string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emit(Event{Kind: KindTaskStart, Task: r.task(t, exec)})
}

// TaskEnded implements scheduler.Listener.
func (r *Recorder) TaskEnded(t *scheduler.Task, exec string, res *scheduler.TaskResult, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.task(t, exec)
	switch {
	case err != nil:
		e.Error = err.Error()
		e.Killed = errors.Is(err, scheduler.ErrTaskKilled)
	case res != nil:
		m := res.Metrics
		e.Metrics = &TaskMetrics{DurationMs: m.Duration.Milliseconds(), RecordsRead: m.RecordsRead, RecordsWritten: m.RecordsWritten,
			ShuffleReadBytes: m.ShuffleReadBytes, ShuffleWriteBytes: m.ShuffleWriteBytes, SpillBytes: m.SpillBytes, DroppedMalformed: m.DroppedMalformed}
	default:
		e.Metrics = &TaskMetrics{}
	}
	r.emit(Event{Kind: KindTaskEnd, Task: e})
}

func (r *Recorder) task(t *scheduler.Task, exec string) *TaskEvent {
	return &TaskEvent{ID: t.ID, Stage: t.StageID, StageAttempt: t.StageAttempt, Partition: t.Partition, Attempt: t.Attempt,
		Executor: exec, Host: r.hosts[exec], Locality: t.Locality.String()}
}

// StageCompleted implements scheduler.Listener.
func (r *Recorder) StageCompleted(st *scheduler.StageSpec, attempt int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := &StageEvent{ID: st.ID, Attempt: attempt, Job: r.stageJob[st.ID]}
	if err != nil {
		e.Error = err.Error()
	}
	r.emit(Event{Kind: KindStageCompleted, Stage: e})
}

// JobEnded implements scheduler.Listener.
func (r *Recorder) JobEnded(job *scheduler.JobSpec, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.jobs[job]
	if !ok {
		return
	}
	delete(r.jobs, job)
	e := &JobEvent{ID: id, Name: job.Name}
	if err != nil {
		e.Error = err.Error()
	}
	r.emit(Event{Kind: KindJobEnd, Job: e})
}

// ExecutorRegistered implements executor.Observer.
func (r *Recorder) ExecutorRegistered(d executor.Details) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hosts[d.ID] = d.Host
	r.emit(Event{Kind: KindExecutorAdded, Executor: &ExecutorEvent{ID: d.ID, Host: d.Host, Cores: d.Cores, MemoryBytes: d.Memory, Container: d.Container}})
}

// ExecutorHeartbeat implements executor.Observer.
func (r *Recorder) ExecutorHeartbeat(id string, hb executor.Heartbeat) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emit(Event{Kind: KindExecutorMetrics, Executor: &ExecutorEvent{ID: id, Node: hb.Node, NodeHTTP: hb.NodeHTTP, Metrics: &ExecutorMetrics{
		HeapBytes: hb.HeapBytes, RSSBytes: hb.RSSBytes, GCCount: hb.GCCount, GCPauseNanos: hb.GCPauseNanos,
		RunningTasks: hb.RunningTasks, CompletedTasks: hb.CompletedTasks, FailedTasks: hb.FailedTasks,
		ShuffleReadBytes: hb.ShuffleReadBytes, ShuffleWriteBytes: hb.ShuffleWriteBytes, SpillBytes: hb.SpillBytes,
		RecordsRead: hb.RecordsRead, TaskTimeNanos: hb.TaskTimeNanos,
	}}})
}

// ExecutorRemoved implements executor.Observer.
func (r *Recorder) ExecutorRemoved(id string, reason error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := &ExecutorEvent{ID: id}
	if reason != nil {
		e.Reason = reason.Error()
	}
	r.emit(Event{Kind: KindExecutorRemoved, Executor: e})
}
