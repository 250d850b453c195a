package scheduler

import (
	"errors"
	"maps"
	"math"
	"slices"
	"time"
)

// Speculative execution, as Spark's TaskSetManager.checkSpeculatableTasks: once
// Quantile of a task set's tasks succeeded, a task that has run longer than
// Multiplier times their median duration (and at least MinTaskRuntime) gets one
// copy, on another executor and, when one is alive, another node. The first attempt
// to succeed wins: its partition is done, the other is killed, and the loser's end,
// failure or success, is ignored. A set of one task has no median to compare with
// and is never speculated.

// SpeculationConfig configures speculative execution (spindle.speculation.*); zero
// fields take Spark's defaults.
type SpeculationConfig struct {
	Enabled        bool
	Interval       time.Duration // how often running tasks are checked; 100ms
	Quantile       float64       // share of a set's tasks that must have succeeded first; 0.75
	Multiplier     float64       // how many medians a task must have run to be copied; 1.5
	MinTaskRuntime time.Duration // the least a task runs before it is copied; 100ms
}

func (c SpeculationConfig) withDefaults() SpeculationConfig {
	if c.Interval <= 0 {
		c.Interval = 100 * time.Millisecond
	}
	if c.Quantile <= 0 || c.Quantile > 1 {
		c.Quantile = 0.75
	}
	if c.Multiplier <= 0 {
		c.Multiplier = 1.5
	}
	if c.MinTaskRuntime <= 0 {
		c.MinTaskRuntime = 100 * time.Millisecond
	}
	return c
}

// errAnotherAttemptWon is why the losing copy of a speculated task was killed.
var errAnotherAttemptWon = errors.New("another attempt of the partition succeeded")

// CheckSpeculatable marks the running tasks that are slow enough to be copied, as of
// now; it reports whether it marked any, so that the caller offers its slots again.
// Without speculation it does nothing.
func (s *TaskScheduler) CheckSpeculatable(now time.Time) bool {
	if !s.speculation.Enabled {
		return false
	}
	s.observe(now)
	thresholds := map[*taskSetManager]time.Duration{}
	for _, m := range s.sets {
		if t, ok := m.speculationThreshold(s.speculation); ok {
			thresholds[m] = t
		}
	}
	if len(thresholds) == 0 {
		return false
	}
	found := false
	for _, id := range slices.Sorted(maps.Keys(s.tasks)) {
		rt := s.tasks[id]
		m, i := rt.set, rt.index
		t, ok := thresholds[m]
		if !ok || rt.killed || m.succeeded[i] || m.running[i] != 1 || m.speculatable[i] || now.Sub(rt.started) <= t {
			continue
		}
		if m.speculatable == nil {
			m.speculatable = map[int]bool{}
		}
		m.speculatable[i] = true
		found = true
	}
	return found
}

// speculationThreshold is how long a task of m must have run to be copied, once
// enough of its tasks succeeded.
func (m *taskSetManager) speculationThreshold(c SpeculationConfig) (time.Duration, bool) {
	if m.zombie || len(m.tasks) <= 1 {
		return 0, false
	}
	minFinished := max(int(math.Floor(c.Quantile*float64(len(m.tasks)))), 1)
	if len(m.durations) < minFinished {
		return 0, false
	}
	n := len(m.durations)
	median := m.durations[n/2]
	if n%2 == 0 {
		median = (m.durations[n/2-1] + m.durations[n/2]) / 2
	}
	return max(time.Duration(c.Multiplier*float64(median)), c.MinTaskRuntime), true
}

// succeededIn records a successful attempt's duration, kept sorted for the median.
func (m *taskSetManager) succeededIn(d time.Duration) {
	i, _ := slices.BinarySearch(m.durations, d)
	m.durations = slices.Insert(m.durations, i, d)
}

// offerSpeculative picks a task of m to copy on a free slot of exec on node: one
// marked speculatable, never on an executor that ran an attempt of it, nor on a node
// that did while another live node did not.
func (s *TaskScheduler) offerSpeculative(m *taskSetManager, exec, node string) (int, bool) {
	if m.zombie || len(m.speculatable) == 0 {
		return 0, false
	}
	for _, i := range slices.Sorted(maps.Keys(m.speculatable)) {
		if m.succeeded[i] || m.running[i] != 1 {
			delete(m.speculatable, i) // it finished, or its only copy ended
			continue
		}
		if m.triedOn(i, func(p place) bool { return p.exec == exec }) || s.excludedFor(m, exec, node, i) {
			continue
		}
		if m.triedOn(i, func(p place) bool { return p.node == node }) && s.otherNodeFor(m, i) {
			continue
		}
		delete(m.speculatable, i)
		return i, true
	}
	return 0, false
}

// triedOn reports whether an attempt of task i was placed where ok says.
func (m *taskSetManager) triedOn(i int, ok func(place) bool) bool {
	return slices.ContainsFunc(m.attempts[i], ok)
}

// otherNodeFor reports whether a live executor that may run task i of m is on a node
// where it never ran.
func (s *TaskScheduler) otherNodeFor(m *taskSetManager, i int) bool {
	for id, e := range s.executors {
		node := s.nodeOf(id)
		if s.excludedAddrs[e.Addr] || s.excludedFor(m, id, node, i) {
			continue
		}
		if !m.triedOn(i, func(p place) bool { return p.node == node }) {
			return true
		}
	}
	return false
}

// killOtherCopies kills the attempts of task i of m still running once one of them
// succeeded: their ends are ignored.
func (s *TaskScheduler) killOtherCopies(m *taskSetManager, i int) {
	var kills []Kill
	for id, rt := range s.tasks {
		if rt.set == m && rt.index == i && !rt.killed {
			rt.killed, rt.cause = true, errAnotherAttemptWon
			kills = append(kills, Kill{Executor: rt.exec.ID, TaskID: id})
		}
	}
	slices.SortFunc(kills, func(a, b Kill) int { return int(a.TaskID - b.TaskID) })
	s.ready.Kills = append(s.ready.Kills, kills...)
}
