package progress

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spindle-engine/spindle/scheduler"
)

// Retries is what the scheduler did again, and why: the part of a summary a user
// reads after a run that took longer than it should have.
type Retries struct {
	// Failed task attempts by cause: their executor was lost, their shuffle input
	// could not be fetched, the scheduler killed them (a stage or a speculative
	// copy was no longer needed), or the task itself failed (user code, bad data).
	ExecutorLost, FetchFailed, Killed, TaskErrors int
	// StageRetries counts stage attempts after the first: map outputs recomputed
	// after fetch failures or lost executors.
	StageRetries int
	// Speculative counts copies of slow tasks launched.
	Speculative int
	// ExcludedNodes and ExcludedExecutors are those excluded on failure for the
	// whole application at any time in the run, with what caused it.
	ExcludedNodes, ExcludedExecutors []string
}

// Any reports whether anything was retried.
func (r Retries) Any() bool {
	return r.ExecutorLost+r.FetchFailed+r.Killed+r.TaskErrors+r.StageRetries+r.Speculative > 0 ||
		len(r.ExcludedNodes)+len(r.ExcludedExecutors) > 0
}

// String is the summary's retry line, e.g. "retried: 2 task attempts after lost
// executors, 1 stage attempt (recomputed map output); excluded nodes n1".
func (r Retries) String() string {
	var parts []string
	count := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	count(r.ExecutorLost, "task attempts after lost executors")
	count(r.FetchFailed, "task attempts after shuffle fetch failures")
	count(r.TaskErrors, "task attempts after task errors")
	count(r.StageRetries, "stage attempts (recomputed map output)")
	count(r.Speculative, "speculative copies of slow tasks")
	count(r.Killed, "attempts killed (no longer needed)")
	s := "retried: " + strings.Join(parts, ", ")
	if len(parts) == 0 {
		s = "retried: nothing"
	}
	if len(r.ExcludedNodes) > 0 {
		s += "; excluded nodes " + strings.Join(r.ExcludedNodes, ", ")
	}
	if len(r.ExcludedExecutors) > 0 {
		s += "; excluded executors " + strings.Join(r.ExcludedExecutors, ", ")
	}
	return s
}

// retries accumulates Retries; Metrics' lock guards it.
type retries struct {
	Retries
	nodes, executors map[string]bool
}

// taskFailed classifies one failed attempt.
func (r *retries) taskFailed(err error) {
	var ff *scheduler.FetchFailedError
	switch {
	case errors.As(err, &ff):
		r.FetchFailed++
	case errors.Is(err, scheduler.ErrExecutorLost):
		r.ExecutorLost++
	case errors.Is(err, scheduler.ErrTaskKilled), errors.Is(err, scheduler.ErrCommitDenied):
		r.Killed++
	default:
		r.TaskErrors++
	}
}

func (r *retries) excluded(x scheduler.Exclusion, node bool) {
	if x.StageID >= 0 {
		return // a stage's exclusion ends with the stage
	}
	set := &r.executors
	if node {
		set = &r.nodes
	}
	if *set == nil {
		*set = map[string]bool{}
	}
	(*set)[exclusionName(x, node)] = true
}

// exclusionName is how the summary names an exclusion: "n1 (2 failures)".
func exclusionName(x scheduler.Exclusion, node bool) string {
	name := x.Executor
	if node {
		name = x.Node
	}
	return fmt.Sprintf("%s (%d failures)", name, x.Failures)
}

func (r *retries) snapshot() Retries {
	out := r.Retries
	out.ExcludedNodes = slices.Sorted(maps.Keys(r.nodes))
	out.ExcludedExecutors = slices.Sorted(maps.Keys(r.executors))
	return out
}

// SpeculativeTaskLaunched implements scheduler.RecoveryListener.
func (m *Metrics) SpeculativeTaskLaunched(*scheduler.Task, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.retry.Speculative++
}

// ExecutorExcluded implements scheduler.RecoveryListener.
func (m *Metrics) ExecutorExcluded(x scheduler.Exclusion) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.retry.excluded(x, false)
}

// NodeExcluded implements scheduler.RecoveryListener.
func (m *Metrics) NodeExcluded(x scheduler.Exclusion) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.retry.excluded(x, true)
}

// ExclusionLifted implements scheduler.RecoveryListener. The summary keeps the
// exclusion: it tells what happened in the run.
func (m *Metrics) ExclusionLifted(scheduler.Exclusion) {}
