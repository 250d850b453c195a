package scheduler

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Exclusion on failure, Spark's HealthTracker and TaskSetExcludelist: executors and
// nodes that keep failing tasks get no more of them. Within a task set, an executor
// that failed a task MaxTaskAttemptsPerExecutor times gets no more attempts of it,
// a node likewise after MaxTaskAttemptsPerNode; an executor that failed
// StageMaxFailedTasksPerExecutor different tasks gets none of the set's tasks, and
// a node with StageMaxFailedExecutorsPerNode such executors neither. When a task set
// succeeds, its failures count for the application: an executor with
// AppMaxFailedTasksPerExecutor failures (within Timeout of each other) is excluded
// for Timeout, and a node with AppMaxFailedExecutorsPerNode excluded executors too;
// the Driver hands excluded nodes to the cluster (Backlog.Excluded), which keeps new
// executors off them. Only failures the task caused count (those reported with
// TaskFailed.CountsAsFailure): a lost executor, a fetch failure, a denied commit or a
// killed copy never does.

// ExclusionConfig configures exclusion on failure (spindle.excludeOnFailure.*);
// zero fields take Spark's defaults.
type ExclusionConfig struct {
	Enabled bool
	// Within a task set (a stage attempt).
	MaxTaskAttemptsPerExecutor     int // failed attempts of one task per executor; 1
	MaxTaskAttemptsPerNode         int // failed attempts of one task per node; 2
	StageMaxFailedTasksPerExecutor int // failed tasks that exclude an executor for the stage; 2
	StageMaxFailedExecutorsPerNode int // stage-excluded executors that exclude their node; 2
	// For the application, counted when a task set succeeds.
	AppMaxFailedTasksPerExecutor int           // 2
	AppMaxFailedExecutorsPerNode int           // excluded executors that exclude their node; 2
	Timeout                      time.Duration // how long an application exclusion lasts; 1h
	// UnschedulableTimeout is how long a task set with a task that no live executor
	// may run waits for new executors before it is aborted; 120s.
	UnschedulableTimeout time.Duration
}

func (c ExclusionConfig) withDefaults() ExclusionConfig {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxTaskAttemptsPerExecutor, 1)
	def(&c.MaxTaskAttemptsPerNode, 2)
	def(&c.StageMaxFailedTasksPerExecutor, 2)
	def(&c.StageMaxFailedExecutorsPerNode, 2)
	def(&c.AppMaxFailedTasksPerExecutor, 2)
	def(&c.AppMaxFailedExecutorsPerNode, 2)
	if c.Timeout <= 0 {
		c.Timeout = time.Hour
	}
	if c.UnschedulableTimeout <= 0 {
		c.UnschedulableTimeout = 120 * time.Second
	}
	return c
}

// Exclusion is a change of exclusion on failure: an executor or a node excluded for
// a stage attempt or for the application, or an application exclusion lifted.
type Exclusion struct {
	Executor string // "" when a node is excluded
	Node     string // the node excluded, or the excluded executor's node
	// StageID and StageAttempt name the stage attempt the exclusion holds for; both
	// are -1 for the application.
	StageID, StageAttempt int
	// Failures is what caused it: failed tasks for an executor, excluded executors
	// for a node.
	Failures int
	Until    time.Time // when an application exclusion ends; zero for a stage's
	Lifted   bool      // an application exclusion that timed out
	Reason   string
}

// ExcludedEverywhereError aborts a task set one of whose partitions no live executor
// may run: each is excluded for it, or its node is. It wraps the partition's last
// failure.
type ExcludedEverywhereError struct {
	Partition int
	Executors []string // the live executors excluded for the partition
	Nodes     []string // the nodes excluded for it
	Err       error
}

func (e *ExcludedEverywhereError) Error() string {
	var where []string
	if len(e.Executors) > 0 {
		where = append(where, "executors "+strings.Join(e.Executors, ", "))
	}
	if len(e.Nodes) > 0 {
		where = append(where, "nodes "+strings.Join(e.Nodes, ", "))
	}
	return fmt.Sprintf("partition %d cannot run anywhere: excluded on failure on %s (spindle.excludeOnFailure.*); last failure: %v",
		e.Partition, strings.Join(where, " and "), e.Err)
}

func (e *ExcludedEverywhereError) Unwrap() error { return e.Err }

// setExclusion is one task set's exclusions (Spark's TaskSetExcludelist).
type setExclusion struct {
	cfg      *ExclusionConfig
	stageID  int
	attempt  int
	byExec   map[string]*execFailures
	nodeExec map[string]map[string]bool // node → executors that failed tasks there
	nodeTask map[string]map[int]bool    // node → task indexes excluded there
	execs    map[string]bool            // executors excluded for the set
	nodes    map[string]bool            // nodes excluded for the set
	last     error
	// unschedulableSince is when a task of the set was first found that no live
	// executor may run; zero while every task can run somewhere.
	unschedulableSince time.Time
}

// execFailures are one executor's failures in a task set.
type execFailures struct {
	node  string
	tasks map[int]taskFailures // by task index
}

type taskFailures struct {
	count int
	last  time.Time
}

func newSetExclusion(cfg *ExclusionConfig, stageID, attempt int) *setExclusion {
	return &setExclusion{cfg: cfg, stageID: stageID, attempt: attempt,
		byExec: map[string]*execFailures{}, nodeExec: map[string]map[string]bool{},
		nodeTask: map[string]map[int]bool{}, execs: map[string]bool{}, nodes: map[string]bool{}}
}

// excludes reports whether exec, on node, may not run the task at index.
func (x *setExclusion) excludes(exec, node string, index int) bool {
	if x.execs[exec] || x.nodes[node] || x.nodeTask[node][index] {
		return true
	}
	f := x.byExec[exec]
	return f != nil && f.tasks[index].count >= x.cfg.MaxTaskAttemptsPerExecutor
}

// failed records a failure the task caused and returns the stage exclusions it led to.
func (x *setExclusion) failed(now time.Time, exec, node string, index int, err error) []Exclusion {
	x.last = err
	f := x.byExec[exec]
	if f == nil {
		f = &execFailures{node: node, tasks: map[int]taskFailures{}}
		x.byExec[exec] = f
	}
	tf := f.tasks[index]
	f.tasks[index] = taskFailures{count: tf.count + 1, last: now}
	onNode := x.nodeExec[node]
	if onNode == nil {
		onNode = map[string]bool{}
		x.nodeExec[node] = onNode
	}
	onNode[exec] = true
	// Attempts, not executors, count toward the node: the task's MaxFailures counts
	// attempts, and a node must be given up before those run out.
	attempts := 0
	for e := range onNode {
		attempts += x.byExec[e].tasks[index].count
	}
	if attempts >= x.cfg.MaxTaskAttemptsPerNode {
		if x.nodeTask[node] == nil {
			x.nodeTask[node] = map[int]bool{}
		}
		x.nodeTask[node][index] = true
	}
	if len(f.tasks) < x.cfg.StageMaxFailedTasksPerExecutor || x.execs[exec] {
		return nil
	}
	x.execs[exec] = true
	out := []Exclusion{{Executor: exec, Node: node, StageID: x.stageID, StageAttempt: x.attempt, Failures: len(f.tasks),
		Reason: fmt.Sprintf("%d failed tasks in stage %d.%d", len(f.tasks), x.stageID, x.attempt)}}
	excluded := 0
	for e := range onNode {
		if x.execs[e] {
			excluded++
		}
	}
	if excluded >= x.cfg.StageMaxFailedExecutorsPerNode && !x.nodes[node] {
		x.nodes[node] = true
		out = append(out, Exclusion{Node: node, StageID: x.stageID, StageAttempt: x.attempt, Failures: excluded,
			Reason: fmt.Sprintf("%d executors excluded in stage %d.%d", excluded, x.stageID, x.attempt)})
	}
	return out
}

// health is the application's exclusions (Spark's HealthTracker).
type health struct {
	cfg      ExclusionConfig
	failures map[string][]appFailure // executor → failures in successful task sets
	execs    map[string]excludedExec
	nodes    map[string]time.Time       // node → end of its exclusion
	nodeExec map[string]map[string]bool // node → its executors excluded, kept after they die
}

type appFailure struct {
	stage, attempt, index int
	expiry                time.Time
}

type excludedExec struct {
	node  string
	until time.Time
}

func newHealth(cfg ExclusionConfig) *health {
	return &health{cfg: cfg, failures: map[string][]appFailure{}, execs: map[string]excludedExec{},
		nodes: map[string]time.Time{}, nodeExec: map[string]map[string]bool{}}
}

func (h *health) excludes(exec, node string) bool {
	_, e := h.execs[exec]
	_, n := h.nodes[node]
	return e || n
}

// taskSetSucceeded counts a successful task set's failures for the application and
// returns the exclusions they led to.
func (h *health) taskSetSucceeded(now time.Time, x *setExclusion) []Exclusion {
	var out []Exclusion
	for _, exec := range slices.Sorted(maps.Keys(x.byExec)) {
		f := x.byExec[exec]
		list := h.failures[exec]
		for _, idx := range slices.Sorted(maps.Keys(f.tasks)) {
			list = append(list, appFailure{stage: x.stageID, attempt: x.attempt, index: idx, expiry: f.tasks[idx].last.Add(h.cfg.Timeout)})
		}
		list = slices.DeleteFunc(list, func(a appFailure) bool { return a.expiry.Before(now) })
		h.failures[exec] = list
		if _, done := h.execs[exec]; done || len(list) < h.cfg.AppMaxFailedTasksPerExecutor {
			continue
		}
		until := now.Add(h.cfg.Timeout)
		h.execs[exec] = excludedExec{node: f.node, until: until}
		delete(h.failures, exec)
		out = append(out, Exclusion{Executor: exec, Node: f.node, StageID: -1, StageAttempt: -1, Failures: len(list), Until: until,
			Reason: fmt.Sprintf("%d task failures in successful stages", len(list))})
		onNode := h.nodeExec[f.node]
		if onNode == nil {
			onNode = map[string]bool{}
			h.nodeExec[f.node] = onNode
		}
		onNode[exec] = true
		if _, done := h.nodes[f.node]; !done && len(onNode) >= h.cfg.AppMaxFailedExecutorsPerNode {
			h.nodes[f.node] = until
			out = append(out, Exclusion{Node: f.node, StageID: -1, StageAttempt: -1, Failures: len(onNode), Until: until,
				Reason: fmt.Sprintf("%d executors excluded: %s", len(onNode), strings.Join(slices.Sorted(maps.Keys(onNode)), ", "))})
		}
	}
	return out
}

// expire lifts the exclusions that ended by now.
func (h *health) expire(now time.Time) []Exclusion {
	var out []Exclusion
	for _, exec := range slices.Sorted(maps.Keys(h.execs)) {
		e := h.execs[exec]
		if now.Before(e.until) {
			continue
		}
		delete(h.execs, exec)
		if onNode := h.nodeExec[e.node]; onNode != nil {
			delete(onNode, exec)
			if len(onNode) == 0 {
				delete(h.nodeExec, e.node)
			}
		}
		out = append(out, Exclusion{Executor: exec, Node: e.node, StageID: -1, StageAttempt: -1, Until: e.until, Lifted: true,
			Reason: "exclusion timed out"})
	}
	for _, node := range slices.Sorted(maps.Keys(h.nodes)) {
		if until := h.nodes[node]; !now.Before(until) {
			delete(h.nodes, node)
			out = append(out, Exclusion{Node: node, StageID: -1, StageAttempt: -1, Until: until, Lifted: true, Reason: "exclusion timed out"})
		}
	}
	return out
}

// nextExpiry is when the next application exclusion ends.
func (h *health) nextExpiry() (time.Time, bool) {
	var at time.Time
	found := false
	next := func(t time.Time) {
		if !found || t.Before(at) {
			at, found = t, true
		}
	}
	for _, e := range h.execs {
		next(e.until)
	}
	for _, t := range h.nodes {
		next(t)
	}
	return at, found
}

// executorRemoved forgets a lost executor's failures. Its exclusion stays until it
// times out, so that a second excluded executor on its node still excludes the node.
func (h *health) executorRemoved(id string) { delete(h.failures, id) }

// unschedulable finds a task of m that no live executor may run, and says which
// executors and nodes exclude it. Only a task that failed can be excluded
// everywhere, unless every executor is excluded for the whole set, so only those
// are looked at.
func (s *TaskScheduler) unschedulable(m *taskSetManager) *ExcludedEverywhereError {
	if len(s.executors) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(s.executors))
	broadly := true // every executor is excluded for every task of the set
	for _, id := range ids {
		if node := s.nodeOf(id); !s.health.excludes(id, node) && !m.excl.execs[id] && !m.excl.nodes[node] {
			broadly = false
			break
		}
	}
	candidates := map[int]bool{}
	for _, f := range m.excl.byExec {
		for i := range f.tasks {
			candidates[i] = true
		}
	}
	for i := range m.tasks {
		if !m.launchable(i) || !broadly && !candidates[i] {
			continue
		}
		if err := s.excludedEverywhere(m, ids, i); err != nil {
			return err
		}
	}
	return nil
}

// excludedEverywhere says which of the executors ids and their nodes exclude task i
// of m, or nil when one of them may run it.
func (s *TaskScheduler) excludedEverywhere(m *taskSetManager, ids []string, i int) *ExcludedEverywhereError {
	var execs, nodes []string
	for _, id := range ids {
		node := s.nodeOf(id)
		_, appNode := s.health.nodes[node]
		switch {
		case appNode || m.excl.nodes[node] || m.excl.nodeTask[node][i]:
			nodes = append(nodes, node)
		case s.health.excludes(id, node) || m.excl.excludes(id, node, i):
			execs = append(execs, id)
		default:
			return nil
		}
	}
	slices.Sort(nodes)
	return &ExcludedEverywhereError{Partition: m.tasks[i].Partition, Executors: execs, Nodes: slices.Compact(nodes), Err: m.excl.last}
}

// checkSchedulable aborts, once its grace period is over, a task set that launched
// nothing at now while one of its tasks may run on no live executor.
func (s *TaskScheduler) checkSchedulable(now time.Time, m *taskSetManager) {
	x := m.excl
	if m.zombie || len(x.byExec) == 0 && len(s.health.execs) == 0 && len(s.health.nodes) == 0 {
		return
	}
	err := s.unschedulable(m)
	if err == nil {
		x.unschedulableSince = time.Time{}
		return
	}
	if x.unschedulableSince.IsZero() {
		x.unschedulableSince = now
	}
	if now.Sub(x.unschedulableSince) < s.exclusion.UnschedulableTimeout {
		return
	}
	m.zombie = true
	idx := m.index[err.Partition]
	s.ready.Events = append(s.ready.Events, StageAborted{
		StageID: m.stageID, Attempt: m.attempt, Partition: err.Partition, Failures: m.failures[idx], Err: err,
	})
}

// abortDeadline is when the next unschedulable task set is aborted.
func (m *taskSetManager) abortDeadline(grace time.Duration) (time.Time, bool) {
	if m.excl == nil || m.zombie || m.excl.unschedulableSince.IsZero() {
		return time.Time{}, false
	}
	return m.excl.unschedulableSince.Add(grace), true
}

// excludedNodes are the nodes excluded for the application, with their ends.
func (h *health) excludedNodes() map[string]time.Time {
	if len(h.nodes) == 0 {
		return nil
	}
	return maps.Clone(h.nodes)
}
