package scheduler

import "context"

// Backend runs tasks on executors. The local backend runs them in-process; a
// cluster backend runs them on remote executors. The Driver owns the backend: it
// starts it, launches and kills tasks from its one goroutine, and stops it.
type Backend interface {
	// Start connects the backend; from then until ctx ends or Stop returns it
	// reports executors and task ends on events. Sends must give up when ctx ends,
	// so the Driver never has to drain the channel.
	Start(ctx context.Context, events chan<- BackendEvent) error
	// Launch starts t on an executor without waiting for it; its end arrives as a
	// TaskStatus. An error means the task never started.
	Launch(executor string, t *Task) error
	// Kill asks an executor to stop a task without waiting for it; the task still
	// reports a TaskStatus.
	Kill(executor string, taskID int64) error
	// Stop kills what runs and waits for the backend's goroutines to end.
	Stop(ctx context.Context) error
}

// ExecutorInfo describes an executor: where it runs, where its map outputs are
// served from, and how many tasks it runs at once.
type ExecutorInfo struct {
	ID, Host, Addr string
	Slots          int
	// Node is the node the executor runs on as the cluster manager names it (on YARN
	// the scheduler's node name, which may carry the NodeManager's port): exclusion
	// on failure counts per node by it. "" means Host.
	Node string
}

// BackendEvent is something a backend reports to the Driver.
type BackendEvent interface{ backendEvent() }

// ExecutorAdded offers a new executor's slots.
type ExecutorAdded struct{ Executor ExecutorInfo }

// ExecutorRemoved reports an executor that went away; its tasks are re-queued.
type ExecutorRemoved struct {
	ID     string
	Reason error
}

// TaskStatus reports the end of a task: Result on success, Err on failure.
type TaskStatus struct {
	TaskID   int64
	Executor string
	Result   *TaskResult
	Err      error
}

func (ExecutorAdded) backendEvent()   {}
func (ExecutorRemoved) backendEvent() {}
func (TaskStatus) backendEvent()      {}
