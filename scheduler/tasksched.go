package scheduler

import (
	"errors"
	"slices"
	"time"
)

// Offer is one executor's free slots, offered to the task scheduler.
type Offer struct {
	Executor string
	Free     int
}

// Launch asks for a task to be started on an executor.
type Launch struct {
	Executor string
	Task     *Task
	Locality Locality
	// Speculative says the task is a copy of a slow attempt still running.
	Speculative bool
}

// Kill asks for a running task to be stopped.
type Kill struct {
	Executor string
	TaskID   int64
}

// Ready is what the task scheduler decided besides launches and DAGScheduler
// events answering a call, for the caller to carry out: the losing copies of
// speculated tasks to kill, events for the DAGScheduler (task sets aborted because
// no live executor may run one of their tasks) and changes of exclusion.
type Ready struct {
	Kills      []Kill
	Events     []Event
	Exclusions []Exclusion
}

// TaskScheduler places the tasks of submitted task sets on offered slots and turns
// their status updates into DAGScheduler events: it retries failed tasks up to
// maxFailures and re-queues the tasks of lost executors without charging them;
// optionally it excludes executors and nodes that keep failing (exclusion.go) and
// copies slow tasks (speculation.go). It does no I/O, takes the time as an argument,
// and is owned by one goroutine.
type TaskScheduler struct {
	maxFailures  int
	localityWait time.Duration
	sets         []*taskSetManager // in FIFO order: job, then stage, then attempt
	tasks        map[int64]*runningTask
	executors    map[string]ExecutorInfo
	hosts        map[string]int // executors alive per host
	// excludedAddrs are shuffle services that stopped answering: their executors
	// get no tasks.
	excludedAddrs map[string]bool
	nextTaskID    int64
	// launches counts the attempts of each stage's partitions across stage
	// attempts, so that no two attempts of a partition share an Attempt number
	// (map tasks name their output files by it).
	launches map[int]map[int]int

	exclusion   ExclusionConfig // off unless Enabled
	health      *health         // the application's exclusions; empty when off
	speculation SpeculationConfig
	ready       Ready
	// now is the latest time a call gave, for the calls that take none.
	now time.Time
}

type runningTask struct {
	task        *Task
	set         *taskSetManager
	index       int
	exec        ExecutorInfo
	started     time.Time
	speculative bool
	killed      bool
	cause       error // why it was killed, when the scheduler knows better than its caller
}

// NewTaskScheduler returns a TaskScheduler that fails a task set once a partition
// failed maxFailures times, and waits up to localityWait per locality level.
func NewTaskScheduler(maxFailures int, localityWait time.Duration) *TaskScheduler {
	return &TaskScheduler{
		maxFailures:  max(1, maxFailures),
		localityWait: localityWait,
		tasks:        map[int64]*runningTask{},
		executors:    map[string]ExecutorInfo{},
		hosts:        map[string]int{},
		launches:     map[int]map[int]int{},
		health:       newHealth(ExclusionConfig{}.withDefaults()),
	}
}

// SetExclusion turns exclusion on failure on or off; call it before the first
// Submit.
func (s *TaskScheduler) SetExclusion(c ExclusionConfig) {
	s.exclusion = c.withDefaults()
	s.health = newHealth(s.exclusion)
}

// SetSpeculation turns speculative execution on or off; call it before the first
// Submit.
func (s *TaskScheduler) SetSpeculation(c SpeculationConfig) { s.speculation = c.withDefaults() }

// Ready returns what the scheduler decided since the last call, besides launches and
// events it returned.
func (s *TaskScheduler) Ready() Ready {
	r := s.ready
	s.ready = Ready{}
	return r
}

// observe keeps the latest time a call gave.
func (s *TaskScheduler) observe(now time.Time) {
	if now.After(s.now) {
		s.now = now
	}
}

// nodeOf is an executor's node: the cluster manager's name, else its host.
func (s *TaskScheduler) nodeOf(id string) string {
	e := s.executors[id]
	if e.Node != "" {
		return e.Node
	}
	return e.Host
}

// excludedFor reports whether exec on node may not run task i of m.
func (s *TaskScheduler) excludedFor(m *taskSetManager, exec, node string, i int) bool {
	return m.excl != nil && (s.health.excludes(exec, node) || m.excl.excludes(exec, node, i))
}

// Submit queues a stage attempt's tasks.
func (s *TaskScheduler) Submit(now time.Time, set SubmitTaskSet) {
	s.observe(now)
	m := newTaskSetManager(now, set, s.localityWait)
	if s.exclusion.Enabled {
		m.excl = newSetExclusion(&s.exclusion, set.Stage.ID, set.Attempt)
	}
	m.computeLevels(s.execAlive, s.hostAlive)
	i, _ := slices.BinarySearchFunc(s.sets, m, func(a, b *taskSetManager) int {
		if a.jobID != b.jobID {
			return a.jobID - b.jobID
		}
		if a.stageID != b.stageID {
			return a.stageID - b.stageID
		}
		return a.attempt - b.attempt
	})
	s.sets = slices.Insert(s.sets, i, m)
}

func (s *TaskScheduler) execAlive(id string) bool { _, ok := s.executors[id]; return ok }
func (s *TaskScheduler) hostAlive(h string) bool  { return s.hosts[h] > 0 }

// AddExecutor makes an executor known, so that tasks preferring it or its host wait
// for it.
func (s *TaskScheduler) AddExecutor(e ExecutorInfo) {
	if _, ok := s.executors[e.ID]; ok {
		return
	}
	e.Host = CanonicalHost(e.Host)
	s.executors[e.ID] = e
	s.hosts[e.Host]++
	s.recomputeLevels()
}

func (s *TaskScheduler) recomputeLevels() {
	for _, m := range s.sets {
		m.computeLevels(s.execAlive, s.hostAlive)
	}
}

// ExecutorLost forgets an executor. Its running tasks are re-queued without
// counting as failures; they are returned, with the events for the DAGScheduler
// (a TaskFailed per task, then ExecutorLost).
func (s *TaskScheduler) ExecutorLost(id string) (lost []*Task, events []Event) {
	e, ok := s.executors[id]
	if !ok {
		return nil, nil
	}
	delete(s.executors, id)
	if s.hosts[e.Host]--; s.hosts[e.Host] <= 0 {
		delete(s.hosts, e.Host)
	}
	s.health.executorRemoved(id)
	var ids []int64
	for tid, rt := range s.tasks {
		if rt.exec.ID == id {
			ids = append(ids, tid)
		}
	}
	slices.Sort(ids)
	for _, tid := range ids {
		rt := s.tasks[tid]
		delete(s.tasks, tid)
		m := rt.set
		m.running[rt.index]--
		m.numRunning--
		lost = append(lost, rt.task)
		if !rt.killed && m.launchable(rt.index) {
			m.addPending(rt.index)
		}
		events = append(events, TaskFailed{Task: rt.task, Err: ErrExecutorLost})
	}
	s.removeFinished()
	s.recomputeLevels()
	return lost, append(events, ExecutorLost{Executor: id})
}

// ResourceOffers places pending tasks on the free slots offered, task sets in FIFO
// order, each at the best locality its delay scheduling allows at now, then the
// copies of its slow tasks. Executors and nodes excluded on failure get none of the
// tasks they are excluded for; a task set with a task no live executor may run is
// aborted once UnschedulableTimeout passed (see Ready).
func (s *TaskScheduler) ResourceOffers(now time.Time, offers []Offer) []Launch {
	s.observe(now)
	if s.exclusion.Enabled {
		s.ready.Exclusions = append(s.ready.Exclusions, s.health.expire(now)...)
	}
	for _, m := range s.sets {
		m.allowedLevel(now) // advance delay scheduling even when no slot is free
	}
	free := make([]int, len(offers))
	hosts := make([]string, len(offers)) // as AddExecutor recorded them, canonical
	nodes := make([]string, len(offers))
	total := 0
	for i, o := range offers {
		e, ok := s.executors[o.Executor]
		if !ok || s.excludedAddrs[e.Addr] || s.health.excludes(o.Executor, s.nodeOf(o.Executor)) {
			continue
		}
		free[i], hosts[i], nodes[i] = o.Free, e.Host, s.nodeOf(o.Executor)
		total += o.Free
	}
	var out []Launch
	for _, m := range s.sets {
		before := len(out)
		for _, level := range m.levels {
			for launched := true; launched && total > 0; {
				launched = false
				for i, o := range offers {
					if free[i] <= 0 {
						continue
					}
					var skip func(int) bool
					if m.excl != nil {
						exec, node := o.Executor, nodes[i]
						skip = func(idx int) bool { return m.excl.excludes(exec, node, idx) }
					}
					idx, loc, ok := m.offer(now, o.Executor, hosts[i], level, skip)
					if !ok {
						continue
					}
					free[i]--
					total--
					launched = true
					out = append(out, s.launch(now, m, idx, loc, o.Executor))
				}
			}
		}
		for i, o := range offers {
			for free[i] > 0 {
				idx, ok := s.offerSpeculative(m, o.Executor, nodes[i])
				if !ok {
					break
				}
				free[i]--
				total--
				l := s.launch(now, m, idx, localityOf(m.tasks[idx], o.Executor, hosts[i]), o.Executor)
				l.Speculative = true
				s.tasks[l.Task.ID].speculative = true
				out = append(out, l)
			}
		}
		if m.excl != nil && len(out) == before {
			s.checkSchedulable(now, m)
		}
	}
	return out
}

// localityOf is how close t runs on exec on host.
func localityOf(t *Task, exec, host string) Locality {
	if len(t.Preferred) == 0 {
		return NoPref
	}
	best := AnyLocality
	for _, loc := range t.Preferred {
		e, h := parseLocation(loc)
		switch {
		case e != "" && e == exec:
			return ProcessLocal
		case h == host:
			best = NodeLocal
		}
	}
	return best
}

func (s *TaskScheduler) launch(now time.Time, m *taskSetManager, idx int, loc Locality, exec string) Launch {
	s.nextTaskID++
	t := *m.tasks[idx]
	t.ID = s.nextTaskID
	counts := s.launches[m.stageID]
	if counts == nil {
		counts = map[int]int{}
		s.launches[m.stageID] = counts
	}
	t.Attempt = counts[t.Partition]
	t.Locality = loc
	counts[t.Partition]++
	m.running[idx]++
	m.numRunning++
	m.attempts[idx] = append(m.attempts[idx], place{exec: exec, node: s.nodeOf(exec)})
	s.tasks[t.ID] = &runningTask{task: &t, set: m, index: idx, exec: s.executors[exec], started: now}
	return Launch{Executor: exec, Task: &t, Locality: loc}
}

// Task returns a running task by ID, and whether it was killed.
func (s *TaskScheduler) Task(id int64) (t *Task, killed, ok bool) {
	rt, ok := s.tasks[id]
	if !ok {
		return nil, false, false
	}
	return rt.task, rt.killed, true
}

// killCause is why the scheduler itself killed a running task (the loser of a
// speculated task), or nil.
func (s *TaskScheduler) killCause(id int64) error {
	if rt, ok := s.tasks[id]; ok && rt.killed {
		return rt.cause
	}
	return nil
}

// RunningOn returns the running task id if it runs on executor and was not killed.
func (s *TaskScheduler) RunningOn(id int64, executor string) (*Task, bool) {
	rt, ok := s.tasks[id]
	if !ok || rt.killed || rt.exec.ID != executor {
		return nil, false
	}
	return rt.task, true
}

// StatusUpdate is StatusUpdateAt at the latest time the scheduler was given.
func (s *TaskScheduler) StatusUpdate(taskID int64, res *TaskResult, err error) []Event {
	return s.StatusUpdateAt(s.now, taskID, res, err)
}

// StatusUpdateAt takes the end of a task at now: success, or failure with err. It
// returns the events for the DAGScheduler; an unknown task (its executor was lost,
// say) yields none, and so does the losing copy of a speculated task. A success
// kills the partition's other copies (see Ready).
func (s *TaskScheduler) StatusUpdateAt(now time.Time, taskID int64, res *TaskResult, err error) []Event {
	s.observe(now)
	rt, ok := s.tasks[taskID]
	if !ok {
		return nil
	}
	delete(s.tasks, taskID)
	m, idx, t := rt.set, rt.index, rt.task
	m.running[idx]--
	m.numRunning--
	defer s.removeFinished()
	if rt.killed && errors.Is(rt.cause, errAnotherAttemptWon) {
		return nil // the partition is done: what the loser did is moot
	}
	if err == nil {
		if !m.succeeded[idx] {
			m.succeededIn(now.Sub(rt.started))
		}
		s.partitionSucceeded(m.stageID, t.Partition)
		s.killOtherCopies(m, idx)
		ev := TaskSucceeded{Task: t, Result: res}
		if t.ShuffleID >= 0 {
			ev.Status = MapStatus{Executor: rt.exec.ID, Host: rt.exec.Host, Addr: rt.exec.Addr}
			if res != nil {
				ev.Status.Sizes = res.Sizes
			}
		}
		return []Event{ev}
	}
	if rt.killed {
		return nil
	}
	var ff *FetchFailedError
	if errors.As(err, &ff) {
		// The stage attempt cannot finish without the parent's output; the DAG
		// scheduler resubmits it, so this set launches nothing more.
		m.zombie = true
		return []Event{FetchFailed{Task: t, Err: ff}}
	}
	if errors.Is(err, ErrExecutorLost) || errors.Is(err, ErrCommitDenied) || m.zombie || m.succeeded[idx] {
		if !m.zombie && m.launchable(idx) {
			m.addPending(idx)
		}
		return []Event{TaskFailed{Task: t, Err: err}}
	}
	m.failures[idx]++
	if m.excl != nil {
		s.ready.Exclusions = append(s.ready.Exclusions, m.excl.failed(now, rt.exec.ID, s.nodeOfTask(rt), idx, err)...)
	}
	events := []Event{TaskFailed{Task: t, Err: err, CountsAsFailure: true}}
	if m.failures[idx] >= s.maxFailures || errors.Is(err, ErrNotRetriable) {
		m.zombie = true
		return append(events, StageAborted{
			StageID: m.stageID, Attempt: m.attempt, Partition: t.Partition,
			Failures: m.failures[idx], Err: err,
		})
	}
	m.addPending(idx)
	return events
}

// partitionSucceeded marks a partition done in every attempt of its stage, so
// that no attempt runs it again.
func (s *TaskScheduler) partitionSucceeded(stageID, partition int) {
	for _, m := range s.sets {
		if m.stageID != stageID {
			continue
		}
		if i, ok := m.index[partition]; ok {
			m.markSucceeded(i)
		}
	}
}

// CancelStage removes the task sets of a stage. With kill, their running tasks are
// returned to be killed, their status updates are then ignored, and the stage is
// forgotten. Without, the running tasks finish and report as usual.
func (s *TaskScheduler) CancelStage(stageID int, kill bool) []Kill {
	var kills []Kill
	for _, m := range s.sets {
		if m.stageID == stageID {
			m.zombie = true
		}
	}
	if kill {
		for tid, rt := range s.tasks {
			if rt.set.stageID == stageID && !rt.killed {
				rt.killed = true
				kills = append(kills, Kill{Executor: rt.exec.ID, TaskID: tid})
			}
		}
		slices.SortFunc(kills, func(a, b Kill) int { return int(a.TaskID - b.TaskID) })
		s.sets = slices.DeleteFunc(s.sets, func(m *taskSetManager) bool { return m.stageID == stageID })
		delete(s.launches, stageID)
	}
	s.removeFinished()
	return kills
}

func (s *TaskScheduler) removeFinished() {
	s.sets = slices.DeleteFunc(s.sets, func(m *taskSetManager) bool {
		if !m.finished() {
			return false
		}
		if m.excl != nil && m.numSucceeded == len(m.tasks) {
			// Failures count for the application only in sets that succeeded: a
			// set that failed may have failed for its code, not its executors.
			s.ready.Exclusions = append(s.ready.Exclusions, s.health.taskSetSucceeded(s.now, m.excl)...)
		}
		return true
	})
}

// nodeOfTask is the node a running task was placed on, as it was then.
func (s *TaskScheduler) nodeOfTask(rt *runningTask) string {
	if rt.exec.Node != "" {
		return rt.exec.Node
	}
	return rt.exec.Host
}

// NextWake is the earliest time the scheduler's decisions may change on their own
// (a task set's locality level widens, an exclusion ends, a task set no executor
// may run is aborted), so the caller can offer its slots again then; false when
// nothing waits for time.
func (s *TaskScheduler) NextWake() (time.Time, bool) {
	var at time.Time
	found := false
	next := func(t time.Time, ok bool) {
		if ok && (!found || t.Before(at)) {
			at, found = t, true
		}
	}
	for _, m := range s.sets {
		next(m.wakeAt())
		next(m.abortDeadline(s.exclusion.UnschedulableTimeout))
	}
	next(s.health.nextExpiry())
	return at, found
}

// Backlog counts the tasks waiting for a slot and those running, and per host the
// waiting tasks that prefer it: the ApplicationMaster asks for containers there.
// Running, finished and abandoned (zombie) tasks are not pending, and preferences
// for one executor do not count, since its host already has it. Slow tasks waiting
// for a copy are pending. Excluded are the nodes excluded for the application.
func (s *TaskScheduler) Backlog() Backlog {
	b := Backlog{Running: len(s.tasks), Hosts: map[string]int{}, Excluded: s.health.excludedNodes()}
	for _, m := range s.sets {
		if m.zombie {
			continue
		}
		for i := range m.speculatable {
			if !m.succeeded[i] && m.running[i] == 1 {
				b.Pending++
			}
		}
		for i, t := range m.tasks {
			if !m.launchable(i) {
				continue
			}
			b.Pending++
			for _, loc := range t.Preferred {
				if exec, host := parseLocation(loc); exec == "" {
					b.Hosts[host]++
				}
			}
		}
	}
	return b
}

// ExcludeService takes the executors whose outputs the shuffle service at addr
// serves out of every later offer, for their lives: what they would write there
// could not be read.
func (s *TaskScheduler) ExcludeService(addr string) {
	if s.excludedAddrs == nil {
		s.excludedAddrs = map[string]bool{}
	}
	s.excludedAddrs[addr] = true
}

// Pending reports whether any task set still has tasks to launch or running.
func (s *TaskScheduler) Pending() bool { return len(s.sets) > 0 }
