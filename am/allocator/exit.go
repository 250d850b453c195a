package allocator

import (
	"fmt"

	"github.com/spindle-engine/spindle/yarn"
)

// ExitKind classifies why a container ended.
type ExitKind int

// Kinds of container exits, after Hadoop's ContainerExitStatus.
const (
	ExitSuccess        ExitKind = iota // exit code 0
	ExitPreempted                      // the scheduler took the container back
	ExitMemoryExceeded                 // killed for exceeding its physical or virtual memory
	ExitDiskFailed                     // the node's local disks failed
	ExitKilledByAM                     // released or stopped by this AM
	ExitKilledByYARN                   // aborted, killed by the RM, or after app completion
	ExitAppError                       // any other exit code: the executor itself failed
)

var exitKindNames = [...]string{"Success", "Preempted", "MemoryExceeded", "DiskFailed", "KilledByAM", "KilledByYARN", "AppError"}

// String names the kind, e.g. "Preempted".
func (k ExitKind) String() string {
	if k < 0 || int(k) >= len(exitKindNames) {
		return fmt.Sprintf("ExitKind(%d)", int(k))
	}
	return exitKindNames[k]
}

// Exit statuses Hadoop 3.x added after yarn's list (ContainerExitStatus).
const (
	statusKilledByContainerScheduler = -108 // evicted to make room, as preemption is
	statusKilledForExcessLogs        = -109
)

// Classify maps a container's YARN exit status to what it means for the
// application. As in Spark's YarnAllocator, only exits the application caused
// (memory overrun, a non-zero exit code) count as failures; YARN's own decisions
// (preemption, kills, failed disks) do not.
func Classify(status int32, diagnostics string) (kind ExitKind, countsAsFailure bool, message string) {
	switch status {
	case yarn.ExitSuccess:
		return ExitSuccess, false, "exited normally"
	case yarn.ExitPreempted, statusKilledByContainerScheduler:
		return ExitPreempted, false, "preempted by the YARN scheduler"
	case yarn.ExitKilledExceededPMem:
		return ExitMemoryExceeded, true, "killed by YARN for exceeding its physical memory limit " +
			"(raise spindle.executor.memoryOverhead, or spindle.executor.memory if the heap outgrew it): " + diagnostics
	case yarn.ExitKilledExceededVMem:
		return ExitMemoryExceeded, true, "killed by YARN for exceeding its virtual memory limit " +
			"(raise spindle.executor.memoryOverhead: the limit is yarn.nodemanager.vmem-pmem-ratio × the container): " + diagnostics
	case yarn.ExitDisksFailed:
		return ExitDiskFailed, false, "lost to failed disks on its node: " + diagnostics
	case statusKilledForExcessLogs:
		return ExitAppError, true, "killed by YARN for writing too much log data: " + diagnostics
	case yarn.ExitKilledByAppMaster:
		return ExitKilledByAM, false, "killed by the ApplicationMaster"
	case yarn.ExitAborted, yarn.ExitKilledByResourceManager, yarn.ExitKilledAfterAppCompletion:
		return ExitKilledByYARN, false, fmt.Sprintf("killed by YARN (exit status %d): %s", status, diagnostics)
	}
	return ExitAppError, true, fmt.Sprintf("exited with code %d: %s", status, diagnostics)
}

// Completed is a container the RM reports as ended.
type Completed struct {
	ContainerID string
	ExitStatus  int32
	Diagnostics string
}

// OnCompleted classifies ended containers. Executors that were starting or
// running are gone, so the next Heartbeat asks for replacements; a failed disk
// excludes its node. Containers this allocator released are ignored.
func (a *Allocator) OnCompleted(cs []Completed) []Action {
	var out []Action
	for _, c := range cs {
		e, ok := a.forget(c.ContainerID)
		if !ok {
			continue
		}
		kind, counts, msg := Classify(c.ExitStatus, c.Diagnostics)
		if kind == ExitDiskFailed && e.host != "" {
			a.exclude(e.host)
		}
		out = append(out, a.exit(Exit{ContainerID: c.ContainerID, ExecutorID: e.id, Kind: kind, CountsAsFailure: counts, Message: msg, Status: c.ExitStatus, Diagnostics: c.Diagnostics})...)
	}
	return out
}

// OnLaunchFailed handles a container whose executor could not be started on its
// NodeManager: the container is released and the attempt counts as a failure.
func (a *Allocator) OnLaunchFailed(containerID string, err error) []Action {
	e, ok := a.forget(containerID)
	if !ok {
		return nil
	}
	out := []Action{Release{ContainerID: containerID, Reason: "launch failed"}}
	return append(out, a.exit(Exit{ContainerID: containerID, ExecutorID: e.id, Kind: ExitAppError,
		CountsAsFailure: true, Message: fmt.Sprintf("launch on %s: %v", e.host, err)})...)
}

// OnServiceDown handles a container whose node does not run a service the
// application needs (the shuffle service): the container is released, the node
// excluded for ExclusionTimeout, and, the application being blameless, nothing
// counts as a failure; the executor is replaced elsewhere.
func (a *Allocator) OnServiceDown(containerID, reason string) []Action {
	e, ok := a.forget(containerID)
	if !ok {
		return nil
	}
	if e.host != "" {
		a.exclude(e.host)
	}
	return []Action{
		Release{ContainerID: containerID, Reason: reason},
		Exit{ContainerID: containerID, ExecutorID: e.id, Kind: ExitKilledByAM, Message: reason + "; node " + e.host + " excluded"},
	}
}

// exit counts a failure and adds Failed the first time the limit is exceeded.
func (a *Allocator) exit(e Exit) []Action {
	out := []Action{e}
	if !e.CountsAsFailure {
		return out
	}
	a.failures++
	if a.failures > a.cfg.MaxExecutorFailures && a.failed == "" {
		a.failed = fmt.Sprintf("%d executor failures (spindle.executor.maxNumFailures=%d); last: executor %s %s",
			a.failures, a.cfg.MaxExecutorFailures, e.ExecutorID, e.Message)
		out = append(out, Failed{Reason: a.failed})
	}
	return out
}
