package scheduler

// Events flow into the DAGScheduler, actions flow out of it; the Driver carries
// them between the state machines and the backend. All are plain values.

// Event is an input to DAGScheduler.HandleEvent.
type Event interface{ dagEvent() }

// TaskSucceeded reports a task that finished; Status is set for map tasks.
type TaskSucceeded struct {
	Task   *Task
	Status MapStatus
	Result *TaskResult
}

// TaskFailed reports a failed task attempt that the task scheduler retries (or, when
// CountsAsFailure is false, re-queues without charging it).
type TaskFailed struct {
	Task            *Task
	Err             error
	CountsAsFailure bool
}

// FetchFailed reports a task that could not read a map output.
type FetchFailed struct {
	Task *Task
	Err  *FetchFailedError
}

// ExecutorLost reports an executor that went away.
type ExecutorLost struct {
	Executor string
}

// StageAborted reports a task set the task scheduler gave up on: one partition
// failed Failures times, or once with ErrNotRetriable.
type StageAborted struct {
	StageID, Attempt, Partition, Failures int
	Err                                   error
}

func (TaskSucceeded) dagEvent() {}
func (TaskFailed) dagEvent()    {}
func (FetchFailed) dagEvent()   {}
func (ExecutorLost) dagEvent()  {}
func (StageAborted) dagEvent()  {}

// Action is an output of the DAGScheduler for the Driver to carry out.
type Action interface{ dagAction() }

// SubmitTaskSet hands the task scheduler the missing partitions of a stage attempt.
// Tasks are templates: the task scheduler fills in ID and Attempt at launch.
type SubmitTaskSet struct {
	Stage   *StageSpec
	JobID   int
	Attempt int
	Tasks   []*Task
}

// CancelStage removes every task set of a stage from the task scheduler. With Kill
// the running tasks are killed too; without, they finish and report (a stage attempt
// superseded after a fetch failure may still produce useful map outputs).
type CancelStage struct {
	StageID int
	Kill    bool
}

// StageCompleted reports the end of a stage attempt; Err is nil on success.
type StageCompleted struct {
	Stage   *StageSpec
	Attempt int
	Err     error
}

// DeliverResult hands a result partition to the job's caller, once per partition.
type DeliverResult struct {
	JobID, Partition int
	Data             []byte
}

// JobSucceeded reports a job all of whose result partitions were delivered.
type JobSucceeded struct{ JobID int }

// JobFailed reports a job that ended in error.
type JobFailed struct {
	JobID int
	Err   error
}

// ExcludeService stops placing tasks on the executors whose map outputs the shuffle
// service at Addr serves: it did not answer, so what they write there cannot be
// read.
type ExcludeService struct{ Addr string }

func (ExcludeService) dagAction() {}
func (SubmitTaskSet) dagAction()  {}
func (CancelStage) dagAction()    {}
func (StageCompleted) dagAction() {}
func (DeliverResult) dagAction()  {}
func (JobSucceeded) dagAction()   {}
func (JobFailed) dagAction()      {}
