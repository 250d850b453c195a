package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestCommitCoordinator replays asks and task ends against the coordinator: one
// attempt per partition commits, a failed holder releases the right, a successful
// one keeps it for good, and a finished job's records go.
func TestCommitCoordinator(t *testing.T) {
	type step struct {
		op        string // ask, fail, succeed, forget
		stage     int
		partition int
		task      int64
		want      bool // ask's answer
	}
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"first asker wins, the other is denied", []step{
			{"ask", 1, 0, 10, true}, {"ask", 1, 0, 11, false}, {"ask", 1, 0, 10, true},
		}},
		{"partitions and stages are separate", []step{
			{"ask", 1, 0, 10, true}, {"ask", 1, 1, 11, true}, {"ask", 2, 0, 12, true},
		}},
		{"a failed holder releases the right", []step{
			{"ask", 1, 0, 10, true}, {"fail", 1, 0, 10, false}, {"ask", 1, 0, 11, true}, {"ask", 1, 0, 10, false},
		}},
		{"a successful holder keeps it", []step{
			{"ask", 1, 0, 10, true}, {"succeed", 1, 0, 10, false}, {"ask", 1, 0, 11, false},
		}},
		{"another attempt's end changes nothing", []step{
			{"ask", 1, 0, 10, true}, {"fail", 1, 0, 11, false}, {"ask", 1, 0, 12, false},
		}},
		{"a finished job is forgotten", []step{
			{"ask", 1, 0, 10, true}, {"succeed", 1, 0, 10, false}, {"forget", 1, 0, 0, false}, {"ask", 1, 0, 11, true},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c commitCoordinator
			for i, s := range tt.steps {
				switch s.op {
				case "ask":
					if got := c.ask(s.stage, s.partition, s.task); got != s.want {
						t.Fatalf("step %d: ask(stage %d, partition %d, task %d) = %v, want %v", i, s.stage, s.partition, s.task, got, s.want)
					}
				case "fail", "succeed":
					c.ended(s.stage, s.partition, s.task, s.op == "succeed")
				case "forget":
					c.forget([]StageSpec{{ID: s.stage}})
				}
			}
		})
	}
}

// TestCommitReleasedByAFailedHolder runs a job through the Driver and the local
// backend whose partition's first attempt is granted its commit and then fails:
// the right is released and the retry is granted.
func TestCommitReleasedByAFailedHolder(t *testing.T) {
	var mu sync.Mutex
	asked := map[int]bool{} // attempts granted
	d := newLocalDriver(t, 2, Options{MaxFailures: 2}, runnerFunc(func(ctx context.Context, task *Task) (*TaskResult, error) {
		ok, err := AskCommit(ctx)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		asked[task.Attempt] = ok
		mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("attempt %d: %w", task.Attempt, ErrCommitDenied)
		}
		if task.Attempt == 0 {
			return nil, errors.New("failed after its commit was granted")
		}
		return resultData(task), nil
	}), nil)
	res := map[int]string{}
	if err := d.RunJob(context.Background(), &JobSpec{Name: "j", Stages: stages("1:-1:1")}, collectResults(res)); err != nil {
		t.Fatalf("RunJob: %v", err)
	}
	if !asked[0] || !asked[1] {
		t.Fatalf("grants by attempt = %v, want attempt 0 granted, then (after its failure) attempt 1", asked)
	}
	if res[0] != "s1/p0" {
		t.Fatalf("results = %v", res)
	}
}

// TestRunningOnChecksTheExecutor: only the executor running an unkilled attempt may
// ask for its commit.
func TestRunningOnChecksTheExecutor(t *testing.T) {
	s := NewTaskScheduler(4, 0)
	s.AddExecutor(ExecutorInfo{ID: "e1", Host: "h1", Slots: 1})
	s.AddExecutor(ExecutorInfo{ID: "e2", Host: "h2", Slots: 1})
	s.Submit(time.Unix(0, 0), SubmitTaskSet{JobID: 1, Stage: &StageSpec{ID: 1, NumTasks: 1, ShuffleID: -1}, Tasks: []*Task{{StageID: 1, Partition: 0, ShuffleID: -1}}})
	l := s.ResourceOffers(time.Unix(0, 0), []Offer{{Executor: "e1", Free: 1}})
	if len(l) != 1 {
		t.Fatalf("launches = %v", l)
	}
	id := l[0].Task.ID
	if _, ok := s.RunningOn(id, "e1"); !ok {
		t.Fatal("the executor running the task was refused")
	}
	if _, ok := s.RunningOn(id, "e2"); ok {
		t.Fatal("another executor may ask for the task's commit")
	}
	s.CancelStage(1, true)
	if _, ok := s.RunningOn(id, "e1"); ok {
		t.Fatal("a killed attempt may ask for its commit")
	}
}

// TestCommitDeniedIsNotAFailure: with MaxFailures 1, an attempt ending with
// ErrCommitDenied neither aborts its stage nor counts, and the partition runs again.
func TestCommitDeniedIsNotAFailure(t *testing.T) {
	s := NewTaskScheduler(1, 0)
	s.AddExecutor(ExecutorInfo{ID: "e1", Host: "h1", Slots: 1})
	s.Submit(time.Unix(0, 0), SubmitTaskSet{JobID: 1, Stage: &StageSpec{ID: 1, NumTasks: 1, ShuffleID: -1}, Tasks: []*Task{{StageID: 1, Partition: 0, ShuffleID: -1}}})
	l := s.ResourceOffers(time.Unix(0, 0), []Offer{{Executor: "e1", Free: 1}})
	events := s.StatusUpdate(l[0].Task.ID, nil, fmt.Errorf("attempt 0: %w", ErrCommitDenied))
	for _, ev := range events {
		if f, ok := ev.(TaskFailed); !ok || f.CountsAsFailure {
			t.Fatalf("events after a denied commit = %#v, want one TaskFailed that does not count", events)
		}
	}
	if again := s.ResourceOffers(time.Unix(0, 0), []Offer{{Executor: "e1", Free: 1}}); len(again) != 1 || again[0].Task.Attempt != 1 {
		t.Fatalf("launches after a denied commit = %v, want the partition's next attempt", again)
	}
}
