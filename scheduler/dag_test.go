package scheduler

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestDAGRunsParentsFirst(t *testing.T) {
	tests := []struct {
		name string
		job  JobSpec
		want []string
	}{{
		name: "chain of three stages",
		job:  JobSpec{Name: "chain", Stages: stages("2:11:1:1", "1:10:2", "3:-1:2:2")},
		want: []string{
			"submit stage 1.0 [0 1]",
			"launch 1.0/p0#0 on a NO_PREF", "launch 1.0/p1#0 on b NO_PREF",
			"stage 1.0 done", "submit stage 2.0 [0]",
			"launch 2.0/p0#0 on a NO_PREF",
			"stage 2.0 done", "submit stage 3.0 [0 1]",
			"launch 3.0/p0#0 on a NO_PREF", "launch 3.0/p1#0 on b NO_PREF",
			"result 0.0", "result 0.1", "stage 3.0 done",
			"kill stage 1 []", "kill stage 2 []", "kill stage 3 []",
			"job 0 succeeded",
		},
	}, {
		name: "diamond: two parents of one stage share a grandparent",
		job:  JobSpec{Name: "diamond", Stages: stages("3:12:1:1", "2:11:2:1", "1:10:1", "4:-1:1:2,3")},
		want: []string{
			"submit stage 1.0 [0]",
			"launch 1.0/p0#0 on a NO_PREF",
			"stage 1.0 done", "submit stage 2.0 [0 1]", "submit stage 3.0 [0]",
			"launch 2.0/p0#0 on a NO_PREF", "launch 2.0/p1#0 on b NO_PREF",
			"stage 2.0 done",
			"launch 3.0/p0#0 on a NO_PREF",
			"stage 3.0 done", "submit stage 4.0 [0]",
			"launch 4.0/p0#0 on a NO_PREF",
			"result 0.0", "stage 4.0 done",
			"kill stage 1 []", "kill stage 2 []", "kill stage 3 []", "kill stage 4 []",
			"job 0 succeeded",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.addExecutor("a", "ha")
			h.addExecutor("b", "hb")
			h.submit(&tt.job)
			h.runAll("a", "b")
			wantLog(t, h.take(), tt.want)
			if err, ok := h.ended[0]; !ok || err != nil {
				t.Fatalf("job end = %v, %v; want success", err, ok)
			}
		})
	}
}

func TestDAGTasksReadEveryParentShuffle(t *testing.T) {
	h := newHarness(t, Options{})
	h.addExecutor("a", "ha")
	h.submit(&JobSpec{Name: "j", Stages: stages("1:10:2", "2:11:1", "3:-1:1:1,2")})
	checked := false
	for h.dag.Active(0) {
		ls := h.offer("a")
		if len(ls) == 0 {
			t.Fatal("job stalled")
		}
		for _, l := range ls {
			if l.Task.StageID == 3 {
				in := l.Task.Inputs
				if len(in) != 2 || in[0].ShuffleID != 10 || len(in[0].Maps) != 2 || in[1].ShuffleID != 11 {
					t.Fatalf("result task inputs = %+v", in)
				}
				if m := in[0].Maps[1]; m.Executor != "a" || m.Host != "ha" || m.Addr != "ha:7337" || len(m.Sizes) != 4 {
					t.Fatalf("map status = %+v", m)
				}
				checked = true
			}
			h.succeed(l.Task.ID)
		}
	}
	if !checked {
		t.Fatal("the result task never launched")
	}
}

func TestDAGRetriesThenFailsWithLastError(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name     string
		err      func(attempt int) error
		failures int
		wantMsg  string
	}{{
		name:     "retriable error fails after MaxFailures attempts",
		err:      func(a int) error { return errors.New("boom " + string(rune('0'+a))) },
		failures: 3,
		wantMsg:  `job "j": stage 7 (Op7 at x.go:7) partition 1 failed 3 times, last: boom 2`,
	}, {
		name:     "not retriable fails at once",
		err:      func(int) error { return errors.Join(ErrNotRetriable, errBoom) },
		failures: 1,
		wantMsg:  "job \"j\": stage 7 (Op7 at x.go:7) partition 1 failed: not retriable\nboom",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{MaxFailures: 3})
			h.addExecutor("a", "ha")
			h.submit(&JobSpec{Name: "j", Stages: stages("7:-1:2")})
			h.offer("a")
			h.succeed(h.launched(7, 0))
			for attempt := 0; attempt < tt.failures; attempt++ {
				ls := h.offer("a")
				if len(ls) != 1 || ls[0].Task.Partition != 1 || ls[0].Task.Attempt != attempt {
					t.Fatalf("attempt %d: launches %+v", attempt, ls)
				}
				h.fail(ls[0].Task.ID, tt.err(attempt))
			}
			err, ended := h.ended[0]
			if !ended || err == nil {
				t.Fatalf("job did not fail; decisions %q", h.take())
			}
			if err.Error() != tt.wantMsg {
				t.Fatalf("error %q, want %q", err, tt.wantMsg)
			}
			var tf *TaskFailedError
			if !errors.As(err, &tf) || tf.Failures != tt.failures || tf.Partition != 1 {
				t.Fatalf("error %#v is not the TaskFailedError expected", err)
			}
			if len(h.offer("a")) != 0 {
				t.Fatal("a task launched after its job failed")
			}
		})
	}
}

func TestDAGFetchFailedRecomputesLostPartitionsOnly(t *testing.T) {
	h := newHarness(t, Options{MaxFailures: 1})
	h.addExecutor("a", "ha")
	h.addExecutor("b", "hb")
	h.submit(&JobSpec{Name: "j", Stages: stages("1:10:3", "2:-1:2:1")})
	h.runAll("a", "b") // maps 0, 2 on a; map 1 on b; then both result tasks
	h.take()
	if h.dag.Active(0) {
		t.Fatal("job still running")
	}

	h.submit(&JobSpec{Name: "k", Stages: stages("3:10:3", "4:-1:2:3")})
	h.offer("a", "b")
	p0, p1 := h.launched(4, 0), h.launched(4, 1)
	h.fail(p0, &FetchFailedError{ShuffleID: 10, MapPartition: 1, Executor: "b", Err: errors.New("gone")})
	h.succeed(p1) // the superseded attempt's result still counts
	h.runAll("a", "b")
	wantLog(t, h.take(), []string{
		"submit stage 4.0 [0 1]", // stage 3 skipped: shuffle 10 is complete
		"launch 4.0/p0#0 on a NO_PREF", "launch 4.0/p1#0 on b NO_PREF",
		"stage 4.0 failed", "cancel stage 4",
		"submit stage 3.0 [1]",
		"result 1.1",
		"launch 3.0/p1#0 on a NO_PREF",
		"stage 3.0 done", "submit stage 4.1 [0]",
		"launch 4.1/p0#1 on a NO_PREF",
		"result 1.0", "stage 4.1 done",
		"kill stage 3 []", "kill stage 4 []",
		"job 1 succeeded",
	})
}

func TestDAGStageAttemptsAreBounded(t *testing.T) {
	h := newHarness(t, Options{})
	h.addExecutor("a", "ha")
	h.submit(&JobSpec{Name: "j", Stages: stages("1:10:1", "2:-1:1:1")})
	for i := 0; i < defaultMaxStageAttempts; i++ {
		for {
			ls := h.offer("a")
			if len(ls) != 1 {
				t.Fatalf("attempt %d: launches %+v", i, ls)
			}
			if id := ls[0].Task.ID; ls[0].Task.StageID == 1 {
				h.succeed(id)
			} else {
				h.fail(id, &FetchFailedError{ShuffleID: 10, MapPartition: 0, Executor: "a", Err: errors.New("gone")})
				break
			}
		}
	}
	var sa *StageAttemptsError
	if err := h.ended[0]; !errors.As(err, &sa) || sa.Attempts != defaultMaxStageAttempts {
		t.Fatalf("job error = %v, want a StageAttemptsError after %d attempts", err, defaultMaxStageAttempts)
	}
}

func TestDAGExecutorLost(t *testing.T) {
	tail := []string{
		"launch 2.0/p0#0 on b NO_PREF",
		"result 0.0", "stage 2.0 done", "kill stage 1 []", "kill stage 2 []", "job 0 succeeded",
	}
	tests := []struct {
		name     string
		external bool
		want     []string
	}{{
		name: "its map outputs are recomputed",
		want: append([]string{
			"lost a",
			"launch 1.0/p1#1 on b NO_PREF",
			"stage 1.0 done", "submit stage 1.1 [0]",
			"launch 1.1/p0#1 on b NO_PREF",
			"stage 1.1 done", "submit stage 2.0 [0]",
		}, tail...),
	}, {
		name:     "external shuffle keeps its map outputs",
		external: true,
		want: append([]string{
			"lost a",
			"launch 1.0/p1#1 on b NO_PREF",
			"stage 1.0 done", "submit stage 2.0 [0]",
		}, tail...),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// MaxFailures 1: a re-queued task must not be charged.
			h := newHarness(t, Options{MaxFailures: 1, ExternalShuffle: tt.external})
			h.addExecutor("a", "ha")
			h.addExecutor("b", "hb")
			h.submit(&JobSpec{Name: "j", Stages: stages("1:10:2", "2:-1:1:1")})
			h.offer("a")
			h.succeed(h.launched(1, 0))
			h.offer("a") // p1 runs on a when a is lost
			h.take()
			h.loseExecutor("a")
			h.runAll("b")
			wantLog(t, h.take(), tt.want)
		})
	}
}

func TestDAGReusesMapOutputsAcrossJobs(t *testing.T) {
	h := newHarness(t, Options{})
	h.addExecutor("a", "ha")
	h.addExecutor("b", "hb")
	h.submit(&JobSpec{Name: "first", Stages: stages("1:10:2", "2:-1:1:1")})
	h.runAll("a", "b")
	h.take()

	// A later job over the same shuffle gets new stage IDs; its map stage is skipped.
	h.submit(&JobSpec{Name: "second", Stages: stages("3:10:2", "4:-1:1:3")})
	h.runAll("a")
	wantLog(t, h.take(), []string{
		"submit stage 4.0 [0]",
		"launch 4.0/p0#0 on a NO_PREF",
		"result 1.0", "stage 4.0 done", "kill stage 4 []", "job 1 succeeded",
	})

	// Once an executor is lost, only the outputs it held are computed again.
	h.loseExecutor("b")
	h.submit(&JobSpec{Name: "third", Stages: stages("5:10:2", "6:-1:1:5")})
	h.runAll("a")
	wantLog(t, h.take(), []string{
		"lost b",
		"submit stage 5.0 [1]",
		"launch 5.0/p1#0 on a NO_PREF",
		"stage 5.0 done", "submit stage 6.0 [0]",
		"launch 6.0/p0#0 on a NO_PREF",
		"result 2.0", "stage 6.0 done", "kill stage 5 []", "kill stage 6 []", "job 2 succeeded",
	})
}

func TestDAGRejectsMalformedJobs(t *testing.T) {
	tests := []struct {
		name string
		job  JobSpec
	}{
		{"no stages", JobSpec{}},
		{"last stage writes a shuffle", JobSpec{Stages: stages("1:-1:1", "2:10:1:1")}},
		{"map stage without shuffle", JobSpec{Stages: stages("1:-1:1", "2:-1:1:1")}},
		{"unknown parent", JobSpec{Stages: stages("1:-1:1:9")}},
		{"parent is the result stage", JobSpec{Stages: stages("1:-1:1:1")}},
		{"cycle", JobSpec{Stages: stages("1:10:1:2", "2:11:1:1", "3:-1:1:2")}},
		{"duplicate stage ID", JobSpec{Stages: stages("1:10:1", "1:-1:1:1")}},
		{"two stages write one shuffle", JobSpec{Stages: stages("1:10:1", "2:10:1", "3:-1:1:1,2")}},
		{"result partition out of range", JobSpec{Stages: stages("1:-1:2"), Partitions: []int{2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			h.submit(&tt.job)
			wantLog(t, h.take(), []string{"job 0 failed"})
			if err := h.ended[0]; !errors.Is(err, ErrInvalidJob) {
				t.Fatalf("error %v is not ErrInvalidJob", err)
			}
		})
	}
}

// TestDAGRunsOnlyTheAskedPartitions is Take's scan: a job over some result
// partitions launches those only, after every map task its shuffle needs.
func TestDAGRunsOnlyTheAskedPartitions(t *testing.T) {
	h := newHarness(t, Options{})
	h.addExecutor("a", "ha")
	h.submit(&JobSpec{Name: "take", Stages: stages("1:10:2", "2:-1:4:1"), Partitions: []int{1, 3}})
	h.runAll("a")
	log := h.take()
	var results []string
	for _, l := range log {
		if strings.HasPrefix(l, "submit stage 2") || strings.HasPrefix(l, "result") {
			results = append(results, l)
		}
	}
	wantLog(t, results, []string{"submit stage 2.0 [1 3]", "result 0.1", "result 0.3"})
	if log[len(log)-1] != "job 0 succeeded" {
		t.Fatalf("log ends %q", log[len(log)-1])
	}
}

func TestDAGEmptyResultStageSucceedsAtOnce(t *testing.T) {
	h := newHarness(t, Options{})
	h.submit(&JobSpec{Name: "empty", Stages: stages("1:-1:0")})
	wantLog(t, h.take(), []string{"job 0 succeeded"})
}

func TestDAGCancelKillsRunningTasks(t *testing.T) {
	h := newHarness(t, Options{})
	h.addExecutor("a", "ha")
	h.submit(&JobSpec{Name: "j", Stages: stages("1:10:2", "2:-1:1:1")})
	ls := h.offer("a")
	h.take()
	h.apply(h.dag.Cancel(0, errors.New("stop")))
	wantLog(t, h.take(), []string{
		"stage 1.0 failed",
		"kill stage 1 [{a " + itoa(ls[0].Task.ID) + "}]",
		"job 0 failed",
	})
	// The killed task's end is not a failure, and nothing else runs.
	if evs := h.ts.StatusUpdate(ls[0].Task.ID, nil, errors.New("context canceled")); len(evs) != 0 {
		t.Fatalf("killed task produced events %v", evs)
	}
	if h.ts.Pending() {
		t.Fatal("task sets left after cancel")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestDAGUnreachableShuffleServiceLosesAllItsOutputs: with an external shuffle
// service, a service that does not answer loses every output it serves (not only
// the one fetched), and the executors behind it get no more tasks, so the map
// stage runs again elsewhere.
func TestDAGUnreachableShuffleServiceLosesAllItsOutputs(t *testing.T) {
	h := newHarness(t, Options{MaxFailures: 1, ExternalShuffle: true})
	h.addExecutor("a", "ha")
	h.addExecutor("b", "hb")
	h.submit(&JobSpec{Name: "j", Stages: stages("1:10:3", "2:-1:1:1")})
	h.offer("a", "b")
	h.offer("a", "b") // maps 0 and 2 on a, 1 on b
	for _, p := range []int{0, 1, 2} {
		h.succeed(h.launched(1, p))
	}
	h.offer("a")
	h.take()
	h.fail(h.launched(2, 0), &FetchFailedError{ShuffleID: 10, MapPartition: 0, Executor: "a", Addr: "ha:7337", Unreachable: true, Err: errors.New("connection refused")})
	h.runAll("a", "b")
	wantLog(t, h.take(), []string{
		"exclude service ha:7337",
		"stage 2.0 failed", "cancel stage 2",
		"submit stage 1.1 [0 2]", // both of a's outputs, not only map 0
		"launch 1.1/p0#1 on b NO_PREF",
		"launch 1.1/p2#1 on b NO_PREF",
		"stage 1.1 done", "submit stage 2.1 [0]",
		"launch 2.1/p0#1 on b NO_PREF",
		"result 0.0", "stage 2.1 done",
		"kill stage 1 []", "kill stage 2 []",
		"job 0 succeeded",
	})
}
