package spindle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/spindle-engine/spindle/executor/memory"
	"github.com/spindle-engine/spindle/scheduler"
	"github.com/spindle-engine/spindle/shuffle"
)

// taskContext is one task attempt's view of its executor.
type taskContext struct {
	ctx     context.Context
	task    *scheduler.Task
	env     *execEnv
	mem     *memory.TaskMemory
	metrics scheduler.TaskMetrics
	// shuffleState is the prepared state of the shuffle a map task writes.
	shuffleState []byte
}

// TaskPanicError is a panic in user code, with the stack of the goroutine that
// panicked, so that the job's error points at the user's line.
type TaskPanicError struct {
	Value string
	Stack string
}

func (e *TaskPanicError) Error() string { return "panic: " + e.Value + "\n" + e.Stack }

// RunTask runs one task attempt; the scheduler's backends call it. It implements
// scheduler.Runner.
func (s *Session) RunTask(ctx context.Context, t *scheduler.Task) (res *scheduler.TaskResult, err error) {
	if s.remote {
		return s.runShipped(ctx, t)
	}
	plan := s.stagePlan(t.StageID)
	if plan == nil {
		return nil, fmt.Errorf("task %d: unknown stage %d", t.ID, t.StageID)
	}
	return runTask(ctx, s.env, plan, t)
}

func runTask(ctx context.Context, env *execEnv, plan *stagePlan, t *scheduler.Task) (res *scheduler.TaskResult, err error) {
	start := time.Now()
	tc := &taskContext{ctx: ctx, task: t, env: env, mem: env.mem.Task(t.ID), shuffleState: plan.outState}
	defer tc.mem.Close()
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, &TaskPanicError{Value: fmt.Sprint(r), Stack: string(debug.Stack())}
		}
	}()
	res = &scheduler.TaskResult{}
	if plan.out != nil {
		res.Sizes, err = runMapTask(tc, plan.out, t.Partition)
	} else {
		res.Data, err = plan.result(tc, t.Partition)
	}
	if err != nil {
		return nil, err
	}
	res.Metrics = tc.metrics
	res.Metrics.Duration = time.Since(start)
	return res, nil
}

// runMapTask writes one map partition of a shuffle and publishes it atomically.
func runMapTask(tc *taskContext, sd *shuffleDep, part int) (sizes []int64, err error) {
	w, err := shuffle.NewWriter(shuffle.WriterConfig{
		Dirs:          tc.env.dirs,
		ShuffleID:     sd.id,
		MapID:         part,
		Attempt:       tc.task.Attempt,
		NumPartitions: sd.nparts,
		Sort:          sd.sorted,
		Compress:      tc.env.compress,
		Memory:        tc.mem,
	})
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			_ = w.Abort()
		}
	}()
	if err := sd.write(tc, part, w); err != nil {
		return nil, err
	}
	if sizes, err = w.Commit(); err != nil {
		return nil, fmt.Errorf("commit shuffle %d map %d: %w", sd.id, part, err)
	}
	committed = true
	m := w.Metrics()
	tc.metrics.RecordsWritten += m.Records
	tc.metrics.ShuffleWriteBytes += m.Bytes
	tc.metrics.SpillBytes += m.SpillBytes
	return sizes, nil
}

// readShuffle opens reduce partition part of a shuffle: the map outputs' segments
// merged by key when the shuffle is sorted, concatenated otherwise. A map output that
// is gone becomes a fetch failure, so the scheduler recomputes it.
func (tc *taskContext) readShuffle(sd *shuffleDep, part int) (shuffle.RecordReader, error) {
	var in *scheduler.ShuffleInput
	for i := range tc.task.Inputs {
		if tc.task.Inputs[i].ShuffleID == sd.id {
			in = &tc.task.Inputs[i]
		}
	}
	if in == nil {
		return nil, fmt.Errorf("task %d has no map outputs of shuffle %d", tc.task.ID, sd.id)
	}
	var rs []shuffle.RecordReader
	closeAll := func() {
		for _, r := range rs {
			r.Close()
		}
	}
	for m, st := range in.Maps {
		if part < len(st.Sizes) && st.Sizes[part] == 0 {
			continue
		}
		rc, size, err := tc.openSegment(st, sd.id, m, part)
		if err != nil {
			closeAll()
			if errors.Is(err, shuffle.ErrMissingOutput) || tc.env.remoteOutput(st) {
				return nil, &scheduler.FetchFailedError{ShuffleID: sd.id, MapPartition: m, Executor: st.Executor, Err: err}
			}
			return nil, err
		}
		tc.metrics.ShuffleReadBytes += size
		r := shuffle.NewSegmentReader(rc, fmt.Sprintf("shuffle %d map %d reduce %d", sd.id, m, part))
		rs = append(rs, &fetchReader{RecordReader: r, env: tc.env, shuffleID: sd.id, mapID: m, executor: st.Executor})
	}
	if sd.sorted {
		return shuffle.Merge(rs), nil
	}
	return shuffle.Concat(rs), nil
}

// openSegment opens one map output's segment: from this executor's directories when
// it wrote it, else from the shuffle service of the executor that did.
func (tc *taskContext) openSegment(st scheduler.MapStatus, shuffleID, mapID, part int) (io.ReadCloser, int64, error) {
	if !tc.env.remoteOutput(st) {
		return shuffle.OpenSegment(tc.env.dirs, shuffleID, mapID, part)
	}
	rc, err := tc.env.fetcher.Open(tc.ctx, st.Addr, st.Executor, shuffleID, mapID, part)
	if err != nil {
		return nil, 0, err
	}
	var size int64
	if part < len(st.Sizes) {
		size = st.Sizes[part]
	}
	return rc, size, nil
}

// remoteOutput reports whether a map output is another executor's.
func (env *execEnv) remoteOutput(st scheduler.MapStatus) bool {
	return env.fetcher != nil && st.Executor != env.executor
}

// fetchReader turns corrupt shuffle data into a fetch failure: retrying the reduce
// task cannot mend a map output, recomputing it can. The corrupt files are removed
// first, so that the map task's new attempt is not taken for an earlier winner.
type fetchReader struct {
	shuffle.RecordReader
	env              *execEnv
	shuffleID, mapID int
	executor         string
}

func (f *fetchReader) Err() error {
	err := f.RecordReader.Err()
	if !errors.Is(err, shuffle.ErrCorrupt) {
		return err
	}
	// Another executor's corrupt output is that executor's to drop: the map task's
	// new attempt writes under a new attempt number there or elsewhere.
	if f.env.fetcher == nil || f.executor == f.env.executor {
		if rerr := shuffle.RemoveMapOutput(f.env.dirs, f.shuffleID, f.mapID); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return &scheduler.FetchFailedError{ShuffleID: f.shuffleID, MapPartition: f.mapID, Executor: f.executor, Err: err}
}
