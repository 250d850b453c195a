// Package allocator is the ApplicationMaster's container allocator as a pure state
// machine, in the style of etcd's raft: it does no I/O and starts no goroutines; the
// AM loop feeds it the scheduler's executor target and the RM's allocate responses,
// with the time, and carries out what it returns.
//
//	target ─► asks (by host, from pending tasks' preferences, and ANY)
//	allocated ─► launch (up to the target) │ release (surplus)
//	launched ─► running ─► completed ─► classified exit ─► failures ≤ max, else Failed
package allocator

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Config sizes the executors and paces the heartbeat.
type Config struct {
	MaxExecutorFailures int           // failures counted against the app before it fails
	InitialInterval     time.Duration // first heartbeat while asks are pending (200 ms)
	HeartbeatInterval   time.Duration // heartbeat otherwise, and the backoff cap (3 s)
}

// Container is an allocated container as the RM describes it.
type Container struct {
	ID   string
	Host string
}

// Completed is a container that ended, with YARN's exit status.
type Completed struct {
	ContainerID string
	ExitStatus  int32
	Diagnostics string
}

// Request is what the next allocate call asks for: outstanding container counts by
// host (locality hints, relaxable) and in all (ANY), and containers to release.
// Counts replace the previous ones, as ResourceRequests do.
type Request struct {
	ByHost        map[string]int
	Any           int
	Release       []string
	BlacklistAdds []string
}

// Launch starts an executor in a container.
type Launch struct {
	Container  Container
	ExecutorID string
}

// ExitKind classifies a container's end.
type ExitKind int

// The kinds of exits, after Hadoop's ContainerExitStatus.
const (
	ExitSuccess ExitKind = iota
	ExitPreempted
	ExitMemoryExceeded
	ExitDisksFailed
	ExitKilledBySystem // by the AM, the RM, after app completion, or aborted
	ExitAppError
)

// YARN's ContainerExitStatus codes (org.apache.hadoop.yarn.api.records.ContainerExitStatus).
const (
	statusSuccess            = 0
	statusAborted            = -100
	statusDisksFailed        = -101
	statusPreempted          = -102
	statusExceededVmem       = -103
	statusExceededPmem       = -104
	statusKilledByAM         = -105
	statusKilledByRM         = -106
	statusKilledAfterAppDone = -107
)

// Exit is a classified container end.
type Exit struct {
	ContainerID, ExecutorID string
	Kind                    ExitKind
	CountsAsFailure         bool
	Message                 string
}

// Classify maps a YARN exit status to what it means for the application, as Spark's
// YarnAllocator does: only the application's own faults count toward failing it.
func Classify(c Completed) (ExitKind, bool, string) {
	switch c.ExitStatus {
	case statusSuccess:
		return ExitSuccess, false, "exited"
	case statusPreempted:
		return ExitPreempted, false, "preempted by YARN"
	case statusExceededVmem, statusExceededPmem:
		return ExitMemoryExceeded, true, "killed by YARN for exceeding its memory limit (raise spindle.executor.memoryOverhead): " + c.Diagnostics
	case statusDisksFailed:
		return ExitDisksFailed, false, "lost to failed disks on its node: " + c.Diagnostics
	case statusAborted, statusKilledByAM, statusKilledByRM, statusKilledAfterAppDone:
		return ExitKilledBySystem, false, "killed by YARN (exit status " + strconv.Itoa(int(c.ExitStatus)) + ")"
	default:
		return ExitAppError, true, fmt.Sprintf("failed with exit code %d: %s", c.ExitStatus, c.Diagnostics)
	}
}

// Allocator reconciles the executor target with the containers the RM gives.
type Allocator struct {
	cfg       Config
	target    int
	hints     map[string]int    // host → pending tasks preferring it
	starting  map[string]string // container → executor, launched, not yet registered
	running   map[string]string // container → executor, registered
	hosts     map[string]string // container → its node, for excluding failed nodes
	release   []string
	blacklist []string
	nextExec  int
	failures  int
	failed    string
	interval  time.Duration // current heartbeat backoff while asks are pending
	lastBeat  time.Time
}

// New returns an allocator with a target of zero executors.
func New(cfg Config) *Allocator {
	if cfg.InitialInterval <= 0 {
		cfg.InitialInterval = 200 * time.Millisecond
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 3 * time.Second
	}
	return &Allocator{cfg: cfg, starting: map[string]string{}, running: map[string]string{}, hosts: map[string]string{}}
}

// SetTarget sets how many executors the scheduler wants, with the hosts its pending
// tasks prefer (host → number of tasks).
func (a *Allocator) SetTarget(n int, hints map[string]int) {
	if n > a.target && a.missing() == 0 {
		a.interval = 0 // new asks: start the backoff again
	}
	a.target, a.hints = max(0, n), hints
}

// missing is how many more containers the target needs.
func (a *Allocator) missing() int {
	return max(0, a.target-len(a.starting)-len(a.running))
}

// Heartbeat returns the next allocate request.
func (a *Allocator) Heartbeat(now time.Time) Request {
	a.lastBeat = now
	m := a.missing()
	req := Request{Any: m, Release: a.release, BlacklistAdds: a.blacklist}
	a.release, a.blacklist = nil, nil
	if m > 0 {
		req.ByHost = hostAsks(m, a.hints)
		if a.interval == 0 {
			a.interval = a.cfg.InitialInterval
		} else {
			a.interval = min(2*a.interval, a.cfg.HeartbeatInterval)
		}
	} else {
		a.interval = 0
	}
	return req
}

// hostAsks spreads n asks over hosts in proportion to their pending tasks, as hints:
// each host gets at most as many as it has tasks, largest first.
func hostAsks(n int, hints map[string]int) map[string]int {
	total := 0
	for _, c := range hints {
		total += c
	}
	if total == 0 {
		return nil
	}
	hosts := make([]string, 0, len(hints))
	for h := range hints {
		hosts = append(hosts, h)
	}
	sort.Slice(hosts, func(i, j int) bool {
		if hints[hosts[i]] != hints[hosts[j]] {
			return hints[hosts[i]] > hints[hosts[j]]
		}
		return hosts[i] < hosts[j]
	})
	out := map[string]int{}
	for _, h := range hosts {
		k := min(hints[h], max(1, (n*hints[h]+total-1)/total))
		if k > 0 {
			out[h] = k
		}
	}
	return out
}

// NextHeartbeat is when the AM should call allocate next: soon and backing off
// (200 ms doubling to 3 s) while asks are pending, every 3 s otherwise.
func (a *Allocator) NextHeartbeat() time.Time {
	if a.interval == 0 {
		return a.lastBeat.Add(a.cfg.HeartbeatInterval)
	}
	return a.lastBeat.Add(a.interval)
}

// OnAllocated takes the RM's new containers: those the target needs are launched
// (hinted hosts first), the rest released.
func (a *Allocator) OnAllocated(cs []Container) []Launch {
	sort.SliceStable(cs, func(i, j int) bool { return a.hints[cs[i].Host] > a.hints[cs[j].Host] })
	var out []Launch
	for _, c := range cs {
		if a.missing() == 0 || a.failed != "" {
			a.release = append(a.release, c.ID)
			continue
		}
		a.nextExec++
		id := strconv.Itoa(a.nextExec)
		a.starting[c.ID] = id
		a.hosts[c.ID] = c.Host
		if a.hints[c.Host] > 0 {
			a.hints[c.Host]--
		}
		out = append(out, Launch{Container: c, ExecutorID: id})
	}
	return out
}

// OnRegistered marks a launched executor as running.
func (a *Allocator) OnRegistered(containerID string) {
	if id, ok := a.starting[containerID]; ok {
		delete(a.starting, containerID)
		a.running[containerID] = id
	}
}

// OnLaunchFailed forgets a container that could not be started; it counts as a
// failure and is released.
func (a *Allocator) OnLaunchFailed(containerID string, err error) Exit {
	id := a.starting[containerID]
	delete(a.starting, containerID)
	delete(a.hosts, containerID)
	a.release = append(a.release, containerID)
	return a.count(Exit{ContainerID: containerID, ExecutorID: id, Kind: ExitAppError, CountsAsFailure: true, Message: "launch failed: " + err.Error()})
}

// OnCompleted classifies ended containers; the executors they held are gone, so the
// target asks for replacements at the next heartbeat.
func (a *Allocator) OnCompleted(cs []Completed) []Exit {
	var out []Exit
	for _, c := range cs {
		id, ok := a.running[c.ContainerID]
		if ok {
			delete(a.running, c.ContainerID)
		} else if id, ok = a.starting[c.ContainerID]; ok {
			delete(a.starting, c.ContainerID)
		} else {
			continue // released surplus, or not ours
		}
		kind, counts, msg := Classify(c)
		if kind == ExitDisksFailed && a.hosts[c.ContainerID] != "" {
			// The node lost its disks: ask the RM for no more containers there.
			a.blacklist = append(a.blacklist, a.hosts[c.ContainerID])
		}
		delete(a.hosts, c.ContainerID)
		out = append(out, a.count(Exit{ContainerID: c.ContainerID, ExecutorID: id, Kind: kind, CountsAsFailure: counts, Message: msg}))
	}
	return out
}

func (a *Allocator) count(e Exit) Exit {
	if e.CountsAsFailure {
		a.failures++
		if a.failures > a.cfg.MaxExecutorFailures && a.failed == "" {
			a.failed = fmt.Sprintf("%d executor failures (spindle.executor.maxNumFailures=%d); last: executor %s %s",
				a.failures, a.cfg.MaxExecutorFailures, e.ExecutorID, e.Message)
		}
	}
	return e
}

// Failed reports why the application must fail, or "" while it may go on.
func (a *Allocator) Failed() string { return a.failed }

// Running is the number of registered executors.
func (a *Allocator) Running() int { return len(a.running) }
