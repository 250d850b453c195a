package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/executor/memory"
	"github.com/spindle-engine/spindle/scheduler"
	"github.com/spindle-engine/spindle/shuffle"
)

// Env is what tasks need from the executor they run in: memory, cached blocks and
// local directories for shuffle and spill files.
type Env struct {
	Mem      *memory.Manager
	Blocks   *BlockStore
	Dirs     []string
	Compress bool
	// SortBufferSize bounds a map task's shuffle buffer
	// (spindle.shuffle.sort.bufferSize); 0 means only execution memory bounds it.
	SortBufferSize int64
	// ExecutorID is this executor's id; Fetcher reads other executors' map outputs
	// (nil in-process, where every output is local).
	ExecutorID string
	Fetcher    *shuffle.Fetcher
}

// NewEnv sizes an executor's memory from c's spindle.executor.memory; its shuffle
// and spill files go to dirs.
func NewEnv(c *conf.Conf, dirs []string) *Env {
	mm := c.Memory()
	mem := memory.NewManager(mm.Unified, mm.StorageRegion)
	return &Env{Mem: mem, Blocks: NewBlockStore(mem), Dirs: dirs, Compress: c.Bool("spindle.shuffle.compress"),
		SortBufferSize: c.Size("spindle.shuffle.sort.bufferSize")}
}

// remoteOutput reports whether a map output is another executor's.
func (env *Env) remoteOutput(st scheduler.MapStatus) bool {
	return env.Fetcher != nil && st.Executor != env.ExecutorID
}

// TaskContext is one task attempt's view of its executor.
type TaskContext struct {
	Ctx  context.Context
	Task *scheduler.Task
	// Mem is the task's share of execution memory: a combiner asks it for room and
	// spills when refused.
	Mem *memory.TaskMemory
	// Metrics are the counters the task reports with its result.
	Metrics scheduler.TaskMetrics

	env *Env
	// shuffleState is the prepared state of the shuffle a map task writes.
	shuffleState []byte
}

// AuthorizeCommit asks the driver whether this attempt may commit its output:
// only one attempt per partition may. A refusal is an error wrapping
// scheduler.ErrCommitDenied; the attempt must then discard its output.
func (tc *TaskContext) AuthorizeCommit() error {
	ok, err := scheduler.AskCommit(tc.Ctx)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("partition %d attempt %d: %w", tc.Task.Partition, tc.Task.Attempt, scheduler.ErrCommitDenied)
	}
	return nil
}

// ShuffleState is what the written shuffle's Prepare returned on the driver.
func (tc *TaskContext) ShuffleState() []byte { return tc.shuffleState }

// stagePlan is what a task of a stage runs: the stage's last node and either the
// shuffle it writes or the job's result function.
type stagePlan struct {
	spec   scheduler.StageSpec
	root   *Node
	out    *ShuffleDep
	result ResultFunc
	// action is the result stage's task side as data, for remote executors.
	action *Action
	// outState is the out shuffle's prepared state, as its map tasks see it.
	outState []byte
}

// runTask runs one task attempt of plan. A panic in user code becomes the task's
// *scheduler.PanicError, with the stack of the goroutine that panicked, so that the
// job's error points at the user's line.
func runTask(ctx context.Context, env *Env, plan *stagePlan, t *scheduler.Task) (res *scheduler.TaskResult, err error) {
	start := time.Now()
	tc := &TaskContext{Ctx: ctx, Task: t, env: env, Mem: env.Mem.Task(t.ID), shuffleState: plan.outState}
	defer tc.Mem.Close()
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, scheduler.NewPanicError(r, debug.Stack())
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
	res.Metrics = tc.Metrics
	res.Metrics.Duration = time.Since(start)
	return res, nil
}

// runMapTask writes one map partition of a shuffle and publishes it atomically.
func runMapTask(tc *TaskContext, sd *ShuffleDep, part int) (sizes []int64, err error) {
	w, err := shuffle.NewWriter(shuffle.WriterConfig{
		Dirs:          tc.env.Dirs,
		ShuffleID:     sd.ID,
		MapID:         part,
		Attempt:       tc.Task.Attempt,
		NumPartitions: sd.NumParts,
		Sort:          sd.Sorted,
		Compress:      tc.env.Compress,
		Memory:        tc.Mem,
		BufferSize:    tc.env.SortBufferSize,
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
	if err := sd.Write(tc, part, w); err != nil {
		return nil, err
	}
	if sizes, err = w.Commit(); err != nil {
		return nil, fmt.Errorf("commit shuffle %d map %d: %w", sd.ID, part, err)
	}
	committed = true
	m := w.Metrics()
	tc.Metrics.RecordsWritten += m.Records
	tc.Metrics.ShuffleWriteBytes += m.Bytes
	tc.Metrics.SpillBytes += m.SpillBytes
	return sizes, nil
}

// ReadShuffle opens reduce partition part of a shuffle: the map outputs' segments
// merged by key when the shuffle is sorted, concatenated otherwise. A map output that
// is gone becomes a fetch failure, so the scheduler recomputes it.
func (tc *TaskContext) ReadShuffle(sd *ShuffleDep, part int) (shuffle.RecordReader, error) {
	var in *scheduler.ShuffleInput
	for i := range tc.Task.Inputs {
		if tc.Task.Inputs[i].ShuffleID == sd.ID {
			in = &tc.Task.Inputs[i]
		}
	}
	if in == nil {
		return nil, fmt.Errorf("task %d has no map outputs of shuffle %d", tc.Task.ID, sd.ID)
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
		rc, size, err := tc.openSegment(st, sd.ID, m, part)
		if err != nil {
			closeAll()
			// A corrupt output (its index unreadable here) is left where it is: the
			// map task's re-run replaces it when it publishes (shuffle.Writer checks
			// an existing output whole before keeping it). Removing it here could
			// remove the re-run's output instead, published meanwhile by a faster
			// task of the same executor.
			missing, corrupt, remote := errors.Is(err, shuffle.ErrMissingOutput), errors.Is(err, shuffle.ErrCorrupt), tc.env.remoteOutput(st)
			if missing || corrupt || remote {
				return nil, &scheduler.FetchFailedError{ShuffleID: sd.ID, MapPartition: m, Executor: st.Executor, Host: st.Host,
					Addr: st.Addr, Unreachable: remote && !missing && !corrupt, Err: err}
			}
			return nil, err
		}
		tc.Metrics.ShuffleReadBytes += size
		r := shuffle.NewSegmentReader(rc, fmt.Sprintf("shuffle %d map %d reduce %d", sd.ID, m, part))
		rs = append(rs, &fetchReader{RecordReader: r, env: tc.env, shuffleID: sd.ID, mapID: m, executor: st.Executor, host: st.Host})
	}
	if sd.Sorted {
		return shuffle.Merge(rs), nil
	}
	return shuffle.Concat(rs), nil
}

// openSegment opens one map output's segment: from this executor's directories when
// it wrote it, else from the shuffle service of the executor that did.
func (tc *TaskContext) openSegment(st scheduler.MapStatus, shuffleID, mapID, part int) (io.ReadCloser, int64, error) {
	if !tc.env.remoteOutput(st) {
		return shuffle.OpenSegment(tc.env.Dirs, shuffleID, mapID, part)
	}
	rc, err := tc.env.Fetcher.Open(tc.Ctx, st.Addr, st.Executor, shuffleID, mapID, part)
	if err != nil {
		return nil, 0, err
	}
	var size int64
	if part < len(st.Sizes) {
		size = st.Sizes[part]
	}
	return rc, size, nil
}

// fetchReader turns corrupt shuffle data into a fetch failure: retrying the reduce
// task cannot mend a map output, recomputing it can. The corrupt files are removed
// first, so that the map task's new attempt is not taken for an earlier winner.
type fetchReader struct {
	shuffle.RecordReader
	env              *Env
	shuffleID, mapID int
	executor, host   string
}

func (f *fetchReader) Err() error {
	err := f.RecordReader.Err()
	if !errors.Is(err, shuffle.ErrCorrupt) {
		return err
	}
	// The corrupt output stays until the map task's re-run replaces it (see
	// ReadShuffle): removing it here could remove the re-run's output.
	return &scheduler.FetchFailedError{ShuffleID: f.shuffleID, MapPartition: f.mapID, Executor: f.executor, Host: f.host, Err: err}
}
