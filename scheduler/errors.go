package scheduler

import (
	"errors"
	"fmt"
)

// ErrNotRetriable marks a task error that retrying cannot fix (bad input found by
// a task, say): a task error wrapping it fails the job at once.
var ErrNotRetriable = errors.New("not retriable")

// ErrExecutorLost is the error of a task whose executor went away while it ran;
// such a failure does not count toward MaxFailures.
var ErrExecutorLost = errors.New("executor lost")

// ErrTaskKilled is the error of a task the scheduler killed because its stage or
// job no longer needed it.
var ErrTaskKilled = errors.New("task killed")

// ErrClosed is returned by RunJob once the Driver is closed.
var ErrClosed = errors.New("scheduler: driver closed")

// FetchFailedError is returned by a task whose shuffle input is gone: the parent
// stage's lost partitions are recomputed, and the failure does not count toward
// MaxFailures.
type FetchFailedError struct {
	ShuffleID    int
	MapPartition int
	Executor     string
	Host         string // where the map output was served from; "" when unknown
	// Addr is the server the output was fetched from, and Unreachable says it did
	// not answer (rather than answering that the output is missing or corrupt): with
	// an external shuffle service, every output it serves is then lost.
	Addr        string
	Unreachable bool
	Err         error
}

func (e *FetchFailedError) Error() string {
	where := ""
	if e.Host != "" {
		where = " on " + e.Host
	}
	return fmt.Sprintf("fetch shuffle %d map %d from executor %q%s: %v", e.ShuffleID, e.MapPartition, e.Executor, where, e.Err)
}

func (e *FetchFailedError) Unwrap() error { return e.Err }

// TaskFailedError is the error of a job whose task failed for good: after
// MaxFailures attempts, or once with an ErrNotRetriable error. errors.Is and
// errors.As reach the last attempt's error.
type TaskFailedError struct {
	Job       string
	StageID   int
	StageName string
	Partition int
	Failures  int
	Err       error // the last attempt's error
}

func (e *TaskFailedError) Error() string {
	if errors.Is(e.Err, ErrNotRetriable) {
		return fmt.Sprintf("job %q: stage %d (%s) partition %d failed: %v", e.Job, e.StageID, e.StageName, e.Partition, e.Err)
	}
	times := "times"
	if e.Failures == 1 {
		times = "time"
	}
	return fmt.Sprintf("job %q: stage %d (%s) partition %d failed %d %s, last: %v",
		e.Job, e.StageID, e.StageName, e.Partition, e.Failures, times, e.Err)
}

func (e *TaskFailedError) Unwrap() error { return e.Err }

// StageAttemptsError fails a job whose stage kept losing its shuffle input.
type StageAttemptsError struct {
	Job       string
	StageID   int
	StageName string
	Attempts  int
	Err       error // the last fetch failure
}

func (e *StageAttemptsError) Error() string {
	// The last fetch failure names the map output, its host and why it was lost.
	return fmt.Sprintf("job %q: stage %d (%s) failed %d attempts on lost shuffle input, last: %v",
		e.Job, e.StageID, e.StageName, e.Attempts, e.Err)
}

func (e *StageAttemptsError) Unwrap() error { return e.Err }

// PanicError is a panic in a task, recovered by whatever ran it (the engine's task
// runner, a backend), with the stack of the goroutine that panicked, so that the
// job's error points at the user's line. It is plain data so that it crosses from an
// executor to the driver as itself.
type PanicError struct {
	Value string // the panic's value, as fmt.Sprint formats it
	Stack string
}

// NewPanicError records a recovered value and the stack it was raised on.
func NewPanicError(value any, stack []byte) *PanicError {
	return &PanicError{Value: fmt.Sprint(value), Stack: string(stack)}
}

func (e *PanicError) Error() string { return "panic: " + e.Value + "\n" + e.Stack }

// NotRetriable marks err as an error that running the task again cannot fix; its
// message stays err's.
func NotRetriable(err error) error { return &notRetriableError{err} }

type notRetriableError struct{ err error }

func (e *notRetriableError) Error() string        { return e.err.Error() }
func (e *notRetriableError) Unwrap() error        { return e.err }
func (e *notRetriableError) Is(target error) bool { return target == ErrNotRetriable }
