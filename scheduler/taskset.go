package scheduler

import (
	"slices"
	"time"
)

// taskSetManager schedules the tasks of one stage attempt: it picks tasks for
// offers by locality, with delay scheduling, and counts each partition's failures.
type taskSetManager struct {
	jobID, stageID, attempt int
	tasks                   []*Task     // templates, by index
	index                   map[int]int // partition to index
	running                 []int       // copies running, by index
	succeeded               []bool
	failures                []int
	numSucceeded            int
	numRunning              int
	// zombie task sets launch nothing more; their running tasks still report.
	zombie bool

	// Pending task indexes per location, used as stacks; entries that are already
	// running or done are dropped lazily when met.
	forExecutor map[string][]int
	forHost     map[string][]int
	noPrefs     []int
	all         []int

	levels     []Locality // levels that can be met with the executors alive
	levelIdx   int        // the level delay scheduling has reached
	lastLaunch time.Time  // when that level's wait started
	wait       time.Duration

	// attempts are where each task's attempts were placed; excl is the set's
	// exclusions, nil without exclusion on failure.
	attempts [][]place
	excl     *setExclusion
	// Speculation: the durations of the set's successful attempts, sorted, and the
	// tasks found slow enough to copy, not yet copied.
	durations    []time.Duration
	speculatable map[int]bool
}

// place is where one attempt of a task ran.
type place struct{ exec, node string }

func newTaskSetManager(now time.Time, set SubmitTaskSet, wait time.Duration) *taskSetManager {
	n := len(set.Tasks)
	m := &taskSetManager{
		jobID: set.JobID, stageID: set.Stage.ID, attempt: set.Attempt,
		tasks: set.Tasks, running: make([]int, n),
		succeeded: make([]bool, n), failures: make([]int, n), attempts: make([][]place, n),
		forExecutor: map[string][]int{}, forHost: map[string][]int{},
		lastLaunch: now, wait: wait, index: make(map[int]int, n),
	}
	for i, t := range set.Tasks {
		m.index[t.Partition] = i
	}
	// Pushed last to first so that the stacks hand out partitions in order.
	for i := n - 1; i >= 0; i-- {
		m.addPending(i)
	}
	return m
}

func (m *taskSetManager) addPending(i int) {
	prefs := m.tasks[i].Preferred
	for _, loc := range prefs {
		exec, host := parseLocation(loc)
		if exec != "" {
			m.forExecutor[exec] = append(m.forExecutor[exec], i)
		}
		m.forHost[host] = append(m.forHost[host], i)
	}
	if len(prefs) == 0 {
		m.noPrefs = append(m.noPrefs, i)
	}
	m.all = append(m.all, i)
}

func (m *taskSetManager) launchable(i int) bool { return m.running[i] == 0 && !m.succeeded[i] }

// pop takes the last launchable index that skip (when set) allows off a stack.
// Stale entries on top are dropped; entries skip refuses stay for other offers.
func (m *taskSetManager) pop(stack *[]int, skip func(int) bool) (int, bool) {
	s := *stack
	for len(s) > 0 && !m.launchable(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	*stack = s
	for j := len(s) - 1; j >= 0; j-- {
		if i := s[j]; m.launchable(i) && (skip == nil || !skip(i)) {
			*stack = slices.Delete(s, j, j+1)
			return i, true
		}
	}
	return 0, false
}

// hasPending reports whether a stack still holds a launchable index, dropping the
// stale ones on top.
func (m *taskSetManager) hasPending(stack *[]int) bool {
	s := *stack
	for len(s) > 0 && !m.launchable(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	*stack = s
	return len(s) > 0
}

func (m *taskSetManager) hasPendingIn(stacks map[string][]int, alive func(string) bool) bool {
	for key, s := range stacks {
		if alive(key) && m.hasPending(&s) {
			stacks[key] = s
			return true
		}
		if len(s) == 0 {
			delete(stacks, key)
		} else {
			stacks[key] = s
		}
	}
	return false
}

// computeLevels finds the locality levels worth waiting for, given which
// executors and hosts are alive, keeping the level reached so far.
func (m *taskSetManager) computeLevels(execAlive, hostAlive func(string) bool) {
	prev := ProcessLocal
	if len(m.levels) > 0 {
		prev = m.levels[m.levelIdx]
	}
	m.levels = m.levels[:0]
	if m.hasPendingIn(m.forExecutor, execAlive) {
		m.levels = append(m.levels, ProcessLocal)
	}
	if m.hasPendingIn(m.forHost, hostAlive) {
		m.levels = append(m.levels, NodeLocal)
	}
	if m.hasPending(&m.noPrefs) {
		m.levels = append(m.levels, NoPref)
	}
	m.levels = append(m.levels, AnyLocality)
	m.levelIdx = slices.IndexFunc(m.levels, func(l Locality) bool { return l >= prev })
}

func (m *taskSetManager) hasPendingAt(l Locality) bool {
	yes := func(string) bool { return true }
	switch l {
	case ProcessLocal:
		return m.hasPendingIn(m.forExecutor, yes)
	case NodeLocal:
		return m.hasPendingIn(m.forHost, yes)
	case NoPref:
		return m.hasPending(&m.noPrefs)
	}
	return m.hasPending(&m.all)
}

// allowedLevel advances delay scheduling to now: a level with nothing left to run
// is passed at once, one with tasks only after the locality wait.
func (m *taskSetManager) allowedLevel(now time.Time) Locality {
	for m.levelIdx < len(m.levels)-1 {
		switch {
		case !m.hasPendingAt(m.levels[m.levelIdx]):
			m.lastLaunch = now
			m.levelIdx++
		case now.Sub(m.lastLaunch) >= m.wait:
			m.lastLaunch = m.lastLaunch.Add(m.wait)
			m.levelIdx++
		default:
			return m.levels[m.levelIdx]
		}
	}
	return m.levels[m.levelIdx]
}

// wakeAt is when the allowed level next widens, if it can.
func (m *taskSetManager) wakeAt() (time.Time, bool) {
	if m.zombie || m.levelIdx >= len(m.levels)-1 || !m.hasPending(&m.all) {
		return time.Time{}, false
	}
	return m.lastLaunch.Add(m.wait), true
}

// offer picks a task for one free slot of executor exec on host, no less local than
// maxLevel allows and not one skip (when set) refuses; it returns the task's index
// and locality.
func (m *taskSetManager) offer(now time.Time, exec, host string, maxLevel Locality, skip func(int) bool) (int, Locality, bool) {
	if m.zombie {
		return 0, 0, false
	}
	allowed := maxLevel
	if maxLevel != NoPref {
		// Tasks without a preference need no wait; everything else waits its turn.
		allowed = min(m.allowedLevel(now), maxLevel)
	}
	i, loc, ok := m.dequeue(exec, host, allowed, skip)
	if !ok {
		return 0, 0, false
	}
	if maxLevel != NoPref {
		m.levelIdx = max(0, slices.IndexFunc(m.levels, func(l Locality) bool { return l >= loc }))
		m.lastLaunch = now
	}
	return i, loc, true
}

func (m *taskSetManager) dequeue(exec, host string, allowed Locality, skip func(int) bool) (int, Locality, bool) {
	if s, ok := m.forExecutor[exec]; ok {
		if i, ok := m.pop(&s, skip); ok {
			m.forExecutor[exec] = s
			return i, ProcessLocal, true
		}
		m.keep(m.forExecutor, exec, s)
	}
	if allowed >= NodeLocal {
		if s, ok := m.forHost[host]; ok {
			if i, ok := m.pop(&s, skip); ok {
				m.forHost[host] = s
				return i, NodeLocal, true
			}
			m.keep(m.forHost, host, s)
		}
	}
	if allowed >= NoPref {
		if i, ok := m.pop(&m.noPrefs, skip); ok {
			return i, NoPref, true
		}
	}
	if allowed >= AnyLocality {
		if i, ok := m.pop(&m.all, skip); ok {
			return i, AnyLocality, true
		}
	}
	return 0, 0, false
}

// keep stores a stack back under key, or drops the key once the stack is empty;
// what pop skipped for one offer stays for the others.
func (m *taskSetManager) keep(stacks map[string][]int, key string, s []int) {
	if len(s) == 0 {
		delete(stacks, key)
		return
	}
	stacks[key] = s
}

// finished reports whether the set has nothing left to launch or wait for.
func (m *taskSetManager) finished() bool {
	return m.numRunning == 0 && (m.zombie || m.numSucceeded == len(m.tasks))
}

func (m *taskSetManager) markSucceeded(i int) {
	if !m.succeeded[i] {
		m.succeeded[i] = true
		m.numSucceeded++
	}
}
