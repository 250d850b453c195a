package scheduler

import (
	"errors"
	"fmt"
	"slices"
)

// ErrInvalidJob is wrapped by the error of a job whose JobSpec is malformed.
var ErrInvalidJob = errors.New("invalid job")

// DAGScheduler turns jobs into stage attempts: it submits a stage once every shuffle
// it reads is complete, tracks map outputs across jobs, and reacts to lost outputs
// by resubmitting the stages that produce them. It does no I/O and is not safe for
// concurrent use: the Driver's goroutine owns it.
type DAGScheduler struct {
	// maxStageAttempts bounds how often one stage is resubmitted after fetch
	// failures before its job fails (spindle.stage.maxConsecutiveAttempts).
	maxStageAttempts int
	externalShuffle  bool
	outputs          *mapOutputs
	jobs             map[int]*job
	stages           map[int]*stage
	// lostExecutors keeps outputs reported by a task that ran on an executor already
	// known lost from being trusted.
	lostExecutors map[string]bool
	nextJobID     int
}

type job struct {
	id      int
	spec    *JobSpec
	result  *stage
	stages  []*stage // the stages the result stage depends on, itself included
	done    []bool   // result partitions delivered
	numDone int
}

type stageState int

const (
	stageIdle    stageState = iota // not submitted, or failed and to be resubmitted
	stageWaiting                   // waiting for parent shuffles
	stageRunning                   // a task set is out
	stageDone
)

type stage struct {
	spec           *StageSpec
	job            *job
	parents        []*stage
	state          stageState
	attempt        int          // the latest attempt; -1 before the first
	pending        map[int]bool // partitions the running attempt still misses
	failedAttempts int          // attempts ended by a fetch failure
}

// NewDAGScheduler returns a DAGScheduler. With externalShuffle, map outputs survive
// the loss of the executor that wrote them.
func NewDAGScheduler(externalShuffle bool, maxStageAttempts int) *DAGScheduler {
	if maxStageAttempts <= 0 {
		maxStageAttempts = defaultMaxStageAttempts
	}
	return &DAGScheduler{
		externalShuffle:  externalShuffle,
		maxStageAttempts: maxStageAttempts,
		outputs:          newMapOutputs(),
		jobs:             map[int]*job{},
		stages:           map[int]*stage{},
		lostExecutors:    map[string]bool{},
	}
}

// Submit starts a job and returns its ID with the first actions: the task sets of
// the stages that can run now, or JobFailed for a malformed job.
func (d *DAGScheduler) Submit(spec *JobSpec) (int, []Action) {
	id := d.nextJobID
	d.nextJobID++
	j, err := d.newJob(id, spec)
	if err != nil {
		return id, []Action{JobFailed{JobID: id, Err: fmt.Errorf("job %q: %w", spec.Name, err)}}
	}
	d.jobs[id] = j
	for _, s := range j.stages {
		d.stages[s.spec.ID] = s
		if s.spec.ShuffleID >= 0 {
			d.outputs.register(s.spec.ShuffleID, s.spec.NumTasks)
		}
	}
	var acts []Action
	d.submitStage(j.result, &acts)
	return id, acts
}

// newJob checks a JobSpec and links its stages, keeping only those the result
// stage depends on.
func (d *DAGScheduler) newJob(id int, spec *JobSpec) (*job, error) {
	n := len(spec.Stages)
	if n == 0 {
		return nil, fmt.Errorf("%w: no stages", ErrInvalidJob)
	}
	byID := make(map[int]*StageSpec, n)
	shuffles := map[int]bool{}
	for i := range spec.Stages {
		ss := &spec.Stages[i]
		switch {
		case byID[ss.ID] != nil || d.stages[ss.ID] != nil:
			return nil, fmt.Errorf("%w: stage ID %d is not unique", ErrInvalidJob, ss.ID)
		case ss.NumTasks < 0:
			return nil, fmt.Errorf("%w: stage %d has %d tasks", ErrInvalidJob, ss.ID, ss.NumTasks)
		case i == n-1 && ss.ShuffleID != -1:
			return nil, fmt.Errorf("%w: last stage %d writes shuffle %d, want a result stage", ErrInvalidJob, ss.ID, ss.ShuffleID)
		case i < n-1 && ss.ShuffleID < 0:
			return nil, fmt.Errorf("%w: stage %d writes no shuffle but is not last", ErrInvalidJob, ss.ID)
		case ss.ShuffleID >= 0 && shuffles[ss.ShuffleID]:
			return nil, fmt.Errorf("%w: two stages write shuffle %d", ErrInvalidJob, ss.ShuffleID)
		}
		byID[ss.ID] = ss
		shuffles[ss.ShuffleID] = true
	}
	j := &job{id: id, spec: spec, done: make([]bool, spec.Stages[n-1].NumTasks)}
	if spec.Partitions != nil {
		// Partitions left out count as done: they are never submitted.
		for p := range j.done {
			j.done[p] = true
		}
		for _, p := range spec.Partitions {
			if p < 0 || p >= len(j.done) {
				return nil, fmt.Errorf("%w: result partition %d of %d", ErrInvalidJob, p, len(j.done))
			}
			j.done[p] = false
		}
	}
	made := map[int]*stage{}
	visiting := map[int]bool{}
	var link func(ss *StageSpec) (*stage, error)
	link = func(ss *StageSpec) (*stage, error) {
		if s := made[ss.ID]; s != nil {
			return s, nil
		}
		if visiting[ss.ID] {
			return nil, fmt.Errorf("%w: stage %d depends on itself", ErrInvalidJob, ss.ID)
		}
		visiting[ss.ID] = true
		s := &stage{spec: ss, job: j, attempt: -1}
		for _, pid := range ss.Parents {
			ps := byID[pid]
			if ps == nil {
				return nil, fmt.Errorf("%w: stage %d reads stage %d, which is not in the job", ErrInvalidJob, ss.ID, pid)
			}
			if ps.ShuffleID < 0 {
				return nil, fmt.Errorf("%w: stage %d reads stage %d, which writes no shuffle", ErrInvalidJob, ss.ID, pid)
			}
			p, err := link(ps)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(s.parents, p) {
				s.parents = append(s.parents, p)
			}
		}
		made[ss.ID] = s
		j.stages = append(j.stages, s)
		return s, nil
	}
	res, err := link(&spec.Stages[n-1])
	if err != nil {
		return nil, err
	}
	j.result = res
	return j, nil
}

// HandleEvent applies one event and returns what to do about it.
func (d *DAGScheduler) HandleEvent(ev Event) []Action {
	var acts []Action
	switch ev := ev.(type) {
	case TaskSucceeded:
		d.taskSucceeded(ev, &acts)
	case FetchFailed:
		d.fetchFailed(ev, &acts)
	case ExecutorLost:
		if !d.externalShuffle {
			d.lostExecutors[ev.Executor] = true
			d.outputs.removeExecutor(ev.Executor)
		}
	case StageAborted:
		s := d.stages[ev.StageID]
		if s == nil || s.attempt != ev.Attempt {
			break
		}
		d.failJob(s.job, &TaskFailedError{
			Job: s.job.spec.Name, StageID: s.spec.ID, StageName: s.spec.Name,
			Partition: ev.Partition, Failures: ev.Failures, Err: ev.Err,
		}, &acts)
	case TaskFailed:
		// The task scheduler retries it; nothing changes at the stage level.
	}
	return acts
}

// Cancel ends a job with err, killing its tasks.
func (d *DAGScheduler) Cancel(jobID int, err error) []Action {
	j := d.jobs[jobID]
	if j == nil {
		return nil
	}
	var acts []Action
	d.failJob(j, err, &acts)
	return acts
}

// Active reports whether a job is still running.
func (d *DAGScheduler) Active(jobID int) bool { return d.jobs[jobID] != nil }

func (d *DAGScheduler) shuffleComplete(s *stage) bool { return d.outputs.complete(s.spec.ShuffleID) }

// submitStage runs s if its parents' shuffles are complete, and otherwise submits
// the parents that are missing and parks s until they finish.
func (d *DAGScheduler) submitStage(s *stage, acts *[]Action) {
	if s.state == stageDone && s.spec.ShuffleID >= 0 && !d.shuffleComplete(s) {
		s.state = stageIdle // its outputs were lost since it finished
	}
	if s.state != stageIdle {
		return
	}
	missing := false
	for _, p := range s.parents {
		if !d.shuffleComplete(p) {
			missing = true
			d.submitStage(p, acts)
		}
	}
	if missing {
		s.state = stageWaiting
		return
	}
	d.submitMissingTasks(s, acts)
}

func (d *DAGScheduler) submitMissingTasks(s *stage, acts *[]Action) {
	var parts []int
	if s.spec.ShuffleID >= 0 {
		parts = d.outputs.missing(s.spec.ShuffleID)
	} else {
		for p, done := range s.job.done {
			if !done {
				parts = append(parts, p)
			}
		}
	}
	if len(parts) == 0 {
		s.state = stageDone
		if s == s.job.result {
			d.finishJob(s.job, acts)
			return
		}
		d.submitWaiting(acts)
		return
	}
	s.attempt++
	s.state = stageRunning
	s.pending = make(map[int]bool, len(parts))
	inputs := make([]ShuffleInput, 0, len(s.parents))
	for _, p := range s.parents {
		inputs = append(inputs, d.outputs.input(p.spec.ShuffleID))
	}
	ts := SubmitTaskSet{Stage: s.spec, JobID: s.job.id, Attempt: s.attempt, Tasks: make([]*Task, len(parts))}
	for i, p := range parts {
		s.pending[p] = true
		t := &Task{
			JobID: s.job.id, StageID: s.spec.ID, StageAttempt: s.attempt, Partition: p,
			ShuffleID: s.spec.ShuffleID, NumTasks: s.spec.NumTasks, Inputs: inputs,
			Payload: s.spec.Payload,
		}
		if s.spec.Preferred != nil {
			t.Preferred = s.spec.Preferred(p)
		}
		ts.Tasks[i] = t
	}
	*acts = append(*acts, ts)
}

// submitWaiting gives every parked stage another try, in stage ID order.
func (d *DAGScheduler) submitWaiting(acts *[]Action) {
	var waiting []*stage
	for _, s := range d.stages {
		if s.state == stageWaiting {
			waiting = append(waiting, s)
		}
	}
	slices.SortFunc(waiting, func(a, b *stage) int { return a.spec.ID - b.spec.ID })
	for _, s := range waiting {
		if s.state == stageWaiting && d.jobs[s.job.id] != nil {
			s.state = stageIdle
			d.submitStage(s, acts)
		}
	}
}
