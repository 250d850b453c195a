package scheduler

import (
	"errors"
	"testing"
	"time"
)

func TestDelayScheduling(t *testing.T) {
	type step struct {
		at     time.Duration // since the task set was submitted
		offers []string
		want   string // "executor LEVEL", or "" for no launch
	}
	tests := []struct {
		name  string
		prefs []string
		steps []step
	}{{
		name:  "offers from both hosts: the preferred one wins",
		prefs: []string{"hB"},
		steps: []step{{0, []string{"a", "b"}, "b NODE_LOCAL"}},
	}, {
		name:  "only the other host: taken after LocalityWait",
		prefs: []string{"hB"},
		steps: []step{
			{0, []string{"a"}, ""},
			{3*time.Second - time.Millisecond, []string{"a"}, ""},
			{3 * time.Second, []string{"a"}, "a ANY"},
		},
	}, {
		name:  "the preferred host frees up within the wait",
		prefs: []string{"hB"},
		steps: []step{
			{time.Second, []string{"a"}, ""},
			{2 * time.Second, []string{"a", "b"}, "b NODE_LOCAL"},
		},
	}, {
		name:  "preferred executor, then its host, then anywhere",
		prefs: []string{ExecutorLocation("hB", "b")},
		steps: []step{
			{0, []string{"a", "c"}, ""},
			{3 * time.Second, []string{"a"}, ""},
			{3 * time.Second, []string{"c"}, "c NODE_LOCAL"},
		},
	}, {
		name:  "preferred executor is offered",
		prefs: []string{ExecutorLocation("hB", "b")},
		steps: []step{{0, []string{"a", "c", "b"}, "b PROCESS_LOCAL"}},
	}, {
		name:  "no executor on the preferred host: no wait",
		prefs: []string{"hZ"},
		steps: []step{{0, []string{"a"}, "a ANY"}},
	}, {
		name:  "no preference: no wait",
		steps: []step{{0, []string{"a"}, "a NO_PREF"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{LocalityWait: 3 * time.Second})
			h.addExecutor("a", "hA")
			h.addExecutor("b", "hB")
			h.addExecutor("c", "hB")
			job := &JobSpec{Name: "j", Stages: stages("1:-1:1")}
			job.Stages[0].Preferred = func(int) []string { return tt.prefs }
			t0 := h.now
			h.submit(job)
			for i, s := range tt.steps {
				h.now = t0.Add(s.at)
				got := ""
				if ls := h.offer(s.offers...); len(ls) > 0 {
					got = ls[0].Executor + " " + ls[0].Locality.String()
					if ls[0].Task.Locality != ls[0].Locality {
						t.Fatalf("step %d: the task says %s, its launch %s", i, ls[0].Task.Locality, ls[0].Locality)
					}
				}
				if got != s.want {
					t.Fatalf("step %d at %v offering %v: launched %q, want %q", i, s.at, s.offers, got, s.want)
				}
			}
		})
	}
}

func TestNextWakeIsTheLocalityDeadline(t *testing.T) {
	h := newHarness(t, Options{LocalityWait: 3 * time.Second})
	h.addExecutor("a", "hA")
	h.addExecutor("b", "hB")
	job := &JobSpec{Name: "j", Stages: stages("1:-1:2")}
	job.Stages[0].Preferred = func(int) []string { return []string{"hB"} }
	t0 := h.now
	h.submit(job)
	if at, ok := h.ts.NextWake(); !ok || !at.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("NextWake = %v, %v; want %v", at, ok, t0.Add(3*time.Second))
	}
	h.now = t0.Add(time.Second)
	h.offer("b") // a launch at NODE_LOCAL restarts the wait
	if at, ok := h.ts.NextWake(); !ok || !at.Equal(h.now.Add(3*time.Second)) {
		t.Fatalf("NextWake after a local launch = %v, %v; want %v", at, ok, h.now.Add(3*time.Second))
	}
	h.now = t0.Add(4 * time.Second)
	h.offer("a")
	if at, ok := h.ts.NextWake(); ok {
		t.Fatalf("NextWake = %v with nothing left to wait for", at)
	}
}

func TestTaskSetsRunInJobOrder(t *testing.T) {
	h := newHarness(t, Options{})
	h.addExecutor("a", "ha")
	h.submit(&JobSpec{Name: "first", Stages: stages("5:-1:2")})
	h.submit(&JobSpec{Name: "second", Stages: stages("1:-1:1")})
	h.take()
	for _, want := range []string{"launch 5.0/p0#0 on a NO_PREF", "launch 5.0/p1#0 on a NO_PREF", "launch 1.0/p0#0 on a NO_PREF"} {
		ls := h.offer("a")
		wantLog(t, h.take(), []string{want})
		h.succeed(ls[0].Task.ID)
		h.take()
	}
}

func TestFailuresCountPerPartition(t *testing.T) {
	errBoom := errors.New("boom")
	h := newHarness(t, Options{MaxFailures: 2})
	h.addExecutor("a", "ha")
	h.addExecutor("b", "hb")
	h.submit(&JobSpec{Name: "j", Stages: stages("1:-1:2")})
	// Each partition fails once: no partition reaches MaxFailures.
	for _, l := range h.offer("a", "b") {
		h.fail(l.Task.ID, errBoom)
	}
	// Losing an executor re-queues its task without charging it.
	h.offer("a", "b")
	h.loseExecutor("b")
	h.take()
	ls := h.offer("a")
	wantLog(t, h.take(), []string{"launch 1.0/p0#2 on a NO_PREF"})
	h.succeed(ls[0].Task.ID)
	h.succeed(h.launched(1, 1))
	if err, ok := h.ended[0]; !ok || err != nil {
		t.Fatalf("job end = %v, %v; want success", err, ok)
	}
}

func TestLateStatusOfLostTaskIsIgnored(t *testing.T) {
	h := newHarness(t, Options{})
	h.addExecutor("a", "ha")
	h.submit(&JobSpec{Name: "j", Stages: stages("1:-1:1")})
	ls := h.offer("a")
	h.loseExecutor("a")
	if evs := h.ts.StatusUpdate(ls[0].Task.ID, &TaskResult{}, nil); evs != nil {
		t.Fatalf("status of a task on a lost executor gave %v", evs)
	}
}

func TestCanonicalHost(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"127.0.0.1", "localhost"},
		{"::1", "localhost"},
		{"LocalHost", "localhost"},
		{"nm1.example.com.", "nm1.example.com"},
		{"Node7", "node7"},
		{"10.0.0.7", "10.0.0.7"},
	} {
		if got := CanonicalHost(tt.in); got != tt.want {
			t.Errorf("CanonicalHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
