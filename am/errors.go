package am

import (
	"errors"

	"github.com/spindle-engine/spindle/am/pb"
)

// Why the application must fail, or why the AM cannot do what it was asked.
// Master.Failed, DriverLink.Failed and the Finish methods return an *Error whose
// Kind is one of these, so that errors.Is(err, ErrExecutorFailures) tells the
// driver what happened whether the AM runs in its process or across the link.
var (
	// ErrExecutorFailures: more executors failed than spindle.executor.maxNumFailures.
	ErrExecutorFailures = errors.New("am: too many executor failures")
	// ErrShutdown: the ResourceManager ordered the AM to shut down (AM_SHUTDOWN).
	ErrShutdown = errors.New("am: the ResourceManager ordered the ApplicationMaster to shut down")
	// ErrAllocate: allocate heartbeats failed too many times in a row.
	ErrAllocate = errors.New("am: allocate keeps failing")
	// ErrDisconnected: the client-mode link between the AM and the driver is gone.
	ErrDisconnected = errors.New("am: the link between the ApplicationMaster and the driver is gone")
	// ErrUnregister: the AM could not unregister with the final status.
	ErrUnregister = errors.New("am: the ApplicationMaster could not unregister")
	// ErrStopped: the Master's loop or the DriverLink has ended, so nothing more
	// reaches the allocator. It is returned as it is, not as an *Error.
	ErrStopped = errors.New("am: stopped")
)

// Error is a failure of the ApplicationMaster or of the link to it.
type Error struct {
	// Kind is one of the sentinels above; nil for a failure an AM reported
	// without a kind.
	Kind error
	// Reason says what happened in words.
	Reason string
	// Cause is the error underneath, if any; across the link only its text
	// survives, inside Reason.
	Cause error
}

// Error is Reason, followed by Cause when there is one.
func (e *Error) Error() string {
	if e.Cause == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Cause.Error()
}

// Unwrap gives errors.Is and errors.As both the kind and the cause.
func (e *Error) Unwrap() []error {
	var out []error
	for _, err := range []error{e.Kind, e.Cause} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// wireKinds maps the sentinels to the link's enum, in the order kindOf tries them.
var wireKinds = []struct {
	wire pb.FailureKind
	err  error
}{
	{pb.FailureKind_FAILURE_KIND_EXECUTOR_FAILURES, ErrExecutorFailures},
	{pb.FailureKind_FAILURE_KIND_SHUTDOWN, ErrShutdown},
	{pb.FailureKind_FAILURE_KIND_ALLOCATE, ErrAllocate},
	{pb.FailureKind_FAILURE_KIND_DISCONNECTED, ErrDisconnected},
	{pb.FailureKind_FAILURE_KIND_UNREGISTER, ErrUnregister},
}

// kindOf is err's kind as the link sends it.
func kindOf(err error) pb.FailureKind {
	for _, k := range wireKinds {
		if errors.Is(err, k.err) {
			return k.wire
		}
	}
	return pb.FailureKind_FAILURE_KIND_UNSPECIFIED
}

// fromWire rebuilds the error the AM reported: the same kind and the same text.
func fromWire(kind pb.FailureKind, reason string) error {
	e := &Error{Reason: reason}
	for _, k := range wireKinds {
		if k.wire == kind {
			e.Kind = k.err
		}
	}
	return e
}
