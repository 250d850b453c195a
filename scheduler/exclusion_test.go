package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var errBadNode = errors.New("disk full")

// on enables exclusion on failure with Spark's defaults, or the given changes.
func on(change func(*ExclusionConfig)) Options {
	c := ExclusionConfig{Enabled: true, Timeout: time.Hour, UnschedulableTimeout: time.Minute}
	if change != nil {
		change(&c)
	}
	return Options{MaxFailures: 4, Exclusion: c}
}

func TestExclusionScenarios(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		run  func(h *harness)
		want []string
	}{{
		name: "off: a failed task may run on its executor again",
		opts: Options{MaxFailures: 4},
		run: func(h *harness) {
			h.addExecutor("a", "ha")
			h.submit(&JobSpec{Name: "j", Stages: stages("1:-1:1")})
			h.fail(h.offer("a")[0].Task.ID, errBadNode)
			h.offer("a")
		},
		want: []string{
			"submit stage 1.0 [0]",
			"launch 1.0/p0#0 on a NO_PREF",
			"launch 1.0/p0#1 on a NO_PREF",
		},
	}, {
		name: "an executor that failed a task gets no more attempts of it; others do",
		opts: on(nil),
		run: func(h *harness) {
			h.addExecutor("a", "ha")
			h.addExecutor("b", "hb")
			h.submit(&JobSpec{Name: "j", Stages: stages("1:-1:2")})
			h.fail(h.offer("a")[0].Task.ID, errBadNode)
			// a is offered first but takes p1, leaving p0 for b.
			h.offer("a", "b")
		},
		want: []string{
			"submit stage 1.0 [0 1]",
			"launch 1.0/p0#0 on a NO_PREF",
			"launch 1.0/p1#0 on a NO_PREF",
			"launch 1.0/p0#1 on b NO_PREF",
		},
	}, {
		name: "a task that failed twice on a node gets no attempt on its other executors",
		opts: on(nil),
		run: func(h *harness) {
			h.addExecutorOn("a1", "localhost", "localhost:1")
			h.addExecutorOn("a2", "localhost", "localhost:1")
			h.addExecutorOn("a3", "localhost", "localhost:1")
			h.addExecutorOn("b", "localhost", "localhost:2")
			h.submit(&JobSpec{Name: "j", Stages: stages("1:-1:2")})
			h.fail(h.offer("a1")[0].Task.ID, errBadNode)
			h.fail(h.offer("a2")[0].Task.ID, errBadNode) // p0 again: the node's second failure of it
			h.fail(h.offer("a2")[0].Task.ID, errBadNode) // p1
			h.offer("a3")                                // p1 only: p0 is out on the node
			h.offer("b")                                 // p0 on the other node
		},
		want: []string{
			"submit stage 1.0 [0 1]",
			"launch 1.0/p0#0 on a1 NO_PREF",
			"launch 1.0/p0#1 on a2 NO_PREF",
			"launch 1.0/p1#0 on a2 NO_PREF",
			"exclude executor a2 (localhost:1) for stage 1.0: 2 failed tasks in stage 1.0",
			"launch 1.0/p1#1 on a3 NO_PREF",
			"launch 1.0/p0#2 on b NO_PREF",
		},
	}, {
		name: "stage exclusions: two failed tasks exclude the executor, two such executors their node",
		opts: on(nil),
		run: func(h *harness) {
			h.addExecutorOn("a1", "h", "n1")
			h.addExecutorOn("a2", "h", "n1")
			h.addExecutorOn("a3", "h", "n1")
			h.addExecutorOn("b", "h", "n2")
			h.submit(&JobSpec{Name: "j", Stages: stages("1:-1:6")})
			// A failed task goes back on top of the pending stack: a1 skips p0, which
			// it failed, for p1; a2 takes p1, then p0.
			for _, e := range []string{"a1", "a1", "a2", "a2"} {
				h.fail(h.offer(e)[0].Task.ID, errBadNode)
			}
			// n1 is out for the stage: a3 never failed, and gets nothing.
			h.offer("a3", "a1")
			h.offer("b")
		},
		want: []string{
			"submit stage 1.0 [0 1 2 3 4 5]",
			"launch 1.0/p0#0 on a1 NO_PREF",
			"launch 1.0/p1#0 on a1 NO_PREF",
			"exclude executor a1 (n1) for stage 1.0: 2 failed tasks in stage 1.0",
			"launch 1.0/p1#1 on a2 NO_PREF",
			"launch 1.0/p0#1 on a2 NO_PREF",
			"exclude executor a2 (n1) for stage 1.0: 2 failed tasks in stage 1.0",
			"exclude node n1 for stage 1.0: 2 executors excluded in stage 1.0",
			"launch 1.0/p0#2 on b NO_PREF",
		},
	}, {
		name: "failures of a successful stage exclude the executor and its node for the application, until the timeout",
		opts: on(func(c *ExclusionConfig) { c.AppMaxFailedExecutorsPerNode = 1 }),
		run: func(h *harness) {
			h.addExecutorOn("a", "h", "n1")
			h.addExecutorOn("b", "h", "n2")
			h.submit(&JobSpec{Name: "j", Stages: stages("1:1:3", "2:-1:2:1")})
			h.fail(h.offer("a")[0].Task.ID, errBadNode)
			h.fail(h.offer("a")[0].Task.ID, errBadNode)
			h.take()
			// a is out for the stage; the map stage succeeds on b, which counts a's
			// failures for the application; the result stage runs on b alone.
			h.runAll("a", "b")
			if ex := h.ts.Backlog().Excluded; len(ex) != 1 || !ex["n1"].Equal(h.now.Add(time.Hour)) {
				h.t.Errorf("Backlog().Excluded = %v, want n1 for an hour", ex)
			}
			// c never failed, but its node is out.
			h.addExecutorOn("c", "h", "n1")
			h.submit(&JobSpec{Name: "k", Stages: stages("3:-1:1")})
			h.offer("c", "a")
			h.now = h.now.Add(time.Hour)
			h.offer("c")
		},
		want: []string{
			"launch 1.0/p1#1 on b NO_PREF",
			"launch 1.0/p0#1 on b NO_PREF",
			"launch 1.0/p2#0 on b NO_PREF",
			"stage 1.0 done",
			"submit stage 2.0 [0 1]",
			"exclude executor a (n1) for application until +1h0m0s: 2 task failures in successful stages",
			"exclude node n1 for application until +1h0m0s: 1 executors excluded: a",
			"launch 2.0/p0#0 on b NO_PREF",
			"result 0.0",
			"launch 2.0/p1#0 on b NO_PREF",
			"result 0.1",
			"stage 2.0 done",
			"kill stage 1 []",
			"kill stage 2 []",
			"job 0 succeeded",
			"submit stage 3.0 [0]",
			// An hour later: the first offer lifts the exclusions, then places.
			"launch 3.0/p0#0 on c NO_PREF",
			"include executor a (n1): exclusion timed out",
			"include node n1: exclusion timed out",
		},
	}, {
		name: "failures the task did not cause exclude nothing",
		opts: on(func(c *ExclusionConfig) { c.StageMaxFailedTasksPerExecutor = 1; c.AppMaxFailedTasksPerExecutor = 1 }),
		run: func(h *harness) {
			h.addExecutor("a", "ha")
			h.submit(&JobSpec{Name: "j", Stages: stages("1:-1:2")})
			h.fail(h.offer("a")[0].Task.ID, fmt.Errorf("container preempted: %w", ErrExecutorLost))
			h.fail(h.offer("a")[0].Task.ID, fmt.Errorf("attempt 1: %w", ErrCommitDenied))
			h.runAll("a")
		},
		want: []string{
			"submit stage 1.0 [0 1]",
			"launch 1.0/p0#0 on a NO_PREF",
			"launch 1.0/p0#1 on a NO_PREF",
			"launch 1.0/p0#2 on a NO_PREF",
			"result 0.0",
			"launch 1.0/p1#0 on a NO_PREF",
			"result 0.1",
			"stage 1.0 done",
			"kill stage 1 []",
			"job 0 succeeded",
		},
	}, {
		name: "a failed stage's failures do not count for the application",
		opts: on(func(c *ExclusionConfig) { c.AppMaxFailedTasksPerExecutor = 1 }),
		run: func(h *harness) {
			h.addExecutor("a", "ha")
			h.submit(&JobSpec{Name: "j", Stages: stages("1:-1:1")})
			h.fail(h.offer("a")[0].Task.ID, NotRetriable(errBadNode))
			h.submit(&JobSpec{Name: "k", Stages: stages("2:-1:1")})
			h.offer("a")
		},
		want: []string{
			"submit stage 1.0 [0]",
			"launch 1.0/p0#0 on a NO_PREF",
			"stage 1.0 failed",
			"kill stage 1 []",
			"job 0 failed",
			"submit stage 2.0 [0]",
			"launch 2.0/p0#0 on a NO_PREF",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.opts)
			tt.run(h)
			wantLog(t, h.take(), tt.want)
		})
	}
}

// TestExcludedEverywhereAbortsAfterTheGracePeriod: a task that no live executor may
// run waits UnschedulableTimeout for a new executor; one that comes in time runs it,
// and without one the job fails naming the partition and who excluded it.
func TestExcludedEverywhereAbortsAfterTheGracePeriod(t *testing.T) {
	for _, rescued := range []bool{true, false} {
		t.Run(fmt.Sprintf("new executor %v", rescued), func(t *testing.T) {
			opts := on(nil)
			opts.LocalityWait = -1 // the only deadline is the grace period's
			h := newHarness(t, opts)
			h.addExecutorOn("a", "h", "n1")
			h.submit(&JobSpec{Name: "j", Stages: stages("1:-1:1")})
			t0 := h.now
			h.fail(h.offer("a")[0].Task.ID, errBadNode)
			h.offer("a")
			if at, ok := h.ts.NextWake(); !ok || !at.Equal(t0.Add(time.Minute)) {
				t.Fatalf("NextWake = %v, %v; want the end of the grace period %v", at, ok, t0.Add(time.Minute))
			}
			h.now = t0.Add(time.Minute - time.Millisecond)
			h.offer("a")
			h.take()
			if rescued {
				h.addExecutorOn("b", "h", "n2")
				h.now = t0.Add(time.Minute)
				h.offer("a", "b")
				wantLog(t, h.take(), []string{"launch 1.0/p0#1 on b NO_PREF"})
				return
			}
			h.now = t0.Add(time.Minute)
			h.offer("a")
			wantLog(t, h.take(), []string{"stage 1.0 failed", "kill stage 1 []", "job 0 failed"})
			var ee *ExcludedEverywhereError
			err := h.ended[0]
			if !errors.As(err, &ee) || ee.Partition != 0 || strings.Join(ee.Executors, ",") != "a" || !errors.Is(err, errBadNode) {
				t.Fatalf("job error %v: want an ExcludedEverywhereError for partition 0 on executor a, wrapping the failure", err)
			}
			for _, want := range []string{"partition 0 cannot run anywhere", "executors a", "spindle.excludeOnFailure", "disk full"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}
