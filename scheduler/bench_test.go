package scheduler

import (
	"context"
	"testing"
)

// BenchmarkDispatchNoop measures the scheduler's own overhead: a job of 10,000
// tasks that do nothing, through the Driver and the local backend.
func BenchmarkDispatchNoop(b *testing.B) {
	const tasks = 10000
	noop := runnerFunc(func(context.Context, *Task) (*TaskResult, error) { return &TaskResult{}, nil })
	d := newLocalDriver(b, 4, Options{}, noop, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		job := &JobSpec{Name: "noop", Stages: []StageSpec{{ID: i + 1, Name: "noop", NumTasks: tasks, ShuffleID: -1}}}
		n := 0
		if err := d.RunJob(context.Background(), job, func(int, []byte) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != tasks {
			b.Fatalf("%d results, want %d", n, tasks)
		}
	}
	b.ReportMetric(float64(tasks*b.N)/b.Elapsed().Seconds(), "tasks/s")
}
