package scheduler

import (
	"context"
	"maps"
	"testing"
	"time"
)

// TestBacklogCountsOnlyPendingTasks checks the allocator's hints and the backlog's
// counts: a stage adds its tasks once it is submitted, a task stops being pending
// once it runs, and a stage whose tasks are done adds nothing.
func TestBacklogCountsOnlyPendingTasks(t *testing.T) {
	h := newHarness(t, Options{LocalityWait: time.Hour})
	h.addExecutor("a", "hA")
	job := &JobSpec{Name: "j", Stages: stages("1:0:3", "2:-1:2:1")}
	// No preferred host has an executor, so tasks launch at once, partition 0 first.
	job.Stages[0].Preferred = func(p int) []string {
		return [][]string{{"DN1.", "127.0.0.1"}, {"dn1"}, {ExecutorLocation("hB", "b")}}[p]
	}
	job.Stages[1].Preferred = func(int) []string { return []string{"dn2"} }
	id := -1
	steps := []struct {
		do               func()
		pending, running int
		hosts            map[string]int
	}{
		// The reading stage is not submitted yet; executor locations do not count.
		{func() { id = h.submit(job) }, 3, 0, map[string]int{"dn1": 2, "localhost": 1}},
		{func() { h.offer("a") }, 2, 1, map[string]int{"dn1": 1}},
		{func() { h.succeed(h.launched(1, 0)); h.offer("a") }, 1, 1, map[string]int{}},
		// The map stage is done: it adds nothing, the reading stage its tasks.
		{func() { h.succeed(h.launched(1, 1)); h.offer("a"); h.succeed(h.launched(1, 2)) }, 2, 0, map[string]int{"dn2": 2}},
		{func() { h.runAll("a") }, 0, 0, map[string]int{}},
	}
	for i, st := range steps {
		st.do()
		if got := h.ts.Backlog(); got.Pending != st.pending || got.Running != st.running || !maps.Equal(got.Hosts, st.hosts) {
			t.Fatalf("step %d: backlog %+v, want %d pending, %d running, hosts %v\n%v", i, got, st.pending, st.running, st.hosts, h.take())
		}
	}
	if err, ok := h.ended[id]; !ok || err != nil {
		t.Fatalf("job ended %v (%v)", err, ok)
	}
}

// TestDriverPublishesTheBacklog runs a job on a driver and checks the hints that
// reach Options.Backlog: the submitted stage's hosts, then nothing once it is done.
func TestDriverPublishesTheBacklog(t *testing.T) {
	fb := newFakeBackend()
	hints := make(chan map[string]int, 100)
	d := NewDriver(fb, Options{Backlog: func(b Backlog) { hints <- b.Hosts }, BacklogInterval: time.Millisecond}, nil)
	closeAtEnd(t, d)
	fb.send(t, ExecutorAdded{Executor: ExecutorInfo{ID: "a", Host: "ha", Slots: 1}})
	job := &JobSpec{Name: "j", Stages: stages("1:-1:2")}
	job.Stages[0].Preferred = func(p int) []string { return []string{[]string{"dn1", "dn2"}[p]} }
	done := make(chan error, 1)
	go func() { done <- d.RunJob(context.Background(), job, func(int, []byte) error { return nil }) }()
	// The one slot takes one task at once; the other's host is the hint.
	hosts := []string{"dn1", "dn2"}
	l := waitFor(t, fb.launches, "the first launch")
	want := map[string]int{hosts[1-l.Task.Partition]: 1}
	if got := waitFor(t, hints, "hints for the submitted stage"); !maps.Equal(got, want) {
		t.Fatalf("hints %v, want %v", got, want)
	}
	fb.send(t, TaskStatus{TaskID: l.Task.ID, Executor: "a", Result: &TaskResult{}})
	l = waitFor(t, fb.launches, "the second launch")
	fb.send(t, TaskStatus{TaskID: l.Task.ID, Executor: "a", Result: &TaskResult{}})
	if err := waitFor(t, done, "the job"); err != nil {
		t.Fatal(err)
	}
	if got := waitFor(t, hints, "hints once both tasks run"); len(got) != 0 {
		t.Fatalf("hints %v with no task pending, want none", got)
	}
}
