package cluster

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/scheduler"
	"github.com/spindle-engine/spindle/scheduler/scaling"
)

// dynamicTick is how often dynamic allocation reconsiders the target, as Spark's
// allocation manager does.
const dynamicTick = 100 * time.Millisecond

// scalingConfig reads dynamic allocation's keys; ok is false when it is off.
func scalingConfig(c *conf.Conf, externalShuffle bool) (cfg scaling.Config, ok bool) {
	if !c.Bool("spindle.dynamicAllocation.enabled") {
		return cfg, false
	}
	intOr := func(key string, def int) int {
		if c.Get(key) == "" {
			return def
		}
		return c.Int(key)
	}
	cfg = scaling.Config{
		Min:                     intOr("spindle.dynamicAllocation.minExecutors", 0),
		Max:                     intOr("spindle.dynamicAllocation.maxExecutors", 0),
		SlotsPerExecutor:        c.Int("spindle.executor.cores"),
		BacklogTimeout:          c.Duration("spindle.dynamicAllocation.schedulerBacklogTimeout"),
		SustainedBacklogTimeout: c.Duration("spindle.dynamicAllocation.sustainedSchedulerBacklogTimeout"),
		IdleTimeout:             c.Duration("spindle.dynamicAllocation.executorIdleTimeout"),
		ShuffleOnExecutors:      !externalShuffle,
	}
	if c.Get("spindle.dynamicAllocation.shuffleTracking.timeout") != "" {
		cfg.ShuffleTimeout = c.Duration("spindle.dynamicAllocation.shuffleTracking.timeout")
	}
	// As Spark: the initial target is the largest of the minimum, the initial
	// executors and spindle.executor.instances when it was set.
	cfg.Initial = max(cfg.Min, intOr("spindle.dynamicAllocation.initialExecutors", 0))
	if _, set := c.Explicit()["spindle.executor.instances"]; set {
		cfg.Initial = max(cfg.Initial, c.Int("spindle.executor.instances"))
	}
	return cfg, true
}

// dynamic feeds the scaling policy from the scheduler and the executors; Cluster's
// target loop asks it for decisions. It is a scheduler.Listener for the tasks.
type dynamic struct {
	mu sync.Mutex
	s  *scaling.Scaler
}

func (d *dynamic) backlog(now time.Time, b scheduler.Backlog) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.s.Backlog(now, b.Pending, b.Running)
}

func (d *dynamic) added(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.s.ExecutorAdded(time.Now(), id)
}

func (d *dynamic) removed(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.s.ExecutorRemoved(id)
}

func (d *dynamic) tick(now time.Time) scaling.Decision {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.Tick(now)
}

func (d *dynamic) target() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.Target()
}

// TaskStarted implements scheduler.Listener.
func (d *dynamic) TaskStarted(_ *scheduler.Task, executor string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.s.TaskStarted(executor)
}

// TaskEnded implements scheduler.Listener: a map task that succeeded left output on
// its executor.
func (d *dynamic) TaskEnded(t *scheduler.Task, executor string, _ *scheduler.TaskResult, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.s.TaskEnded(time.Now(), executor, err == nil && t.ShuffleID >= 0)
}

func (d *dynamic) JobStarted(*scheduler.JobSpec)                   {}
func (d *dynamic) StageSubmitted(*scheduler.StageSpec, int, int)   {}
func (d *dynamic) StageCompleted(*scheduler.StageSpec, int, error) {}
func (d *dynamic) JobEnded(*scheduler.JobSpec, error)              {}

// pushTargets sends the AM the executor target and the pending tasks' hosts when
// either changed, and with dynamic allocation gives back the executors it
// releases, until ctx ends. The AM may take a heartbeat to accept a target, which
// the scheduler must not wait for: this loop is the only caller.
func (cl *Cluster) pushTargets(ctx context.Context) {
	var tick <-chan time.Time
	if cl.dyn != nil {
		t := time.NewTicker(dynamicTick)
		defer t.Stop()
		tick = t.C
	}
	target, hints := cl.initialTarget(), map[string]int{}
	sent := false
	var excluded map[string]time.Time // as the AM last heard of them
	for {
		var release []string
		select {
		case b := <-cl.backlog:
			hints = b.Hosts
			cl.excludeNodes(ctx, &excluded, b.Excluded)
			if cl.dyn != nil {
				cl.dyn.backlog(time.Now(), b)
			}
		case now := <-tick:
			dec := cl.dyn.tick(now)
			if dec.Target == target && len(dec.Release) == 0 && sent {
				continue
			}
			target, release = dec.Target, dec.Release
		case <-ctx.Done():
			return
		}
		// The target falls before executors go, so that the AM does not replace them.
		if err := cl.master.SetTarget(ctx, target, maps.Clone(hints)); err != nil {
			if ctx.Err() == nil {
				cl.cfg.Log.Warn().Err(err).Msg("executor target not sent to the ApplicationMaster")
			}
			continue
		}
		sent = true
		if len(release) == 0 {
			continue
		}
		for _, id := range release {
			cl.backend.Release(id)
		}
		cl.cfg.Log.Info().Strs("executors", release).Int("target", target).Msg("releasing idle executors")
		if err := cl.master.KillExecutors(ctx, release); err != nil && ctx.Err() == nil {
			cl.cfg.Log.Warn().Err(err).Strs("executors", release).Msg("executors not released to the ApplicationMaster")
		}
	}
}

// initialTarget is the executors the application starts with.
func (cl *Cluster) initialTarget() int {
	if cl.dyn != nil {
		return cl.dyn.target()
	}
	return cl.instances
}
