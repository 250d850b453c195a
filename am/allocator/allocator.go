// Package allocator is the ApplicationMaster's container allocator as a pure
// state machine, in the style of etcd's raft: it does no I/O, starts no
// goroutines and reads no clock. The AM loop feeds it the scheduler's executor
// target, the RM's node reports and allocate responses and the NodeManagers'
// answers, with the time, and carries out the Request and Actions it returns.
// See README.md.
package allocator

import (
	"strconv"
	"time"

	"github.com/spindle-engine/spindle/yarn"
)

// Config sizes the executors' containers and paces the heartbeat.
type Config struct {
	ExecutorMemoryMB int64 // container memory, overhead included
	ExecutorVcores   int32
	Priority         int32
	// MaxExecutorFailures is how many executor failures the app survives
	// (spindle.executor.maxNumFailures); the next one fails it.
	MaxExecutorFailures int
	InitialInterval     time.Duration // first heartbeat while asks are pending; 200 ms if zero
	HeartbeatInterval   time.Duration // idle heartbeat and backoff cap; 3 s if zero
	// ExclusionTimeout is how long a node stays excluded after its disks failed;
	// 1 h if zero.
	ExclusionTimeout time.Duration
	NodeLabel        string // YARN node label expression for the asks, if any
}

// Container is a container the RM allocated.
type Container struct {
	ID       string
	NodeHost string
	// Node is the RM scheduler's name of the container's node (see
	// SetExcludedNodes); "" when unknown.
	Node     string
	NodeRack string // "" when unknown: the allocator then uses what OnNodes told it
	MemoryMB int64
	Vcores   int32
}

// executor is a container the allocator launched an executor in.
type executor struct {
	id, host string
}

// Allocator reconciles the executor target with pending asks and starting and
// running containers. Its zero value is not usable; call New.
type Allocator struct {
	cfg           Config
	target        int
	hints         map[string]int       // canonical host → pending tasks preferring it
	racks         map[string]string    // canonical host → rack, from OnNodes and allocated containers
	starting      map[string]executor  // container → executor launched, not registered
	running       map[string]executor  // container → registered executor
	sent          map[string]int       // ask rows last sent: resource name → count
	excluded      map[string]time.Time // node → end of its exclusion
	newlyExcluded []string             // excluded since the last heartbeat
	resync        bool                 // the RM lost its table: send everything again
	// The nodes the scheduler excluded (exclusion.go): node → end of exclusion,
	// changes for the next heartbeat, and those the RM was told of.
	schedExcluded map[string]time.Time
	schedAdd      []string
	schedRemove   []string
	schedSent     map[string]bool
	nextExec      int
	failures      int
	failed        string
	interval      time.Duration // backoff while asks are pending; 0 when none are
	lastBeat      time.Time
}

// New returns an allocator with a target of zero executors.
func New(cfg Config) *Allocator {
	if cfg.InitialInterval <= 0 {
		cfg.InitialInterval = 200 * time.Millisecond
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 3 * time.Second
	}
	if cfg.ExclusionTimeout <= 0 {
		cfg.ExclusionTimeout = time.Hour
	}
	return &Allocator{
		cfg:      cfg,
		hints:    map[string]int{},
		racks:    map[string]string{},
		starting: map[string]executor{},
		running:  map[string]executor{},
		sent:     map[string]int{},
		excluded: map[string]time.Time{},
	}
}

// SetTarget sets how many executors the scheduler wants, and the hosts its
// pending tasks prefer (host → number of tasks, from HDFS block locations).
// The allocator keeps its own copy of hints.
func (a *Allocator) SetTarget(n int, hints map[string]int) {
	a.target = max(0, n)
	a.hints = make(map[string]int, len(hints))
	for h, c := range hints {
		if c > 0 {
			// Canonical, so that containers' and node reports' names find them.
			a.hints[canonicalHost(h)] += c
		}
	}
}

// missing is how many containers the target still needs.
func (a *Allocator) missing() int {
	if a.failed != "" {
		return 0
	}
	return max(0, a.target-len(a.starting)-len(a.running))
}

// OnExecutorRegistered marks the executor in a launched container as running.
func (a *Allocator) OnExecutorRegistered(containerID string) {
	if e, ok := a.starting[containerID]; ok {
		delete(a.starting, containerID)
		a.running[containerID] = e
	}
}

// forget drops a container the allocator launched, reporting its executor.
func (a *Allocator) forget(containerID string) (executor, bool) {
	if e, ok := a.starting[containerID]; ok {
		delete(a.starting, containerID)
		return e, true
	}
	e, ok := a.running[containerID]
	delete(a.running, containerID)
	return e, ok
}

// launch assigns the next executor ID, never reused, to a container.
func (a *Allocator) launch(c Container) Launch {
	a.nextExec++
	id := strconv.Itoa(a.nextExec)
	a.starting[c.ID] = executor{id: id, host: c.NodeHost}
	return Launch{Container: c, ExecutorID: id}
}

// Failed reports why the application must fail, or "" while it may go on.
func (a *Allocator) Failed() string { return a.failed }

// Running is the number of registered executors.
func (a *Allocator) Running() int { return len(a.running) }

// Starting is the number of launched executors not yet registered.
func (a *Allocator) Starting() int { return len(a.starting) }

func (a *Allocator) capability() yarn.Resource {
	return yarn.Resource{MemoryMB: a.cfg.ExecutorMemoryMB, VCores: a.cfg.ExecutorVcores}
}

// ReleaseIdle gives back executors above the target. idle lists the containers
// of registered executors that run no tasks, as the scheduler sees them (the
// allocator cannot know); as many as exceed the target are released and
// forgotten, so their completion is not counted.
func (a *Allocator) ReleaseIdle(idle []string) []Action {
	var out []Action
	for _, id := range idle {
		if len(a.starting)+len(a.running) <= a.target {
			break
		}
		if _, ok := a.running[id]; !ok {
			continue
		}
		delete(a.running, id)
		out = append(out, Release{ContainerID: id, Reason: "idle above target"})
	}
	return out
}

// OnResync is called when the RM lost this AM's state (an allocate response with
// Resynced): its ask table and exclusions are empty, so the next Heartbeat sends
// every row and every excluded node again.
func (a *Allocator) OnResync() {
	a.sent = map[string]int{}
	a.resync = true
}
