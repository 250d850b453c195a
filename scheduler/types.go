package scheduler

import (
	"context"
	"time"
)

// StageSpec describes one stage of a job: a set of tasks, one per partition, that
// either write a shuffle (map stage) or produce the job's result (result stage).
type StageSpec struct {
	ID        int    // unique within the Driver's life
	Name      string // e.g. "ReduceByKey at main.go:23"
	NumTasks  int    // partitions
	ShuffleID int    // the shuffle this stage writes; -1 for the result stage
	Parents   []int  // stage IDs (map stages) whose shuffle this stage reads
	// Preferred returns a partition's preferred locations, may be nil. A location is
	// a host name, or ExecutorLocation(host, executor) for data held by one executor.
	Preferred func(partition int) []string
	// Payload is what a remote executor needs to rebuild the stage's code (the
	// engine's plan reference); it is copied into every task, read-only.
	Payload []byte
}

// JobSpec is what the plan compiler hands the scheduler: every stage of one job.
type JobSpec struct {
	Name string
	// Stages holds every stage of the job; the LAST one is the result stage. Parents
	// need not be listed before their children.
	Stages []StageSpec
	// Partitions, when set, are the only result partitions to compute (Take scans a
	// few first); nil means all.
	Partitions []int
}

// MapStatus says where one map task's output lives and how big each of its reduce
// partitions is.
type MapStatus struct {
	Executor, Host, Addr string
	Sizes                []int64 // bytes per reduce partition
}

// ShuffleInput lists the map outputs of one shuffle a task reads.
type ShuffleInput struct {
	ShuffleID int
	Maps      []MapStatus // indexed by map partition; shared between tasks, read-only
}

// Task is one attempt of one partition of a stage. It is plain data so that a
// cluster backend can serialize it to a remote executor.
type Task struct {
	ID           int64 // unique within the Driver's life; names the attempt's output
	JobID        int
	StageID      int
	StageAttempt int
	Partition    int
	Attempt      int            // launches of this partition before, in any attempt of the stage
	ShuffleID    int            // output shuffle, -1 for result tasks
	NumTasks     int            // tasks in the stage
	Inputs       []ShuffleInput // map outputs of every parent shuffle (complete when the task launches)
	Preferred    []string
	Payload      []byte   // the stage's Payload: opaque to the scheduler
	Locality     Locality // how close to its preferred data it was placed
}

// TaskMetrics are the counters a task reports with its result.
type TaskMetrics struct {
	Duration          time.Duration
	RecordsRead       int64
	RecordsWritten    int64
	ShuffleReadBytes  int64
	ShuffleWriteBytes int64
	SpillBytes        int64
	DroppedMalformed  int64
}

// TaskResult is what a successful task returns.
type TaskResult struct {
	Sizes   []int64 // map tasks: bytes per reduce partition
	Data    []byte  // result tasks: the encoded partition result
	Metrics TaskMetrics
}

// Runner runs one task attempt in the executor's process. The root package
// implements it.
type Runner interface {
	RunTask(ctx context.Context, t *Task) (*TaskResult, error)
}

// Listener observes a job's progress. The Driver calls it from its own goroutine,
// so implementations must be quick and must not call back into the Driver.
type Listener interface {
	JobStarted(job *JobSpec)
	StageSubmitted(stage *StageSpec, attempt, numTasks int)
	TaskStarted(t *Task, executor string)
	TaskEnded(t *Task, executor string, res *TaskResult, err error)
	StageCompleted(stage *StageSpec, attempt int, err error)
	JobEnded(job *JobSpec, err error)
}

// RecoveryListener is what a Listener implements to also hear how the scheduler
// gets past failing executors and slow tasks; the Driver calls it, from its
// goroutine, when its Listener does.
type RecoveryListener interface {
	// SpeculativeTaskLaunched reports a copy of a slow task started on executor;
	// TaskStarted reported it too.
	SpeculativeTaskLaunched(t *Task, executor string)
	// ExecutorExcluded reports an executor excluded on failure, for a stage attempt
	// or the application (x.StageID < 0).
	ExecutorExcluded(x Exclusion)
	// NodeExcluded reports a node excluded on failure, for a stage attempt or the
	// application; for the application the cluster keeps new executors off it.
	NodeExcluded(x Exclusion)
	// ExclusionLifted reports an application exclusion that timed out.
	ExclusionLifted(x Exclusion)
}

// Options tune a Driver.
type Options struct {
	// MaxFailures is how many times one partition may fail before its job fails
	// (spindle.task.maxFailures); 0 means 4.
	MaxFailures int
	// LocalityWait is how long a task set waits for a slot at its preferred
	// locality before it takes a less local one (spindle.locality.wait); 0 means
	// 3s, negative means no waiting.
	LocalityWait time.Duration
	// ExternalShuffle says map outputs are served by a shuffle service that
	// outlives executors, so losing an executor does not lose its map outputs.
	ExternalShuffle bool
	// MaxStageAttempts is how many attempts of one stage may fail on lost shuffle
	// input before its job fails (spindle.stage.maxConsecutiveAttempts); 0 means 4.
	MaxStageAttempts int
	// Backlog, when set, receives what waits on the scheduler (see
	// TaskScheduler.Backlog) whenever it changed, at most once per BacklogInterval:
	// the pending tasks' preferred hosts are the ApplicationMaster's hints, and the
	// counts drive dynamic allocation. The Driver calls it from its goroutine with a
	// value of its own, so it must not block; it need not copy the map.
	Backlog func(Backlog)
	// BacklogInterval bounds how often Backlog is called, since counting the pending
	// tasks costs a pass over them; 0 means 100 ms.
	BacklogInterval time.Duration
	// Exclusion is exclusion on failure (spindle.excludeOnFailure.*), off unless
	// Enabled: executors and nodes that keep failing tasks get no more of them, and
	// the nodes excluded for the application reach Backlog.
	Exclusion ExclusionConfig
	// Speculation is speculative execution (spindle.speculation), off unless
	// Enabled: slow tasks get a copy, the first to succeed wins.
	Speculation SpeculationConfig
	// NodeOf, when set, names the node an executor runs on as the cluster manager
	// does, for executors that registered without one (ExecutorInfo.Node): exclusion
	// counts failures per node. It is called from the Driver's goroutine when an
	// executor is added, and must not block.
	NodeOf func(executorID string) string
}

// Backlog is what waits on the scheduler: the tasks waiting for a slot, the tasks
// running, and per host the pending tasks that prefer it; and the nodes excluded
// for the application, where the cluster must start no executors.
type Backlog struct {
	Pending, Running int
	Hosts            map[string]int
	// Excluded maps each node excluded on failure to the end of its exclusion; nil
	// when none is.
	Excluded map[string]time.Time
}

const (
	defaultMaxFailures     = 4
	defaultLocalityWait    = 3 * time.Second
	defaultBacklogInterval = 100 * time.Millisecond
	// defaultMaxStageAttempts bounds how often one stage is resubmitted after
	// fetch failures before its job fails, as Spark's default does.
	defaultMaxStageAttempts = 4
)

func (o Options) withDefaults() Options {
	if o.MaxFailures <= 0 {
		o.MaxFailures = defaultMaxFailures
	}
	if o.BacklogInterval <= 0 {
		o.BacklogInterval = defaultBacklogInterval
	}
	o.Speculation = o.Speculation.withDefaults()
	switch {
	case o.LocalityWait == 0:
		o.LocalityWait = defaultLocalityWait
	case o.LocalityWait < 0:
		o.LocalityWait = 0
	}
	return o
}

// Tee is a Listener that tells each of ls, in order.
func Tee(ls ...Listener) Listener { return tee(ls) }

type tee []Listener

func (t tee) JobStarted(job *JobSpec) {
	for _, l := range t {
		l.JobStarted(job)
	}
}

func (t tee) StageSubmitted(stage *StageSpec, attempt, numTasks int) {
	for _, l := range t {
		l.StageSubmitted(stage, attempt, numTasks)
	}
}

func (t tee) TaskStarted(task *Task, executor string) {
	for _, l := range t {
		l.TaskStarted(task, executor)
	}
}

func (t tee) TaskEnded(task *Task, executor string, res *TaskResult, err error) {
	for _, l := range t {
		l.TaskEnded(task, executor, res, err)
	}
}

func (t tee) StageCompleted(stage *StageSpec, attempt int, err error) {
	for _, l := range t {
		l.StageCompleted(stage, attempt, err)
	}
}

func (t tee) JobEnded(job *JobSpec, err error) {
	for _, l := range t {
		l.JobEnded(job, err)
	}
}

// recovery calls f on each listener of t that is a RecoveryListener.
func (t tee) recovery(f func(RecoveryListener)) {
	for _, l := range t {
		if r, ok := l.(RecoveryListener); ok {
			f(r)
		}
	}
}

func (t tee) SpeculativeTaskLaunched(task *Task, executor string) {
	t.recovery(func(r RecoveryListener) { r.SpeculativeTaskLaunched(task, executor) })
}

func (t tee) ExecutorExcluded(x Exclusion) {
	t.recovery(func(r RecoveryListener) { r.ExecutorExcluded(x) })
}
func (t tee) NodeExcluded(x Exclusion) { t.recovery(func(r RecoveryListener) { r.NodeExcluded(x) }) }
func (t tee) ExclusionLifted(x Exclusion) {
	t.recovery(func(r RecoveryListener) { r.ExclusionLifted(x) })
}
