package scheduler

import (
	"context"
	"errors"
	"fmt"
)

// Output commit coordination (Spark's OutputCommitCoordinator): before a task
// attempt publishes its output it asks the driver, and the driver lets exactly one
// attempt per partition of a stage commit. The right stays with that attempt while
// it runs and for good once it succeeds; an attempt that fails, is killed or loses
// its executor before succeeding releases it, so that a later attempt can commit.
// A denied attempt discards its output and ends with ErrCommitDenied, which does not
// count against MaxFailures.

// ErrCommitDenied ends a task attempt whose output commit the driver refused:
// another attempt of the partition holds the right or already committed.
var ErrCommitDenied = errors.New("output commit denied: another attempt of the partition commits")

// CommitAsked is a backend's report that a task attempt running on Executor asks
// whether it may commit its output. The Driver calls Answer exactly once, from its
// own goroutine, so Answer must not block.
type CommitAsked struct {
	TaskID   int64
	Executor string
	Answer   func(granted bool)
}

func (CommitAsked) backendEvent() {}

// CommitAsker asks the driver whether the task attempt it was made for may commit
// its output.
type CommitAsker func(ctx context.Context) (bool, error)

type commitAskerKey struct{}

// WithCommitAsker is ctx for running one task attempt, carrying how that attempt
// asks the driver for its commit: backends set it, the task's output committer
// calls AskCommit. It travels in the context because it belongs to one attempt's
// run, as the context does.
func WithCommitAsker(ctx context.Context, ask CommitAsker) context.Context {
	return context.WithValue(ctx, commitAskerKey{}, ask)
}

// AskCommit asks the driver whether the task attempt running with ctx may commit
// its output. Without a coordinator (a task run outside a backend) the answer is
// yes: the committer's no-overwrite rename still lets only one attempt win.
func AskCommit(ctx context.Context) (bool, error) {
	ask, ok := ctx.Value(commitAskerKey{}).(CommitAsker)
	if !ok {
		return true, nil
	}
	granted, err := ask(ctx)
	if err != nil {
		return false, fmt.Errorf("ask the driver to commit: %w", err)
	}
	return granted, nil
}

// commitCoordinator is the driver's record of which attempt of each partition may
// commit. It is pure and owned by the Driver's goroutine.
type commitCoordinator struct {
	holders map[commitKey]commitHolder
}

type commitKey struct{ stage, partition int }

type commitHolder struct {
	task      int64
	succeeded bool
}

// ask grants the commit of stage's partition to task when no live attempt holds it
// and none succeeded with it.
func (c *commitCoordinator) ask(stage, partition int, task int64) bool {
	if c.holders == nil {
		c.holders = map[commitKey]commitHolder{}
	}
	k := commitKey{stage, partition}
	h, held := c.holders[k]
	if !held {
		c.holders[k] = commitHolder{task: task}
		return true
	}
	return h.task == task && !h.succeeded
}

// ended takes the end of a task attempt: the holder's success keeps the right for
// good, its failure releases it.
func (c *commitCoordinator) ended(stage, partition int, task int64, succeeded bool) {
	k := commitKey{stage, partition}
	h, held := c.holders[k]
	if !held || h.task != task {
		return
	}
	if succeeded {
		c.holders[k] = commitHolder{task: task, succeeded: true}
		return
	}
	delete(c.holders, k)
}

// forget drops the records of a finished job's stages.
func (c *commitCoordinator) forget(stages []StageSpec) {
	for k := range c.holders {
		for _, s := range stages {
			if k.stage == s.ID {
				delete(c.holders, k)
				break
			}
		}
	}
}
