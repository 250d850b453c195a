package spindle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spindle-engine/spindle/scheduler"
)

// resultFunc computes one partition of a job's final stage and encodes what the
// driver needs from it.
type resultFunc func(tc *taskContext, part int) ([]byte, error)

// stagePlan is what a task of a stage runs: the stage's last node and either the
// shuffle it writes or the job's result function.
type stagePlan struct {
	spec   scheduler.StageSpec
	root   *node
	out    *shuffleDep
	result resultFunc
	// action is the result stage's task side as data, for remote executors.
	action *actionSpec
	// outState is the out shuffle's prepared state, as its map tasks see it.
	outState []byte
}

// compiler cuts a plan into stages at shuffle boundaries. A shuffle's map stage is
// created once per job however many consumers it has.
type compiler struct {
	s         *Session
	ctx       context.Context
	byShuffle map[int]int
	plans     []*stagePlan
}

// compile turns the plan ending at final into a job whose last stage computes result.
func (s *Session) compile(ctx context.Context, final *node, name string, action *actionSpec, result resultFunc) (*scheduler.JobSpec, error) {
	c := &compiler{s: s, ctx: ctx, byShuffle: map[int]int{}}
	if _, err := c.stage(final, nil, result); err != nil {
		return nil, err
	}
	last := c.plans[len(c.plans)-1]
	last.action = action
	for _, p := range c.plans {
		if p.out != nil {
			p.outState = p.out.state
		}
		if !s.ship {
			continue
		}
		payload, err := stagePayload(p)
		if err != nil {
			return nil, err
		}
		p.spec.Payload = payload
	}
	job := &scheduler.JobSpec{Name: name}
	s.mu.Lock()
	for _, p := range c.plans {
		s.stages[p.spec.ID] = p
		job.Stages = append(job.Stages, p.spec)
	}
	s.mu.Unlock()
	return job, nil
}

// stage creates the stage ending at root, after the map stages it reads from, so that
// the result stage comes last.
func (c *compiler) stage(root *node, out *shuffleDep, result resultFunc) (int, error) {
	var parents []int
	seen := map[int]bool{}
	var walk func(n *node) error
	walk = func(n *node) error {
		if seen[n.id] {
			return nil
		}
		seen[n.id] = true
		if n.err != nil {
			return fmt.Errorf("%s: %w", n.op, n.err)
		}
		for _, sd := range n.shuffle {
			id, err := c.mapStage(sd)
			if err != nil {
				return err
			}
			parents = append(parents, id)
		}
		for _, p := range n.parents {
			if err := walk(p); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return 0, err
	}
	c.s.mu.Lock()
	c.s.nextStage++
	id := c.s.nextStage
	c.s.mu.Unlock()
	spec := scheduler.StageSpec{ID: id, Name: root.op, NumTasks: root.nparts, ShuffleID: -1, Parents: parents, Preferred: root.hosts}
	if out != nil {
		spec.ShuffleID = out.id
	}
	c.plans = append(c.plans, &stagePlan{spec: spec, root: root, out: out, result: result})
	return id, nil
}

func (c *compiler) mapStage(sd *shuffleDep) (int, error) {
	if id, ok := c.byShuffle[sd.id]; ok {
		return id, nil
	}
	// A range partitioner samples its input here, before its map stage can run.
	if err := sd.ensurePrepared(c.ctx); err != nil {
		return 0, err
	}
	id, err := c.stage(sd.parent, sd, nil)
	if err != nil {
		return 0, err
	}
	c.byShuffle[sd.id] = id
	return id, nil
}

// runJob compiles the plan ending at final and runs it, handing each result
// partition's bytes to onResult.
func (s *Session) runJob(ctx context.Context, final *node, name string, action *actionSpec, result resultFunc, onResult func(part int, data []byte) error) error {
	return s.runJobOn(ctx, final, nil, name, action, result, onResult)
}

// runJobOn is runJob over some result partitions only (all when parts is nil).
func (s *Session) runJobOn(ctx context.Context, final *node, parts []int, name string, action *actionSpec, result resultFunc, onResult func(part int, data []byte) error) error {
	job, err := s.compile(ctx, final, name, action, result)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	job.Partitions = parts
	s.jobMu.Lock()
	defer s.jobMu.Unlock()
	start := time.Now()
	s.log.Info().Str("job", name).Int("stages", len(job.Stages)).Msg("job started")
	if s.cluster != nil {
		// Executors still to come are asked for where the job's input is.
		if err := s.cluster.master.SetTarget(ctx, s.conf.Int("spindle.executor.instances"), jobHints(job)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := s.cluster.awaitExecutors(ctx, s.conf, s.log); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		var cancel context.CancelFunc
		ctx, cancel = s.cluster.jobContext(ctx)
		defer cancel()
	}
	err = s.driver.RunJob(ctx, job, onResult)
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	ev := s.log.Info()
	if err != nil {
		ev = s.log.Error().Err(err)
	}
	ev.Str("job", name).Dur("took", time.Since(start)).Msg("job ended")
	return err
}

// stagePlan finds the plan of a stage for a task.
func (s *Session) stagePlan(id int) *stagePlan {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stages[id]
}

// jobHints counts, per host, the job's tasks that prefer it: the allocator asks for
// containers there.
func jobHints(job *scheduler.JobSpec) map[string]int {
	hints := map[string]int{}
	for _, st := range job.Stages {
		if st.Preferred == nil {
			continue
		}
		for p := range st.NumTasks {
			for _, h := range st.Preferred(p) {
				if !strings.HasPrefix(h, "executor:") {
					hints[scheduler.CanonicalHost(h)]++
				}
			}
		}
	}
	return hints
}
