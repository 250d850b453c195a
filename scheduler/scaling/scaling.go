// Package scaling is dynamic allocation's policy, Spark's ExecutorAllocationManager
// as a pure state machine (no I/O, no goroutines, time passed in): the driver feeds
// it the scheduler's backlog and the executors' comings, goings and tasks, and asks
// it on a tick how many executors to want and which idle ones to give back.
//
// Rules (Spark's, with its names as configuration aliases):
//   - The target never leaves [Min, Max] and never exceeds what the running and
//     pending tasks need (⌈tasks / slots per executor⌉): it falls at once when the
//     backlog shrinks — except at the start: until the first job begins or an
//     executor has idled for IdleTimeout, the initial target holds, so that the
//     first job finds its executors however slowly the cluster grants them.
//   - Once tasks have waited BacklogTimeout, the target rises by 1, then 2, 4, … every
//     SustainedBacklogTimeout while they keep waiting.
//   - An executor idle (no task) for IdleTimeout is released, while more executors
//     remain than the target. An executor holding map outputs that live only on it
//     (no external shuffle service) is kept — for ShuffleTimeout if set, else for as
//     long as the application runs: losing it would mean recomputing them.
package scaling

import (
	"slices"
	"time"
)

// Config is the policy's tuning.
type Config struct {
	Min, Max, Initial int
	// SlotsPerExecutor is how many tasks one executor runs at once.
	SlotsPerExecutor        int
	BacklogTimeout          time.Duration // first rise after tasks waited this long
	SustainedBacklogTimeout time.Duration // then a rise every this long
	IdleTimeout             time.Duration // release an executor idle this long
	// ShuffleOnExecutors says map outputs are served by the executors that wrote
	// them (no external shuffle service): an executor holding some is kept for
	// ShuffleTimeout, or for ever when it is 0.
	ShuffleOnExecutors bool
	ShuffleTimeout     time.Duration
}

// Scaler decides the executor target. Its zero value is not usable; call New.
type Scaler struct {
	cfg              Config
	target           int
	step             int       // the next rise
	backlogSince     time.Time // when tasks began to wait; zero when none wait
	nextRise         time.Time
	pending, running int
	executors        map[string]*executor
	// initializing holds the initial target until a job begins or an executor has
	// been idle for IdleTimeout, as Spark's: a cluster slow to give the first
	// containers must not see the target fall before they come.
	initializing bool
}

type executor struct {
	tasks        int
	idleSince    time.Time // when it last became idle
	shuffleSince time.Time // when it first held map outputs; zero when it holds none
	releasing    bool
}

// New starts at the initial target, clamped to [Min, Max].
func New(cfg Config) *Scaler {
	cfg.SlotsPerExecutor = max(1, cfg.SlotsPerExecutor)
	if cfg.Max <= 0 {
		cfg.Max = int(^uint(0) >> 1)
	}
	cfg.Min = max(0, min(cfg.Min, cfg.Max))
	if cfg.SustainedBacklogTimeout <= 0 {
		cfg.SustainedBacklogTimeout = cfg.BacklogTimeout
	}
	s := &Scaler{cfg: cfg, step: 1, executors: map[string]*executor{}, initializing: true}
	s.target = s.clamp(max(cfg.Initial, cfg.Min))
	return s
}

func (s *Scaler) clamp(n int) int { return min(max(n, s.cfg.Min), s.cfg.Max) }

// Target is the number of executors wanted now.
func (s *Scaler) Target() int { return s.target }

// Backlog takes the scheduler's count of tasks waiting for a slot and running.
func (s *Scaler) Backlog(now time.Time, pending, running int) {
	s.pending, s.running = max(0, pending), max(0, running)
	if s.pending+s.running > 0 { // a job has begun
		s.initializing = false
	}
	switch {
	case s.pending == 0:
		s.backlogSince = time.Time{}
		s.step = 1
	case s.backlogSince.IsZero():
		s.backlogSince, s.nextRise = now, now.Add(s.cfg.BacklogTimeout)
	}
}

// ExecutorAdded takes an executor that registered; it starts idle.
func (s *Scaler) ExecutorAdded(now time.Time, id string) {
	if _, ok := s.executors[id]; !ok {
		s.executors[id] = &executor{idleSince: now}
	}
}

// ExecutorRemoved forgets an executor, released or lost.
func (s *Scaler) ExecutorRemoved(id string) { delete(s.executors, id) }

// TaskStarted takes a task launched on an executor.
func (s *Scaler) TaskStarted(id string) {
	if e := s.executors[id]; e != nil {
		e.tasks++
	}
}

// TaskEnded takes a task's end on an executor; wroteMapOutput says it left a map
// output there.
func (s *Scaler) TaskEnded(now time.Time, id string, wroteMapOutput bool) {
	e := s.executors[id]
	if e == nil {
		return
	}
	e.tasks = max(0, e.tasks-1)
	if e.tasks == 0 {
		e.idleSince = now
	}
	if wroteMapOutput && e.shuffleSince.IsZero() {
		e.shuffleSince = now
	}
}

// needed is how many executors the running and pending tasks can use.
func (s *Scaler) needed() int {
	slots := s.cfg.SlotsPerExecutor
	return (s.pending + s.running + slots - 1) / slots
}

// Decision is what a tick decides: the target, and the executors to give back now
// (already counted out of it).
type Decision struct {
	Target  int
	Release []string
}

// Tick updates the target at now and picks idle executors to release.
func (s *Scaler) Tick(now time.Time) Decision {
	if s.initializing {
		for _, e := range s.executors {
			if e.tasks == 0 && now.Sub(e.idleSince) >= s.cfg.IdleTimeout {
				s.initializing = false
			}
		}
	}
	needed := s.needed()
	switch {
	case s.initializing:
	case s.target > needed:
		s.target, s.step = s.clamp(needed), 1
	case s.pending > 0 && !now.Before(s.nextRise):
		s.target = s.clamp(min(s.target+s.step, needed))
		s.step *= 2
		if s.target >= needed {
			s.step = 1
		}
		s.nextRise = now.Add(s.cfg.SustainedBacklogTimeout)
	}
	live := 0
	var idle []string
	for id, e := range s.executors {
		if e.releasing {
			continue
		}
		live++
		if e.tasks == 0 && now.Sub(e.idleSince) >= s.cfg.IdleTimeout && !s.keepsShuffle(now, e) {
			idle = append(idle, id)
		}
	}
	slices.SortFunc(idle, func(a, b string) int { // oldest idle first, then by id
		if c := s.executors[a].idleSince.Compare(s.executors[b].idleSince); c != 0 {
			return c
		}
		return compareIDs(a, b)
	})
	var release []string
	for _, id := range idle {
		if live <= s.target {
			break
		}
		s.executors[id].releasing = true
		release = append(release, id)
		live--
	}
	return Decision{Target: s.target, Release: release}
}

// keepsShuffle says an idle executor must stay for the map outputs only it serves.
func (s *Scaler) keepsShuffle(now time.Time, e *executor) bool {
	if !s.cfg.ShuffleOnExecutors || e.shuffleSince.IsZero() {
		return false
	}
	return s.cfg.ShuffleTimeout <= 0 || now.Sub(e.shuffleSince) < s.cfg.ShuffleTimeout
}

// compareIDs orders executor ids numerically when both are numbers, as the AM gives
// them, so that decisions read the same every time.
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
