package scheduler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type runnerFunc func(ctx context.Context, t *Task) (*TaskResult, error)

func (f runnerFunc) RunTask(ctx context.Context, t *Task) (*TaskResult, error) { return f(ctx, t) }

// waitFor receives from ch, failing the test if nothing arrives in time: a
// deadline against a hang, not a timing assertion.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

func newLocalDriver(t testing.TB, slots int, opts Options, r Runner, l Listener) *Driver {
	d := NewDriver(NewLocalBackend(slots, r), opts, l)
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

func collectResults(res map[int]string) func(int, []byte) error {
	return func(p int, data []byte) error {
		if _, dup := res[p]; dup {
			return fmt.Errorf("partition %d delivered twice", p)
		}
		res[p] = string(data)
		return nil
	}
}

func resultData(t *Task) *TaskResult {
	return &TaskResult{Data: []byte(fmt.Sprintf("s%d/p%d", t.StageID, t.Partition))}
}

func TestLocalSlotsRunConcurrently(t *testing.T) {
	const slots, tasks = 3, 7
	var running, peak atomic.Int32
	started := make(chan struct{}, tasks)
	release := make(chan struct{})
	d := newLocalDriver(t, slots, Options{}, runnerFunc(func(ctx context.Context, task *Task) (*TaskResult, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return resultData(task), nil
	}), nil)
	res := map[int]string{}
	done := make(chan error, 1)
	go func() {
		done <- d.RunJob(context.Background(), &JobSpec{Name: "j", Stages: stages("1:-1:7")}, collectResults(res))
	}()
	// A barrier: all slots' tasks are running at once before any may finish.
	for i := range slots {
		waitFor(t, started, fmt.Sprintf("task %d of %d to start", i+1, slots))
	}
	close(release)
	if err := waitFor(t, done, "the job"); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p != slots {
		t.Fatalf("%d tasks ran at once on %d slots", p, slots)
	}
	if len(res) != tasks || res[6] != "s1/p6" {
		t.Fatalf("results = %v", res)
	}
}

func TestLocalPanicFailsTheTaskWithItsStack(t *testing.T) {
	d := newLocalDriver(t, 2, Options{MaxFailures: 2}, runnerFunc(func(_ context.Context, task *Task) (*TaskResult, error) {
		if task.Partition == 1 {
			panic("kaboom")
		}
		return resultData(task), nil
	}), nil)
	err := d.RunJob(context.Background(), &JobSpec{Name: "j", Stages: stages("1:-1:2")}, func(int, []byte) error { return nil })
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "kaboom" {
		t.Fatalf("error %v does not carry the panic", err)
	}
	msg := err.Error()
	for _, want := range []string{`job "j": stage 1 (Op1 at x.go:1) partition 1 failed 2 times, last: panic: kaboom`, "goroutine ", "driver_test.go"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("error message lacks %q:\n%s", want, msg)
		}
	}
}

func TestDriverRetries(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name      string
		failFirst int // attempts of partition 1 that fail
		wantErr   string
		wantRuns  int32
	}{
		{"succeeds on the last allowed attempt", 2, "", 3},
		{"fails after MaxFailures attempts", 5, `job "j": stage 1 (Op1 at x.go:1) partition 1 failed 3 times, last: attempt 2: boom`, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs atomic.Int32
			l := &recordingListener{}
			d := newLocalDriver(t, 2, Options{MaxFailures: 3}, runnerFunc(func(_ context.Context, task *Task) (*TaskResult, error) {
				if task.Partition == 1 {
					runs.Add(1)
					if task.Attempt < tt.failFirst {
						return nil, fmt.Errorf("attempt %d: %w", task.Attempt, errBoom)
					}
				}
				return resultData(task), nil
			}), l)
			res := map[int]string{}
			err := d.RunJob(context.Background(), &JobSpec{Name: "j", Stages: stages("1:-1:2")}, collectResults(res))
			if tt.wantErr == "" {
				if err != nil || len(res) != 2 {
					t.Fatalf("RunJob = %v, results %v", err, res)
				}
			} else if err == nil || err.Error() != tt.wantErr || !errors.Is(err, errBoom) {
				t.Fatalf("RunJob error %q, want %q wrapping errBoom", err, tt.wantErr)
			}
			if n := runs.Load(); n != tt.wantRuns {
				t.Fatalf("partition 1 ran %d times, want %d", n, tt.wantRuns)
			}
			// Partition 0 may still be running, to be killed, when a failed job ends.
			if got := l.count("TaskEnded"); got < int(tt.wantRuns) || (tt.wantErr == "" && got != int(tt.wantRuns)+1) {
				t.Fatalf("listener saw %d task ends for %d runs of partition 1", got, tt.wantRuns)
			}
			if l.count("JobStarted") != 1 || l.count("JobEnded") != 1 || l.count("StageSubmitted") != 1 || l.count("StageCompleted") != 1 {
				t.Fatalf("listener calls %v", l.snapshot())
			}
		})
	}
}

func TestDriverCancelKillsTasks(t *testing.T) {
	started := make(chan struct{}, 2)
	killed := make(chan struct{}, 2)
	d := newLocalDriver(t, 2, Options{}, runnerFunc(func(ctx context.Context, task *Task) (*TaskResult, error) {
		if task.JobID > 0 {
			return resultData(task), nil
		}
		started <- struct{}{}
		<-ctx.Done()
		killed <- struct{}{}
		return nil, ctx.Err()
	}), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- d.RunJob(ctx, &JobSpec{Name: "j", Stages: stages("1:-1:4")}, func(int, []byte) error { return nil })
	}()
	waitFor(t, started, "first task")
	waitFor(t, started, "second task")
	cancel()
	if err := waitFor(t, done, "RunJob to return"); err != context.Canceled {
		t.Fatalf("RunJob = %v, want context.Canceled", err)
	}
	waitFor(t, killed, "first task's kill")
	waitFor(t, killed, "second task's kill")

	// The driver still serves jobs after a cancelled one.
	res := map[int]string{}
	if err := d.RunJob(context.Background(), &JobSpec{Name: "k", Stages: stages("2:-1:1")}, collectResults(res)); err != nil {
		t.Fatal(err)
	}
}

func TestDriverShuffleOutputsPersistAcrossJobs(t *testing.T) {
	var mapRuns [2]atomic.Int32
	var fetchFailed atomic.Bool
	d := newLocalDriver(t, 2, Options{}, runnerFunc(func(_ context.Context, task *Task) (*TaskResult, error) {
		if task.ShuffleID >= 0 {
			mapRuns[task.Partition].Add(1)
			return &TaskResult{Sizes: []int64{int64(task.Partition), 1, 1}}, nil
		}
		if len(task.Inputs) != 1 || len(task.Inputs[0].Maps) != 2 || task.Inputs[0].Maps[1].Executor != LocalExecutorID {
			return nil, fmt.Errorf("inputs %+v: %w", task.Inputs, ErrNotRetriable)
		}
		// The second job's first result task finds map output 1 gone, once.
		if task.JobID == 1 && task.Partition == 0 && fetchFailed.CompareAndSwap(false, true) {
			return nil, &FetchFailedError{ShuffleID: 10, MapPartition: 1, Executor: LocalExecutorID, Err: errors.New("no file")}
		}
		return resultData(task), nil
	}), nil)
	for i, job := range []*JobSpec{
		{Name: "first", Stages: stages("1:10:2", "2:-1:3:1")},
		{Name: "second", Stages: stages("3:10:2", "4:-1:3:3")},
	} {
		res := map[int]string{}
		if err := d.RunJob(context.Background(), job, collectResults(res)); err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
		if len(res) != 3 {
			t.Fatalf("job %d results %v", i, res)
		}
	}
	if a, b := mapRuns[0].Load(), mapRuns[1].Load(); a != 1 || b != 2 {
		t.Fatalf("map partitions ran %d and %d times, want 1 and 2 (only the lost one again)", a, b)
	}
}

func TestDriverResultHandlerErrorFailsJob(t *testing.T) {
	errFull := errors.New("disk full")
	d := newLocalDriver(t, 1, Options{}, runnerFunc(func(_ context.Context, task *Task) (*TaskResult, error) { return resultData(task), nil }), nil)
	calls := 0
	err := d.RunJob(context.Background(), &JobSpec{Name: "j", Stages: stages("1:-1:3")}, func(int, []byte) error {
		calls++
		return errFull
	})
	if !errors.Is(err, errFull) || calls != 1 {
		t.Fatalf("RunJob = %v after %d calls; want errFull after 1", err, calls)
	}
}

func TestRunJobAfterClose(t *testing.T) {
	d := NewDriver(NewLocalBackend(1, runnerFunc(func(context.Context, *Task) (*TaskResult, error) { return nil, nil })), Options{}, nil)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.RunJob(context.Background(), &JobSpec{Stages: stages("1:-1:1")}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("RunJob after Close = %v, want ErrClosed", err)
	}
}

func TestParseLocalMaster(t *testing.T) {
	tests := []struct {
		master string
		want   int
		ok     bool
	}{
		{"local", 1, true},
		{"local[4]", 4, true},
		{"local[*]", -1, true},
		{"local[0]", 0, false},
		{"local[x]", 0, false},
		{"local[4", 0, false},
		{"yarn", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseLocalMaster(tt.master)
		switch {
		case !tt.ok:
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.master)) {
				t.Errorf("ParseLocalMaster(%q) = %d, %v; want an error naming it", tt.master, got, err)
			}
		case err != nil || (tt.want > 0 && got != tt.want) || got < 1:
			t.Errorf("ParseLocalMaster(%q) = %d, %v; want %d", tt.master, got, err, tt.want)
		}
	}
}

// recordingListener counts the listener calls it gets.
type recordingListener struct {
	mu    sync.Mutex
	calls map[string]int
}

func (l *recordingListener) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls == nil {
		l.calls = map[string]int{}
	}
	l.calls[name]++
}

func (l *recordingListener) snapshot() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.calls)
}

func (l *recordingListener) count(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[name]
}

func (l *recordingListener) JobStarted(*JobSpec)                         { l.add("JobStarted") }
func (l *recordingListener) StageSubmitted(*StageSpec, int, int)         { l.add("StageSubmitted") }
func (l *recordingListener) TaskStarted(*Task, string)                   { l.add("TaskStarted") }
func (l *recordingListener) TaskEnded(*Task, string, *TaskResult, error) { l.add("TaskEnded") }
func (l *recordingListener) StageCompleted(*StageSpec, int, error)       { l.add("StageCompleted") }
func (l *recordingListener) JobEnded(*JobSpec, error)                    { l.add("JobEnded") }
