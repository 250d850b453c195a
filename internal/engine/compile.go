package engine

import (
	"context"
	"fmt"

	"github.com/spindle-engine/spindle/scheduler"
)

// compiler cuts a plan into stages at shuffle boundaries. A shuffle's map stage is
// created once per job however many consumers it has.
type compiler struct {
	d         *Driver
	ctx       context.Context
	byShuffle map[int]int
	plans     []*stagePlan
}

// Compile turns the plan ending at final into a job whose last stage runs result,
// without running it; with shipping on, every stage carries its payload. RunJob
// compiles the same way; Compile also lets a plan be described.
func (d *Driver) Compile(ctx context.Context, final *Node, name string, action *Action, result ResultFunc) (*scheduler.JobSpec, error) {
	c := &compiler{d: d, ctx: ctx, byShuffle: map[int]int{}}
	if _, err := c.stage(final, nil, result); err != nil {
		return nil, err
	}
	c.plans[len(c.plans)-1].action = action
	for _, p := range c.plans {
		if !d.cfg.Ship {
			continue
		}
		payload, err := stagePayload(p)
		if err != nil {
			return nil, err
		}
		p.spec.Payload = payload
	}
	job := &scheduler.JobSpec{Name: name}
	d.mu.Lock()
	for _, p := range c.plans {
		d.stages[p.spec.ID] = p
		job.Stages = append(job.Stages, p.spec)
	}
	d.mu.Unlock()
	return job, nil
}

// stage creates the stage ending at root, after the map stages it reads from, so that
// the result stage comes last.
func (c *compiler) stage(root *Node, out *ShuffleDep, result ResultFunc) (int, error) {
	var parents []int
	seen := map[int]bool{}
	var walk func(n *Node) error
	walk = func(n *Node) error {
		if seen[n.ID] {
			return nil
		}
		seen[n.ID] = true
		if n.Err != nil {
			return fmt.Errorf("%s: %w", n.Op, n.Err)
		}
		for _, sd := range n.Shuffles {
			id, err := c.mapStage(sd)
			if err != nil {
				return err
			}
			parents = append(parents, id)
		}
		for _, p := range n.Parents {
			if err := walk(p); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return 0, err
	}
	c.d.mu.Lock()
	c.d.nextStage++
	id := c.d.nextStage
	c.d.mu.Unlock()
	spec := scheduler.StageSpec{ID: id, Name: root.Op, NumTasks: root.NumParts, ShuffleID: -1, Parents: parents, Preferred: root.Hosts}
	p := &stagePlan{spec: spec, root: root, out: out, result: result}
	if out != nil {
		p.spec.ShuffleID = out.ID
		p.outState = out.state
	}
	c.plans = append(c.plans, p)
	return id, nil
}

func (c *compiler) mapStage(sd *ShuffleDep) (int, error) {
	if id, ok := c.byShuffle[sd.ID]; ok {
		return id, nil
	}
	// A range partitioner samples its input here, before its map stage can run.
	if _, err := sd.prepared(c.ctx); err != nil {
		return 0, err
	}
	id, err := c.stage(sd.Parent, sd, nil)
	if err != nil {
		return 0, err
	}
	c.byShuffle[sd.ID] = id
	return id, nil
}
