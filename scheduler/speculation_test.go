package scheduler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func speculating() Options {
	return Options{MaxFailures: 1, LocalityWait: -1, Speculation: SpeculationConfig{Enabled: true},
		// A killed copy that counted as a failure would exclude its executor and,
		// with MaxFailures 1, fail the job.
		Exclusion: ExclusionConfig{Enabled: true, StageMaxFailedTasksPerExecutor: 1, AppMaxFailedTasksPerExecutor: 1}}
}

// straggle starts a stage of n tasks on executors named after the nodes given as
// "executor@node", and lets every task but the last succeed a second later.
func straggle(h *harness, n int, execs ...string) (straggler int64) {
	ids := make([]string, len(execs))
	for i, e := range execs {
		id, node, _ := strings.Cut(e, "@")
		h.addExecutorOn(id, "h", node)
		ids[i] = id
	}
	h.submit(&JobSpec{Name: "j", Stages: stages(fmt.Sprintf("1:-1:%d", n))})
	ls := h.offer(ids...)
	h.now = h.now.Add(time.Second)
	for _, l := range ls[:n-1] {
		h.succeed(l.Task.ID)
	}
	return ls[n-1].Task.ID
}

func TestSpeculationScenarios(t *testing.T) {
	tests := []struct {
		name string
		run  func(h *harness, t0 time.Time)
		want []string
	}{{
		name: "a slow task gets one copy elsewhere; the first to finish wins, the other is killed and ignored",
		run: func(h *harness, t0 time.Time) {
			slow := straggle(h, 4, "a@n1", "b@n2", "c@n3", "d@n4")
			h.take()
			// The median is 1s: a task is slow past 1.5s.
			h.now = t0.Add(1500 * time.Millisecond)
			if h.ts.CheckSpeculatable(h.now) {
				h.record("marked at 1.5s")
			}
			h.now = t0.Add(1501 * time.Millisecond)
			if h.ts.CheckSpeculatable(h.now) {
				h.record("marked at 1.501s")
			}
			h.record("backlog pending %d", h.ts.Backlog().Pending)
			h.offer("d")            // runs the straggler: no copy there
			cp := h.offer("a", "b") // one copy only
			h.succeed(cp[0].Task.ID)
			h.fail(slow, context.Canceled) // the loser's end after its kill
			if h.ts.CheckSpeculatable(h.now.Add(time.Hour)) {
				h.record("marked after the partition succeeded")
			}
		},
		want: []string{
			"marked at 1.501s",
			"backlog pending 1",
			"launch 1.0/p3#1 on a NO_PREF speculative",
			"result 0.3",
			"stage 1.0 done",
			"kill stage 1 []",
			"job 0 succeeded",
			"kill 1.0/p3#0 on d",
		},
	}, {
		name: "the original wins: the copy is killed, and its success ignored",
		run: func(h *harness, t0 time.Time) {
			slow := straggle(h, 4, "a@n1", "b@n2", "c@n3", "d@n4")
			h.now = t0.Add(2 * time.Second)
			h.ts.CheckSpeculatable(h.now)
			h.take()
			copyID := h.offer("a")[0].Task.ID
			h.succeed(slow)
			h.succeed(copyID)
		},
		want: []string{
			"launch 1.0/p3#1 on a NO_PREF speculative",
			"result 0.3",
			"stage 1.0 done",
			"kill stage 1 []",
			"job 0 succeeded",
			"kill 1.0/p3#1 on a",
		},
	}, {
		name: "a copy avoids the straggler's node while another node is alive",
		run: func(h *harness, t0 time.Time) {
			straggle(h, 3, "b@n2", "x@n3", "a1@n1")
			h.addExecutorOn("a2", "h", "n1")
			h.now = t0.Add(2 * time.Second)
			h.ts.CheckSpeculatable(h.now)
			h.take()
			h.offer("a2", "b")
		},
		want: []string{"launch 1.0/p2#1 on b NO_PREF speculative"},
	}, {
		name: "with no other node alive the copy runs on the straggler's",
		run: func(h *harness, t0 time.Time) {
			straggle(h, 3, "b@n2", "x@n3", "a1@n1")
			h.addExecutorOn("a2", "h", "n1")
			h.loseExecutor("b")
			h.loseExecutor("x")
			h.now = t0.Add(2 * time.Second)
			h.ts.CheckSpeculatable(h.now)
			h.take()
			h.offer("a1") // never on the straggler's own executor
			h.offer("a2")
		},
		want: []string{"launch 1.0/p2#1 on a2 NO_PREF speculative"},
	}, {
		name: "no copy before the quantile of tasks succeeded",
		run: func(h *harness, t0 time.Time) {
			for _, e := range []string{"a", "b", "c", "d"} {
				h.addExecutorOn(e, "h", e)
			}
			h.submit(&JobSpec{Name: "j", Stages: stages("1:-1:4")})
			ls := h.offer("a", "b", "c", "d")
			h.now = t0.Add(time.Second)
			h.succeed(ls[0].Task.ID)
			h.succeed(ls[1].Task.ID)
			h.take()
			h.now = t0.Add(time.Hour)
			if h.ts.CheckSpeculatable(h.now) {
				h.record("marked with 2 of 4 done")
			}
		},
	}, {
		name: "a task set of one task is never speculated",
		run: func(h *harness, t0 time.Time) {
			h.addExecutorOn("a", "h", "n1")
			h.addExecutorOn("b", "h", "n2")
			h.submit(&JobSpec{Name: "j", Stages: stages("1:-1:1")})
			h.offer("a")
			h.take()
			h.now = t0.Add(time.Hour)
			if h.ts.CheckSpeculatable(h.now) {
				h.record("marked")
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, speculating())
			tt.run(h, h.now)
			got := h.take()
			if !slices.Equal(got, tt.want) && (len(got) > 0 || len(tt.want) > 0) {
				wantLog(t, got, tt.want)
			}
		})
	}
}

func TestSpeculationOff(t *testing.T) {
	opts := speculating()
	opts.Speculation.Enabled = false
	h := newHarness(t, opts)
	straggle(h, 4, "a@n1", "b@n2", "c@n3", "d@n4")
	h.take()
	if h.ts.CheckSpeculatable(h.now.Add(time.Hour)) {
		t.Fatal("marked a task with speculation off")
	}
	h.offer("a")
	wantLog(t, h.take(), nil)
}

// recoveryListener records the RecoveryListener calls.
type recoveryListener struct {
	nopListener
	mu     sync.Mutex
	copies []string
	excl   []string
}

func (l *recoveryListener) SpeculativeTaskLaunched(t *Task, executor string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.copies = append(l.copies, fmt.Sprintf("%s on %s", taskName(t), executor))
}

func (l *recoveryListener) ExecutorExcluded(x Exclusion) { l.add("executor " + exclusionLine(x)) }
func (l *recoveryListener) NodeExcluded(x Exclusion)     { l.add("node " + exclusionLine(x)) }
func (l *recoveryListener) ExclusionLifted(x Exclusion)  { l.add("lifted " + exclusionLine(x)) }

func (l *recoveryListener) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.excl = append(l.excl, s)
}

// TestDriverSpeculatesAndKillsTheLoser runs the Driver's own speculation check (its
// timer) against a fake backend: the straggler gets a copy on the other executor,
// the listener hears of it, and once the copy succeeds the straggler is killed.
func TestDriverSpeculatesAndKillsTheLoser(t *testing.T) {
	fb := newFakeBackend()
	kills := make(chan int64, 10)
	kb := &killingBackend{fakeBackend: fb, kills: kills}
	l := &recoveryListener{}
	d := NewDriver(kb, Options{LocalityWait: -1, Speculation: SpeculationConfig{Enabled: true, Interval: 5 * time.Millisecond, MinTaskRuntime: time.Millisecond}},
		Tee(&recordingListener{}, l))
	closeAtEnd(t, d)
	fb.send(t, ExecutorAdded{Executor: ExecutorInfo{ID: "a", Host: "h", Node: "n1", Slots: 1}})
	fb.send(t, ExecutorAdded{Executor: ExecutorInfo{ID: "b", Host: "h", Node: "n2", Slots: 1}})
	res := map[int]string{}
	done := make(chan error, 1)
	go func() {
		done <- d.RunJob(context.Background(), &JobSpec{Name: "j", Stages: stages("1:-1:2")}, collectResults(res))
	}()
	first := waitFor(t, fb.launches, "first launch")
	second := waitFor(t, fb.launches, "second launch")
	// The first ends at once; the second straggles until the driver copies it onto
	// the free executor.
	fb.send(t, TaskStatus{TaskID: first.Task.ID, Executor: first.Executor, Result: resultData(first.Task)})
	cp := waitFor(t, fb.launches, "the speculative copy")
	if cp.Executor != first.Executor || cp.Task.Partition != second.Task.Partition || cp.Task.Attempt != 1 {
		t.Fatalf("copy %s on %s, want partition %d attempt 1 on %s", taskName(cp.Task), cp.Executor, second.Task.Partition, first.Executor)
	}
	fb.send(t, TaskStatus{TaskID: cp.Task.ID, Executor: cp.Executor, Result: resultData(cp.Task)})
	if k := waitFor(t, kills, "the straggler's kill"); k != second.Task.ID {
		t.Fatalf("killed task %d, want the straggler %d", k, second.Task.ID)
	}
	if err := waitFor(t, done, "the job"); err != nil {
		t.Fatal(err)
	}
	fb.send(t, TaskStatus{TaskID: second.Task.ID, Executor: second.Executor, Err: context.Canceled})
	l.mu.Lock()
	defer l.mu.Unlock()
	if want := []string{fmt.Sprintf("1.0/p%d#1 on %s", second.Task.Partition, first.Executor)}; !slices.Equal(l.copies, want) {
		t.Fatalf("SpeculativeTaskLaunched calls %v, want %v", l.copies, want)
	}
	if len(res) != 2 {
		t.Fatalf("results %v", res)
	}
}

// TestDriverReportsExclusions: the listener hears the stage and application
// exclusions, and the backlog carries the excluded node.
func TestDriverReportsExclusions(t *testing.T) {
	fb := newFakeBackend()
	l := &recoveryListener{}
	backlogs := make(chan Backlog, 100)
	d := NewDriver(fb, Options{LocalityWait: -1, Backlog: func(b Backlog) { backlogs <- b },
		Exclusion: ExclusionConfig{Enabled: true, StageMaxFailedTasksPerExecutor: 1, AppMaxFailedTasksPerExecutor: 1, AppMaxFailedExecutorsPerNode: 1},
		NodeOf:    func(id string) string { return map[string]string{"a": "localhost:1", "b": "localhost:2"}[id] },
	}, l)
	closeAtEnd(t, d)
	fb.send(t, ExecutorAdded{Executor: ExecutorInfo{ID: "a", Host: "localhost", Slots: 1}})
	fb.send(t, ExecutorAdded{Executor: ExecutorInfo{ID: "b", Host: "localhost", Slots: 1}})
	done := make(chan error, 1)
	go func() {
		done <- d.RunJob(context.Background(), &JobSpec{Name: "j", Stages: stages("1:-1:2")}, func(int, []byte) error { return nil })
	}()
	for finished := 0; finished < 2; {
		l := waitFor(t, fb.launches, "a launch")
		st := TaskStatus{TaskID: l.Task.ID, Executor: l.Executor, Result: &TaskResult{}}
		if l.Executor == "a" {
			st = TaskStatus{TaskID: l.Task.ID, Executor: l.Executor, Err: errBadNode}
		} else {
			finished++
		}
		fb.send(t, st)
	}
	if err := waitFor(t, done, "the job"); err != nil {
		t.Fatal(err)
	}
	for {
		b := waitFor(t, backlogs, "a backlog excluding localhost:1")
		if _, ok := b.Excluded["localhost:1"]; ok && len(b.Excluded) == 1 {
			break
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	want := []string{
		"executor exclude executor a (localhost:1) for stage 1.0: 1 failed tasks in stage 1.0",
		"executor exclude executor a (localhost:1) for application until +",
		"node exclude node localhost:1 for application until +",
	}
	if len(l.excl) != len(want) {
		t.Fatalf("exclusions heard: %q, want %q", l.excl, want)
	}
	for i, w := range want {
		if !strings.HasPrefix(l.excl[i], w) {
			t.Fatalf("exclusion %d heard: %q, want it to begin %q", i, l.excl[i], w)
		}
	}
}

type killingBackend struct {
	*fakeBackend
	kills chan int64
}

func (b *killingBackend) Kill(_ string, id int64) error {
	b.kills <- id
	return nil
}
