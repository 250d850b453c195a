package scheduler

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// The local backend's one executor, named as Spark names the driver's.
const (
	LocalExecutorID = "driver"
	LocalHost       = "localhost"
)

// LocalBackend runs tasks in this process on a fixed number of slots: one executor,
// LocalExecutorID on LocalHost.
type LocalBackend struct {
	slots  int
	runner Runner

	mu      sync.Mutex
	ctx     context.Context
	stop    context.CancelFunc
	events  chan<- BackendEvent
	running map[int64]context.CancelFunc
	stopped bool
	wg      sync.WaitGroup
}

// NewLocalBackend returns a backend running up to slots tasks of r at once.
func NewLocalBackend(slots int, r Runner) *LocalBackend {
	return &LocalBackend{slots: max(1, slots), runner: r, running: map[int64]context.CancelFunc{}}
}

// ParseLocalMaster reads a local master URL: "local" is one slot, "local[N]" N
// slots, "local[*]" one per CPU.
func ParseLocalMaster(master string) (slots int, err error) {
	if master == "local" {
		return 1, nil
	}
	inner, ok := strings.CutPrefix(master, "local[")
	if inner, ok2 := strings.CutSuffix(inner, "]"); ok && ok2 {
		if inner == "*" {
			return runtime.NumCPU(), nil
		}
		if n, err := strconv.Atoi(inner); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("master %q: want local, local[N] with N > 0, or local[*]", master)
}

// Start implements Backend: it reports the one local executor.
func (b *LocalBackend) Start(ctx context.Context, events chan<- BackendEvent) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx != nil {
		return errors.New("local backend: already started")
	}
	b.ctx, b.stop = context.WithCancel(ctx)
	b.events = events
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.send(ExecutorAdded{Executor: ExecutorInfo{ID: LocalExecutorID, Host: LocalHost, Slots: b.slots}})
	}()
	return nil
}

func (b *LocalBackend) send(ev BackendEvent) {
	select {
	case b.events <- ev:
	case <-b.ctx.Done():
	}
}

// Launch implements Backend: it runs t on a goroutine of its own.
func (b *LocalBackend) Launch(executor string, t *Task) error {
	if executor != LocalExecutorID {
		return fmt.Errorf("local backend: no executor %q", executor)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx == nil || b.stopped {
		return errors.New("local backend: not running")
	}
	ctx, cancel := context.WithCancel(b.ctx)
	ctx = WithCommitAsker(ctx, b.commitAsker(t.ID))
	b.running[t.ID] = cancel
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		res, err := b.run(ctx, t)
		b.mu.Lock()
		delete(b.running, t.ID)
		b.mu.Unlock()
		cancel()
		b.send(TaskStatus{TaskID: t.ID, Executor: LocalExecutorID, Result: res, Err: err})
	}()
	return nil
}

// commitAsker asks the Driver for task's commit through the events channel.
func (b *LocalBackend) commitAsker(task int64) CommitAsker {
	return func(ctx context.Context) (bool, error) {
		answer := make(chan bool, 1)
		ask := CommitAsked{TaskID: task, Executor: LocalExecutorID, Answer: func(ok bool) { answer <- ok }}
		select {
		case b.events <- ask:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		select {
		case ok := <-answer:
			return ok, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// run calls the Runner, turning a panic into the task's error so that one bad
// task cannot take the driver down.
func (b *LocalBackend) run(ctx context.Context, t *Task) (res *TaskResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, NewPanicError(r, debug.Stack())
		}
	}()
	res, err = b.runner.RunTask(ctx, t)
	if err == nil && res == nil {
		res = &TaskResult{}
	}
	return res, err
}

// Kill implements Backend: it cancels the task's context.
func (b *LocalBackend) Kill(executor string, taskID int64) error {
	b.mu.Lock()
	cancel := b.running[taskID]
	b.mu.Unlock()
	if cancel == nil {
		return fmt.Errorf("local backend: task %d is not running", taskID)
	}
	cancel()
	return nil
}

// Stop implements Backend: it cancels every task and waits for their goroutines,
// or for ctx to end.
func (b *LocalBackend) Stop(ctx context.Context) error {
	b.mu.Lock()
	b.stopped = true
	if b.stop != nil {
		b.stop()
	}
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("local backend: tasks still running: %w", ctx.Err())
	}
}
