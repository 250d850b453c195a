package spindle

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spindle-engine/spindle/scheduler"
)

// runShipped runs a task from its payload alone, as a remote executor does: it
// rebuilds the task's build (once per build), finds the stage's node and makes the
// action's task side from its spec.
func (s *Session) runShipped(ctx context.Context, t *scheduler.Task) (*scheduler.TaskResult, error) {
	var ref stageRef
	if err := json.Unmarshal(t.Payload, &ref); err != nil || ref.Build == nil {
		return nil, notRetriable(fmt.Errorf("task %d: stage %d: unreadable plan reference: %v", t.ID, t.StageID, err))
	}
	b, err := s.rebuilt(ref.Build)
	if err != nil {
		return nil, notRetriable(fmt.Errorf("task %d: %w", t.ID, err))
	}
	root := b.nodes[ref.Node]
	if root == nil {
		return nil, notRetriable(fmt.Errorf("task %d: %w: job %q has no node %d", t.ID, ErrPlanMismatch, b.ref.Job, ref.Node))
	}
	plan := &stagePlan{root: root, outState: ref.ShuffleState}
	switch {
	case ref.Shuffle != 0:
		if plan.out = b.shuffles[ref.Shuffle]; plan.out == nil {
			return nil, notRetriable(fmt.Errorf("task %d: %w: job %q has no shuffle %d", t.ID, ErrPlanMismatch, b.ref.Job, ref.Shuffle))
		}
	case ref.Action != nil && root.ds != nil:
		if plan.result, err = root.ds.resultFor(ref.Action); err != nil {
			return nil, notRetriable(fmt.Errorf("task %d: %s: %w", t.ID, root.op, err))
		}
	default:
		return nil, notRetriable(fmt.Errorf("task %d: stage %d has neither an output shuffle nor an action", t.ID, t.StageID))
	}
	start := time.Now()
	res, err := runTask(ctx, s.env, plan, t)
	ev := s.log.Info()
	if err != nil {
		ev = s.log.Warn().Err(err)
	}
	ev.Time("started", start).Dur("took", time.Since(start)).Int64("task", t.ID).Int("stage", t.StageID).Int("partition", t.Partition).Int("attempt", t.Attempt).
		Str("locality", t.Locality.String()).Msg("task finished")
	return res, err
}

// rebuilt returns the build ref describes, running its job's builder the first time.
func (s *Session) rebuilt(ref *buildRef) (*build, error) {
	s.mu.Lock()
	b := s.builds[ref.ID]
	s.mu.Unlock()
	if b != nil {
		return b, nil
	}
	if bin := binaryID(); ref.Binary != bin {
		return nil, fmt.Errorf("%w: the driver runs binary %s, this executor %s", ErrPlanMismatch, ref.Binary, bin)
	}
	job, ok := lookupJob(ref.Job)
	if !ok {
		return nil, fmt.Errorf("%w: no job %q is registered in this binary", ErrPlanMismatch, ref.Job)
	}
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	s.mu.Lock()
	if b := s.builds[ref.ID]; b != nil { // another task rebuilt it meanwhile
		s.mu.Unlock()
		return b, nil
	}
	b = &build{
		ref: buildRef{ID: ref.ID, Job: ref.Job, Arg: ref.Arg, NodeBase: ref.NodeBase,
			ShuffleBase: ref.ShuffleBase, Slots: ref.Slots, Binary: ref.Binary},
		nodes: map[int]*node{}, shuffles: map[int]*shuffleDep{},
		replay: ref.Facts,
	}
	if b.replay == nil {
		b.replay = [][]byte{}
	}
	s.nextNode, s.nextShuffle, s.nslots = ref.NodeBase, ref.ShuffleBase, ref.Slots
	s.building = b
	s.mu.Unlock()
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("builder panicked: %v", r)
			}
		}()
		return job.rebuild(s, ref.Arg)
	}()
	s.mu.Lock()
	s.building = nil
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("rebuild job %q: %w", ref.Job, err)
	}
	if fp := b.fingerprint(); fp != ref.Fingerprint {
		return nil, fmt.Errorf("%w: job %q built a different plan here than on the driver (fingerprint %x, driver %x): a builder must depend on its argument only", ErrPlanMismatch, ref.Job, fp, ref.Fingerprint)
	}
	s.mu.Lock()
	s.builds[ref.ID] = b
	s.mu.Unlock()
	return b, nil
}

// notRetriable marks an error that running the task again cannot fix.
func notRetriable(err error) error { return &notRetriableError{err} }

type notRetriableError struct{ err error }

func (e *notRetriableError) Error() string        { return e.err.Error() }
func (e *notRetriableError) Unwrap() error        { return e.err }
func (e *notRetriableError) Is(target error) bool { return target == scheduler.ErrNotRetriable }
