package ui

import (
	"maps"
	"slices"
	"sort"
	"time"
)

// The views are copies the pages and the API read without holding the store's lock.

// JobView is a job with its stages' states.
type JobView struct {
	Job
	Stages []JobStage
	// Stage counts by state, and the tasks done counted once per partition.
	ActiveStages, CompletedStages, FailedStages, SkippedStages, PendingStages int
	CompletedIndices, SkippedTasks                                            int
}

// JobStage is one stage of a job's plan and the state of its newest attempt there.
type JobStage struct {
	StageInfo
	Status   string
	Attempt  int  // the newest attempt, when Retained
	Retained bool // an attempt of it is in the store
	Done     int  // tasks of the newest attempt that succeeded
}

// Duration is how long the job ran, so far if it runs; now is the clock for a
// running one.
func (j JobView) Duration(now time.Time) time.Duration {
	end := j.Completed
	if end.IsZero() {
		end = now
	}
	return end.Sub(j.Submitted)
}

// StageView is a stage attempt, with its tasks when asked for.
type StageView struct {
	Stage
	Parents          []int
	CompletedIndices int
	Tasks            []Task          // in launch order; only from Store.Stage with tasks
	Executors        []ExecutorStage // by executor id
}

// App reports the application.
func (s *Store) App() App {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.app
	a.Conf, a.Runtime = maps.Clone(a.Conf), maps.Clone(a.Runtime)
	return a
}

// Pending is how many tasks wait for a slot.
func (s *Store) Pending() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.pending
}

// Jobs lists the jobs, newest first.
func (s *Store) Jobs() []JobView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]JobView, 0, len(s.jobOrder))
	for i := len(s.jobOrder) - 1; i >= 0; i-- {
		out = append(out, s.jobView(s.jobs[s.jobOrder[i]]))
	}
	return out
}

// Job reports one job.
func (s *Store) Job(id int) (JobView, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	j := s.jobs[id]
	if j == nil {
		return JobView{}, false
	}
	return s.jobView(j), true
}

func (s *Store) jobView(j *Job) JobView {
	v := JobView{Job: *j, CompletedIndices: len(j.doneParts)}
	v.Plan = slices.Clone(j.Plan)
	v.doneParts, v.submitted = nil, nil
	for _, p := range j.Plan {
		js := JobStage{StageInfo: p}
		if st := s.newestAttempt(p.ID, j.ID); st != nil {
			js.Status, js.Attempt, js.Retained, js.Done = st.Status, st.Attempt, true, st.Done
		} else if j.submitted[p.ID] {
			js.Status = StageComplete // submitted here, then trimmed: only finished attempts are
		} else if j.Status == JobRunning {
			js.Status = StagePending
		} else {
			js.Status = StageSkipped
		}
		switch js.Status {
		case StageActive:
			v.ActiveStages++
		case StageComplete:
			v.CompletedStages++
		case StageFailed:
			v.FailedStages++
		case StagePending:
			v.PendingStages++
		case StageSkipped:
			v.SkippedStages++
			v.SkippedTasks += p.NumTasks
		}
		v.Stages = append(v.Stages, js)
	}
	return v
}

// newestAttempt is the newest retained attempt of a stage submitted by job.
func (s *Store) newestAttempt(stage, job int) *Stage {
	var best *Stage
	for k, st := range s.stages {
		if k.id == stage && st.Job == job && (best == nil || st.Attempt > best.Attempt) {
			best = st
		}
	}
	return best
}

// Stages lists the stage attempts, newest first, without their tasks; the stages
// of running jobs that were not submitted yet come first, as PENDING.
func (s *Store) Stages() []StageView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []StageView
	for i := len(s.jobOrder) - 1; i >= 0; i-- {
		j := s.jobs[s.jobOrder[i]]
		if j.Status != JobRunning {
			continue
		}
		for _, p := range j.Plan {
			if !j.submitted[p.ID] {
				out = append(out, StageView{Stage: Stage{ID: p.ID, Job: j.ID, Name: p.Name, NumTasks: p.NumTasks, Status: StagePending}, Parents: p.Parents})
			}
		}
	}
	for i := len(s.stageKeys) - 1; i >= 0; i-- {
		out = append(out, stageView(s.stages[s.stageKeys[i]], false))
	}
	return out
}

// Stage reports one stage attempt, with its retained tasks if withTasks.
func (s *Store) Stage(id, attempt int, withTasks bool) (StageView, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.stages[stageKey{id, attempt}]
	if st == nil {
		return StageView{}, false
	}
	return stageView(st, withTasks), true
}

// StageAttempts lists a stage's retained attempts, oldest first.
func (s *Store) StageAttempts(id int, withTasks bool) []StageView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []StageView
	for _, k := range s.stageKeys {
		if k.id == id {
			out = append(out, stageView(s.stages[k], withTasks))
		}
	}
	return out
}

func stageView(st *Stage, withTasks bool) StageView {
	v := StageView{Stage: *st, Parents: slices.Clone(st.parents), CompletedIndices: len(st.doneParts)}
	v.tasks, v.order, v.doneParts, v.byExecutor, v.parents = nil, nil, nil, nil, nil
	for _, es := range st.byExecutor {
		v.Executors = append(v.Executors, *es)
	}
	sort.Slice(v.Executors, func(i, k int) bool { return execLess(v.Executors[i].Executor, v.Executors[k].Executor) })
	if withTasks {
		v.Tasks = make([]Task, 0, len(st.order))
		for _, id := range st.order {
			v.Tasks = append(v.Tasks, *st.tasks[id])
		}
	}
	return v
}

// execLess orders executor ids numerically when they are numbers ("2" before
// "10"), the driver first.
func execLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// Executors lists the executors in the order they registered.
func (s *Store) Executors() []Executor {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Executor, 0, len(s.execOrder))
	for _, id := range s.execOrder {
		x := *s.execs[id]
		out = append(out, x)
	}
	return out
}

// Executor reports one executor.
func (s *Store) Executor(id string) (Executor, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	x := s.execs[id]
	if x == nil {
		return Executor{}, false
	}
	return *x, true
}

// Quantile is one metric's distribution over a stage's successful tasks.
type Quantile struct {
	Metric string
	Bytes  bool       // the values are byte counts
	Millis bool       // the values are milliseconds
	Values [5]float64 // min, 25th percentile, median, 75th percentile, max
}

// QuantilePoints are the points Quantiles reports, as Spark's stage page does.
var QuantilePoints = [5]float64{0, 0.25, 0.5, 0.75, 1}

// Quantiles summarizes the successful tasks among tasks; nil when there are none.
func Quantiles(tasks []Task) []Quantile {
	var ok []Task
	for _, t := range tasks {
		if t.Status == TaskSuccess {
			ok = append(ok, t)
		}
	}
	if len(ok) == 0 {
		return nil
	}
	metrics := []struct {
		name          string
		bytes, millis bool
		get           func(TaskMetrics) int64
	}{
		{"Duration", false, true, func(m TaskMetrics) int64 { return m.DurationMs }},
		{"Records read", false, false, func(m TaskMetrics) int64 { return m.RecordsRead }},
		{"Records written", false, false, func(m TaskMetrics) int64 { return m.RecordsWritten }},
		{"Shuffle read", true, false, func(m TaskMetrics) int64 { return m.ShuffleReadBytes }},
		{"Shuffle write", true, false, func(m TaskMetrics) int64 { return m.ShuffleWriteBytes }},
		{"Spill", true, false, func(m TaskMetrics) int64 { return m.SpillBytes }},
	}
	out := make([]Quantile, 0, len(metrics))
	vals := make([]float64, len(ok))
	for _, m := range metrics {
		for i, t := range ok {
			vals[i] = float64(m.get(t.Metrics))
		}
		q := Quantile{Metric: m.name, Bytes: m.bytes, Millis: m.millis}
		q.Values = quantiles(vals, QuantilePoints[:])
		out = append(out, q)
	}
	return out
}

// quantiles picks the values at the points (0 to 1) of the sorted values, as
// Spark's getQuantiles does: the element at index floor(p × (n−1)), rounded.
func quantiles(vals []float64, points []float64) [5]float64 {
	sorted := slices.Clone(vals)
	slices.Sort(sorted)
	var out [5]float64
	for i, p := range points {
		if i >= len(out) {
			break
		}
		idx := int(p*float64(len(sorted)-1) + 0.5)
		out[i] = sorted[min(max(idx, 0), len(sorted)-1)]
	}
	return out
}

// StageTask is a task with its stage attempt, for the timeline.
type StageTask struct {
	Task
	Stage, StageAttempt int
}

// RecentTasks are the retained tasks of the newest stage attempts, at most limit,
// oldest first.
func (s *Store) RecentTasks(limit int) []StageTask {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []StageTask
	for i := len(s.stageKeys) - 1; i >= 0 && len(out) < limit; i-- {
		st := s.stages[s.stageKeys[i]]
		for j := len(st.order) - 1; j >= 0 && len(out) < limit; j-- {
			out = append(out, StageTask{Task: *st.tasks[st.order[j]], Stage: st.ID, StageAttempt: st.Attempt})
		}
	}
	slices.Reverse(out)
	return out
}

// Counts reports the application's totals.
func (s *Store) Counts() Counts {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.counts
}

// Running counts the tasks running and the stage attempts and jobs active.
func (s *Store) Running() (tasks, stages, jobs int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, st := range s.stages {
		if st.Status == StageActive {
			stages++
			tasks += st.Active
		}
	}
	for _, j := range s.jobs {
		if j.Status == JobRunning {
			jobs++
		}
	}
	return tasks, stages, jobs
}
