package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/scheduler"
)

// Jobs are the registered jobs of this binary, as an executor needs them: rebuild
// runs job's builder on g with its encoded argument. An unknown job is an error
// wrapping ErrPlanMismatch.
type Jobs interface {
	Rebuild(g *Graph, job string, arg []byte) error
}

// ExecutorConfig configures an Executor.
type ExecutorConfig struct {
	Conf *conf.Conf
	Log  zerolog.Logger
	FS   Filesystems
	Env  *Env
	Jobs Jobs
}

// Executor runs tasks from their payloads alone, as a remote executor does: it
// rebuilds each task's build (once per build) by running the registered builder,
// finds the stage's node and makes the action's task side from its spec. It
// implements scheduler.Runner.
type Executor struct {
	cfg ExecutorConfig
	g   *Graph

	mu     sync.Mutex
	builds map[int]*Build // rebuilt so far, by id
}

// NewExecutor returns an executor running tasks in env.
func NewExecutor(cfg ExecutorConfig) *Executor {
	return &Executor{cfg: cfg, g: newGraph(context.Background(), cfg.Conf, cfg.FS, 0, cfg.Log), builds: map[int]*Build{}}
}

// RunTask runs one task attempt from its payload.
func (e *Executor) RunTask(ctx context.Context, t *scheduler.Task) (*scheduler.TaskResult, error) {
	var ref stageRef
	if err := json.Unmarshal(t.Payload, &ref); err != nil {
		return nil, scheduler.NotRetriable(fmt.Errorf("task %d: stage %d: unreadable plan reference: %w", t.ID, t.StageID, err))
	}
	if ref.Build == nil {
		return nil, scheduler.NotRetriable(fmt.Errorf("task %d: stage %d: the plan reference names no build", t.ID, t.StageID))
	}
	b, err := e.rebuilt(ctx, ref.Build)
	if err != nil {
		return nil, scheduler.NotRetriable(fmt.Errorf("task %d: %w", t.ID, err))
	}
	root := b.nodes[ref.Node]
	if root == nil {
		return nil, scheduler.NotRetriable(fmt.Errorf("task %d: %w: job %q has no node %d", t.ID, ErrPlanMismatch, b.ref.Job, ref.Node))
	}
	plan := &stagePlan{root: root, outState: ref.ShuffleState}
	switch {
	case ref.Shuffle != 0:
		if plan.out = b.shuffles[ref.Shuffle]; plan.out == nil {
			return nil, scheduler.NotRetriable(fmt.Errorf("task %d: %w: job %q has no shuffle %d", t.ID, ErrPlanMismatch, b.ref.Job, ref.Shuffle))
		}
	case ref.Action != nil && root.Result != nil:
		if plan.result, err = root.Result(ref.Action); err != nil {
			return nil, scheduler.NotRetriable(fmt.Errorf("task %d: %s: %w", t.ID, root.Op, err))
		}
	default:
		return nil, scheduler.NotRetriable(fmt.Errorf("task %d: stage %d has neither an output shuffle nor an action", t.ID, t.StageID))
	}
	start := time.Now()
	res, err := runTask(ctx, e.cfg.Env, plan, t)
	ev := e.cfg.Log.Info()
	if err != nil {
		ev = e.cfg.Log.Warn().Err(err)
	}
	ev.Time("started", start).Dur("took", time.Since(start)).Int64("task", t.ID).Int("stage", t.StageID).Int("partition", t.Partition).Int("attempt", t.Attempt).
		Str("locality", t.Locality.String()).Msg("task finished")
	return res, err
}

// rebuilt returns the build ref describes, running its job's builder the first time.
func (e *Executor) rebuilt(ctx context.Context, ref *buildRef) (*Build, error) {
	e.mu.Lock()
	b := e.builds[ref.ID]
	e.mu.Unlock()
	if b != nil {
		return b, nil
	}
	if bin := binaryID(); ref.Binary != bin {
		return nil, fmt.Errorf("%w: the driver runs binary %s, this executor %s", ErrPlanMismatch, ref.Binary, bin)
	}
	g := e.g
	g.buildMu.Lock()
	defer g.buildMu.Unlock()
	e.mu.Lock()
	b = e.builds[ref.ID] // another task may have rebuilt it meanwhile
	e.mu.Unlock()
	if b != nil {
		return b, nil
	}
	b = &Build{
		ref: buildRef{ID: ref.ID, Job: ref.Job, Arg: ref.Arg, NodeBase: ref.NodeBase,
			ShuffleBase: ref.ShuffleBase, Slots: ref.Slots, Binary: ref.Binary},
		ctx: ctx, nodes: map[int]*Node{}, shuffles: map[int]*ShuffleDep{},
		replay: ref.Facts,
	}
	if b.replay == nil {
		b.replay = [][]byte{}
	}
	g.mu.Lock()
	g.nextNode, g.nextShuffle, g.slots = ref.NodeBase, ref.ShuffleBase, ref.Slots
	g.building = b
	g.mu.Unlock()
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("builder panicked: %v", r)
			}
		}()
		return e.cfg.Jobs.Rebuild(g, ref.Job, ref.Arg)
	}()
	g.mu.Lock()
	g.building = nil
	g.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("rebuild job %q: %w", ref.Job, err)
	}
	if fp := b.fingerprint(); fp != ref.Fingerprint {
		return nil, fmt.Errorf("%w: job %q built a different plan here than on the driver (fingerprint %x, driver %x): a builder must depend on its argument only", ErrPlanMismatch, ref.Job, fp, ref.Fingerprint)
	}
	e.mu.Lock()
	e.builds[ref.ID] = b
	e.mu.Unlock()
	return b, nil
}
