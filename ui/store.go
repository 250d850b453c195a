package ui

import (
	"sync"
	"time"
)

// Limits bound what a Store keeps (spindle.ui.retained*); zero fields take Spark's
// defaults.
type Limits struct {
	Jobs          int // finished jobs
	Stages        int // finished stage attempts
	TasksPerStage int // tasks of one stage attempt (Spark's spark.ui.retainedTasks is per stage too)
	DeadExecutors int
}

func (l Limits) withDefaults() Limits {
	if l.Jobs <= 0 {
		l.Jobs = 1000
	}
	if l.Stages <= 0 {
		l.Stages = 1000
	}
	if l.TasksPerStage <= 0 {
		l.TasksPerStage = 100000
	}
	if l.DeadExecutors <= 0 {
		l.DeadExecutors = 100
	}
	return l
}

// Job states, as Spark's API names them.
const (
	JobRunning   = "RUNNING"
	JobSucceeded = "SUCCEEDED"
	JobFailed    = "FAILED"
)

// Stage states, as Spark's API names them.
const (
	StageActive   = "ACTIVE"
	StageComplete = "COMPLETE"
	StageFailed   = "FAILED"
	StagePending  = "PENDING"
	StageSkipped  = "SKIPPED"
)

// Task states, as Spark's API names them.
const (
	TaskRunning = "RUNNING"
	TaskSuccess = "SUCCESS"
	TaskFailed  = "FAILED"
	TaskKilled  = "KILLED"
)

// App is the application as the store knows it.
type App struct {
	AppEvent
	Started, Ended time.Time // Ended is zero while it runs (or if it died)
	Updated        time.Time // the newest event's time
	Dropped        int64     // events the event log lost
}

// Job is one job and its counters.
type Job struct {
	ID                   int
	Name                 string
	Status               string
	Error                string
	Submitted, Completed time.Time
	Plan                 []StageInfo // every stage of the job, the result stage last
	NumTasks             int         // tasks of all its stages
	Active, Done, Failed int         // task attempts running, succeeded, failed
	Killed               int
	doneParts            map[[2]int]bool // (stage, partition) done
	submitted            map[int]bool    // stages submitted in this job
}

// Stage is one attempt of one stage, its counters and the tasks it keeps.
type Stage struct {
	ID, Attempt, Job                  int
	Name                              string
	NumTasks                          int
	Status                            string
	Error                             string
	Submitted, FirstLaunch, Completed time.Time
	Active, Done, Failed, Killed      int
	Totals                            TaskMetrics // of its successful tasks
	DroppedTasks                      int         // finished tasks no longer kept
	tasks                             map[int64]*Task
	order                             []int64 // task ids in launch order
	doneParts                         map[int]bool
	byExecutor                        map[string]*ExecutorStage
	parents                           []int
}

// ExecutorStage is what one executor did in one stage attempt.
type ExecutorStage struct {
	Executor, Host       string
	Done, Failed, Killed int
	Totals               TaskMetrics
}

// Task is one task attempt.
type Task struct {
	ID                 int64
	Partition, Attempt int
	Executor, Host     string
	Locality           string
	Status             string
	Error              string
	Launched, Finished time.Time
	Metrics            TaskMetrics
}

// Executor is one executor and what it did.
type Executor struct {
	ExecutorEvent
	Added, Removed  time.Time
	Active          bool
	ActiveTasks     int
	Done, Failed    int
	Killed          int
	Totals          TaskMetrics // of its successful tasks
	LastHeartbeat   time.Time
	HeartbeatMetric ExecutorMetrics // the newest heartbeat's
}

type stageKey struct{ id, attempt int }

// Store keeps an application's state from its Events, bounded by Limits. It is safe
// for concurrent use: the Recorder applies events while pages read.
type Store struct {
	lim Limits

	mu        sync.RWMutex
	app       App
	jobs      map[int]*Job
	jobOrder  []int
	stages    map[stageKey]*Stage
	stageKeys []stageKey // submission order
	execs     map[string]*Executor
	execOrder []string
	pending   int // tasks waiting for a slot (the scheduler's backlog); live only
	counts    Counts
}

// Counts are an application's totals, which retention does not lower: what
// /metrics reports as counters.
type Counts struct {
	Jobs, JobsSucceeded, JobsFailed          int64
	Stages, StagesFailed                     int64
	TasksSucceeded, TasksFailed, TasksKilled int64
	ExecutorsAdded, ExecutorsRemoved         int64
}

// NewStore returns an empty store bounded by lim.
func NewStore(lim Limits) *Store {
	return &Store{lim: lim.withDefaults(), jobs: map[int]*Job{}, stages: map[stageKey]*Stage{}, execs: map[string]*Executor{}}
}

// Record implements Sink: it applies ev.
func (s *Store) Record(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev.Time.After(s.app.Updated) {
		s.app.Updated = ev.Time
	}
	switch ev.Kind {
	case KindAppStart:
		if ev.App != nil {
			s.app.AppEvent, s.app.Started = *ev.App, ev.Time
		}
	case KindAppEnd:
		if ev.App != nil {
			s.app.Status, s.app.Error = ev.App.Status, ev.App.Error
		}
		s.app.Ended = ev.Time
	case KindEventsDropped:
		s.app.Dropped += ev.Dropped
	case KindJobStart:
		s.jobStart(ev)
	case KindJobEnd:
		s.jobEnd(ev)
	case KindStageSubmitted:
		s.stageSubmitted(ev)
	case KindStageCompleted:
		s.stageCompleted(ev)
	case KindTaskStart:
		s.taskStart(ev)
	case KindTaskEnd:
		s.taskEnd(ev)
	case KindExecutorAdded, KindExecutorMetrics, KindExecutorRemoved:
		s.executor(ev)
	}
}

// SetPending records how many tasks wait for a slot (the scheduler's backlog),
// which the live metrics report; it is not an event and is not logged.
func (s *Store) SetPending(n int) {
	s.mu.Lock()
	s.pending = n
	s.mu.Unlock()
}

func (s *Store) jobStart(ev Event) {
	j := ev.Job
	if j == nil {
		return
	}
	job := &Job{ID: j.ID, Name: j.Name, Status: JobRunning, Submitted: ev.Time, Plan: j.Stages,
		doneParts: map[[2]int]bool{}, submitted: map[int]bool{}}
	for _, st := range j.Stages {
		job.NumTasks += st.NumTasks
	}
	s.counts.Jobs++
	if _, ok := s.jobs[j.ID]; !ok {
		s.jobOrder = append(s.jobOrder, j.ID)
	}
	s.jobs[j.ID] = job
}

func (s *Store) jobEnd(ev Event) {
	j := ev.Job
	if j == nil {
		return
	}
	job := s.jobs[j.ID]
	if job == nil {
		return
	}
	job.Completed, job.Error, job.Status = ev.Time, j.Error, JobSucceeded
	s.counts.JobsSucceeded++
	if j.Error != "" {
		job.Status = JobFailed
		s.counts.JobsSucceeded--
		s.counts.JobsFailed++
	}
	s.trimJobs()
}

// trimJobs drops the oldest finished jobs beyond the limit.
func (s *Store) trimJobs() {
	s.jobOrder, _ = dropOldest(s.jobOrder, s.jobs, func(j *Job) bool { return j.Status != JobRunning },
		func(finished, _ int) int { return finished - s.lim.Jobs })
}

func (s *Store) stageSubmitted(ev Event) {
	e := ev.Stage
	if e == nil {
		return
	}
	k := stageKey{e.ID, e.Attempt}
	st := &Stage{ID: e.ID, Attempt: e.Attempt, Job: e.Job, Name: e.Name, NumTasks: e.NumTasks, Status: StageActive,
		Submitted: ev.Time, tasks: map[int64]*Task{}, doneParts: map[int]bool{}, byExecutor: map[string]*ExecutorStage{}}
	if job := s.jobs[e.Job]; job != nil {
		job.submitted[e.ID] = true
		for _, p := range job.Plan {
			if p.ID == e.ID {
				st.parents = p.Parents
			}
		}
	}
	if _, ok := s.stages[k]; !ok {
		s.stageKeys = append(s.stageKeys, k)
	}
	s.stages[k] = st
	s.counts.Stages++
}

func (s *Store) stageCompleted(ev Event) {
	e := ev.Stage
	if e == nil {
		return
	}
	st := s.stages[stageKey{e.ID, e.Attempt}]
	if st == nil {
		return
	}
	st.Completed, st.Error, st.Status = ev.Time, e.Error, StageComplete
	if e.Error != "" {
		st.Status = StageFailed
		s.counts.StagesFailed++
	}
	s.trimStages()
}

// trimStages drops the oldest finished stage attempts beyond the limit.
func (s *Store) trimStages() {
	s.stageKeys, _ = dropOldest(s.stageKeys, s.stages, func(st *Stage) bool { return st.Status != StageActive },
		func(finished, _ int) int { return finished - s.lim.Stages })
}

func (s *Store) taskStart(ev Event) {
	e := ev.Task
	if e == nil {
		return
	}
	st := s.stages[stageKey{e.Stage, e.StageAttempt}]
	if st == nil {
		return
	}
	t := &Task{ID: e.ID, Partition: e.Partition, Attempt: e.Attempt, Executor: e.Executor, Host: e.Host,
		Locality: e.Locality, Status: TaskRunning, Launched: ev.Time}
	if _, ok := st.tasks[e.ID]; !ok {
		st.order = append(st.order, e.ID)
	}
	st.tasks[e.ID] = t
	st.Active++
	if st.FirstLaunch.IsZero() {
		st.FirstLaunch = ev.Time
	}
	if job := s.jobs[st.Job]; job != nil {
		job.Active++
	}
	if x := s.execs[e.Executor]; x != nil {
		x.ActiveTasks++
	}
}

func (s *Store) taskEnd(ev Event) {
	e := ev.Task
	if e == nil {
		return
	}
	st := s.stages[stageKey{e.Stage, e.StageAttempt}]
	if st == nil {
		return
	}
	t := st.tasks[e.ID]
	if t == nil || t.Status != TaskRunning {
		return
	}
	t.Finished, t.Error = ev.Time, e.Error
	st.Active--
	job := s.jobs[st.Job]
	x := s.execs[t.Executor]
	if job != nil {
		job.Active--
	}
	if x != nil {
		x.ActiveTasks = max(0, x.ActiveTasks-1)
	}
	es := st.byExecutor[t.Executor]
	if es == nil {
		es = &ExecutorStage{Executor: t.Executor, Host: t.Host}
		st.byExecutor[t.Executor] = es
	}
	switch {
	case e.Error == "":
		t.Status = TaskSuccess
		s.counts.TasksSucceeded++
		if e.Metrics != nil {
			t.Metrics = *e.Metrics
		}
		st.Done++
		st.doneParts[t.Partition] = true
		st.Totals.add(t.Metrics)
		es.Done++
		es.Totals.add(t.Metrics)
		if job != nil {
			job.Done++
			job.doneParts[[2]int{st.ID, t.Partition}] = true
		}
		if x != nil {
			x.Done++
			x.Totals.add(t.Metrics)
		}
	case e.Killed:
		t.Status = TaskKilled
		s.counts.TasksKilled++
		st.Killed++
		es.Killed++
		if job != nil {
			job.Killed++
		}
		if x != nil {
			x.Killed++
		}
	default:
		t.Status = TaskFailed
		s.counts.TasksFailed++
		st.Failed++
		es.Failed++
		if job != nil {
			job.Failed++
		}
		if x != nil {
			x.Failed++
		}
	}
	s.trimTasks(st)
}

// trimTasks drops a stage attempt's oldest finished tasks beyond the limit on all
// its tasks; running ones stay, and the stage counts what it dropped.
func (s *Store) trimTasks(st *Stage) {
	var n int
	st.order, n = dropOldest(st.order, st.tasks, func(t *Task) bool { return t.Status != TaskRunning },
		func(_, all int) int { return all - s.lim.TasksPerStage })
	st.DroppedTasks += n
}

func (s *Store) executor(ev Event) {
	e := ev.Executor
	if e == nil {
		return
	}
	x := s.execs[e.ID]
	switch ev.Kind {
	case KindExecutorAdded:
		if x == nil {
			s.execOrder = append(s.execOrder, e.ID)
		}
		x = &Executor{ExecutorEvent: *e, Added: ev.Time, Active: true}
		x.Metrics = nil
		s.execs[e.ID] = x
		s.counts.ExecutorsAdded++
	case KindExecutorMetrics:
		if x == nil {
			return
		}
		if e.Node != "" {
			x.Node = e.Node
		}
		if e.NodeHTTP != "" {
			x.NodeHTTP = e.NodeHTTP
		}
		if e.Metrics != nil {
			x.HeartbeatMetric, x.LastHeartbeat = *e.Metrics, ev.Time
		}
	case KindExecutorRemoved:
		if x == nil || !x.Active {
			return
		}
		x.Active, x.Removed, x.Reason = false, ev.Time, e.Reason
		s.counts.ExecutorsRemoved++
		s.trimExecutors()
	}
}

// trimExecutors drops the oldest removed executors beyond the limit.
func (s *Store) trimExecutors() {
	s.execOrder, _ = dropOldest(s.execOrder, s.execs, func(x *Executor) bool { return !x.Active },
		func(dead, _ int) int { return dead - s.lim.DeadExecutors })
}

// dropOldest removes from order, oldest first, and from m as many of the entries
// done says may go as excess(how many may go, how many there are) asks, in one
// pass: the store trims on every task end, so a quadratic trim would cost a large
// stage dearly. It returns the order left and how many it dropped.
func dropOldest[K comparable, V any](order []K, m map[K]V, done func(V) bool, excess func(done, all int) int) ([]K, int) {
	n := 0
	for _, k := range order {
		if done(m[k]) {
			n++
		}
	}
	drop := excess(n, len(order))
	if drop <= 0 {
		return order, 0
	}
	dropped := 0
	out := order[:0]
	for _, k := range order {
		if dropped < drop && done(m[k]) {
			delete(m, k)
			dropped++
			continue
		}
		out = append(out, k)
	}
	return out, dropped
}

func (m *TaskMetrics) add(o TaskMetrics) {
	m.DurationMs += o.DurationMs
	m.RecordsRead += o.RecordsRead
	m.RecordsWritten += o.RecordsWritten
	m.ShuffleReadBytes += o.ShuffleReadBytes
	m.ShuffleWriteBytes += o.ShuffleWriteBytes
	m.SpillBytes += o.SpillBytes
	m.DroppedMalformed += o.DroppedMalformed
}
