package scheduler

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeBackend hands the test every launch and lets it play the executors.
type fakeBackend struct {
	events   chan<- BackendEvent
	ctx      context.Context
	started  chan struct{}
	launches chan Launch
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{started: make(chan struct{}), launches: make(chan Launch, 100)}
}

func (b *fakeBackend) Start(ctx context.Context, events chan<- BackendEvent) error {
	b.ctx, b.events = ctx, events
	close(b.started)
	return nil
}

func (b *fakeBackend) Launch(executor string, t *Task) error {
	b.launches <- Launch{Executor: executor, Task: t}
	return nil
}

func (b *fakeBackend) Kill(string, int64) error   { return nil }
func (b *fakeBackend) Stop(context.Context) error { return nil }

func (b *fakeBackend) send(t *testing.T, ev BackendEvent) {
	t.Helper()
	waitFor(t, b.started, "backend start")
	select {
	case b.events <- ev:
	case <-time.After(10 * time.Second):
		t.Fatalf("driver did not take %T", ev)
	}
}

func TestDriverRequeuesTasksOfLostExecutor(t *testing.T) {
	fb := newFakeBackend()
	// MaxFailures 1: the lost attempt must not count.
	d := NewDriver(fb, Options{MaxFailures: 1}, nil)
	closeAtEnd(t, d)
	fb.send(t, ExecutorAdded{Executor: ExecutorInfo{ID: "a", Host: "ha", Slots: 1}})
	fb.send(t, ExecutorAdded{Executor: ExecutorInfo{ID: "b", Host: "hb", Slots: 1}})
	done := make(chan error, 1)
	go func() {
		done <- d.RunJob(context.Background(), &JobSpec{Name: "j", Stages: stages("1:-1:1")}, func(int, []byte) error { return nil })
	}()
	first := waitFor(t, fb.launches, "first launch")
	fb.send(t, ExecutorRemoved{ID: first.Executor, Reason: errors.New("container killed")})
	second := waitFor(t, fb.launches, "relaunch")
	if second.Executor == first.Executor || second.Task.Attempt != 1 || second.Task.Partition != 0 {
		t.Fatalf("relaunch %s attempt %d after losing %s", second.Executor, second.Task.Attempt, first.Executor)
	}
	fb.send(t, TaskStatus{TaskID: second.Task.ID, Executor: second.Executor, Result: &TaskResult{}})
	if err := waitFor(t, done, "the job"); err != nil {
		t.Fatal(err)
	}
}

func TestDriverWakesUpForLocalityWait(t *testing.T) {
	fb := newFakeBackend()
	d := NewDriver(fb, Options{LocalityWait: 20 * time.Millisecond}, nil)
	closeAtEnd(t, d)
	fb.send(t, ExecutorAdded{Executor: ExecutorInfo{ID: "a", Host: "ha", Slots: 1}})
	// The preferred host has an executor, but no free slot.
	fb.send(t, ExecutorAdded{Executor: ExecutorInfo{ID: "b", Host: "hb", Slots: 0}})
	job := &JobSpec{Name: "j", Stages: stages("1:-1:1")}
	job.Stages[0].Preferred = func(int) []string { return []string{"hb"} }
	done := make(chan error, 1)
	go func() { done <- d.RunJob(context.Background(), job, func(int, []byte) error { return nil }) }()
	// Nothing but the driver's timer can make this launch happen.
	l := waitFor(t, fb.launches, "launch after the locality wait")
	if l.Executor != "a" {
		t.Fatalf("launched on %s, want a", l.Executor)
	}
	fb.send(t, TaskStatus{TaskID: l.Task.ID, Executor: "a", Result: &TaskResult{}})
	if err := waitFor(t, done, "the job"); err != nil {
		t.Fatal(err)
	}
}

func closeAtEnd(t *testing.T, d *Driver) {
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

type brokenBackend struct{ fakeBackend }

func (*brokenBackend) Start(context.Context, chan<- BackendEvent) error {
	return errors.New("no cluster")
}

func TestDriverWithBackendThatDoesNotStart(t *testing.T) {
	d := NewDriver(&brokenBackend{}, Options{}, nil)
	err := d.RunJob(context.Background(), &JobSpec{Name: "j", Stages: stages("1:-1:1")}, nil)
	if err == nil || err.Error() != "start backend: no cluster" {
		t.Fatalf("RunJob = %v, want the start error", err)
	}
	if err := d.Close(); err == nil {
		t.Fatal("Close hid the start error")
	}
}

func TestCloseFailsRunningJobs(t *testing.T) {
	started := make(chan struct{}, 1)
	d := NewDriver(NewLocalBackend(1, runnerFunc(func(ctx context.Context, _ *Task) (*TaskResult, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	})), Options{}, nil)
	done := make(chan error, 1)
	go func() {
		done <- d.RunJob(context.Background(), &JobSpec{Name: "j", Stages: stages("1:-1:1")}, func(int, []byte) error { return nil })
	}()
	waitFor(t, started, "the task")
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := waitFor(t, done, "RunJob"); !errors.Is(err, ErrClosed) {
		t.Fatalf("RunJob = %v, want ErrClosed", err)
	}
}
