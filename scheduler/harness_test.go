package scheduler

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// harness drives a DAGScheduler and a TaskScheduler the way the Driver does, with
// no goroutines and a fake clock, and records every decision they make as a line
// of text, so that tests compare decisions rather than internal state.
type harness struct {
	t       *testing.T
	dag     *DAGScheduler
	ts      *TaskScheduler
	now     time.Time
	log     []string
	running map[int64]Launch
	results map[int]map[int]string // job -> partition -> data
	ended   map[int]error          // job -> its end (nil on success)
	hosts   map[string]string      // executor -> host
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	opts = opts.withDefaults()
	h := &harness{
		t:       t,
		dag:     NewDAGScheduler(opts.ExternalShuffle, opts.MaxStageAttempts),
		ts:      NewTaskScheduler(opts.MaxFailures, opts.LocalityWait),
		now:     time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		running: map[int64]Launch{},
		results: map[int]map[int]string{},
		ended:   map[int]error{},
		hosts:   map[string]string{},
	}
	h.ts.SetExclusion(opts.Exclusion)
	h.ts.SetSpeculation(opts.Speculation)
	return h
}

func (h *harness) record(format string, args ...any) {
	h.log = append(h.log, fmt.Sprintf(format, args...))
}

// take returns the decisions recorded since the last call.
func (h *harness) take() []string {
	l := h.log
	h.log = nil
	return l
}

func (h *harness) addExecutor(id, host string) { h.addExecutorOn(id, host, "") }

// addExecutorOn adds an executor on host whose cluster manager names its node node.
func (h *harness) addExecutorOn(id, host, node string) {
	h.hosts[id] = host
	h.ts.AddExecutor(ExecutorInfo{ID: id, Host: host, Addr: host + ":7337", Slots: 1, Node: node})
}

// drain carries out and records what the task scheduler decided besides launches
// and events: kills, exclusions, the events of aborted task sets.
func (h *harness) drain() {
	r := h.ts.Ready()
	for _, k := range r.Kills {
		h.record("kill %s on %s", taskName(h.running[k.TaskID].Task), k.Executor)
	}
	for _, x := range r.Exclusions {
		h.record("%s", exclusionLine(x))
	}
	h.events(r.Events)
}

func exclusionLine(x Exclusion) string {
	what := "node " + x.Node
	if x.Executor != "" {
		what = "executor " + x.Executor + " (" + x.Node + ")"
	}
	scope := "application"
	if x.StageID >= 0 {
		scope = fmt.Sprintf("stage %d.%d", x.StageID, x.StageAttempt)
	}
	if x.Lifted {
		return fmt.Sprintf("include %s: %s", what, x.Reason)
	}
	until := ""
	if !x.Until.IsZero() {
		until = " until +" + x.Until.Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).String()
	}
	return fmt.Sprintf("exclude %s for %s%s: %s", what, scope, until, x.Reason)
}

func (h *harness) submit(job *JobSpec) int {
	id, acts := h.dag.Submit(job)
	h.apply(acts)
	return id
}

func (h *harness) apply(acts []Action) {
	for _, a := range acts {
		switch a := a.(type) {
		case SubmitTaskSet:
			h.ts.Submit(h.now, a)
			parts := make([]int, len(a.Tasks))
			for i, t := range a.Tasks {
				parts[i] = t.Partition
			}
			h.record("submit stage %d.%d %v", a.Stage.ID, a.Attempt, parts)
		case CancelStage:
			kills := h.ts.CancelStage(a.StageID, a.Kill)
			if a.Kill {
				h.record("kill stage %d %v", a.StageID, kills)
			} else {
				h.record("cancel stage %d", a.StageID)
			}
		case StageCompleted:
			if a.Err != nil {
				h.record("stage %d.%d failed", a.Stage.ID, a.Attempt)
			} else {
				h.record("stage %d.%d done", a.Stage.ID, a.Attempt)
			}
		case DeliverResult:
			if h.results[a.JobID] == nil {
				h.results[a.JobID] = map[int]string{}
			}
			if _, dup := h.results[a.JobID][a.Partition]; dup {
				h.t.Errorf("job %d partition %d delivered twice", a.JobID, a.Partition)
			}
			h.results[a.JobID][a.Partition] = string(a.Data)
			h.record("result %d.%d", a.JobID, a.Partition)
		case ExcludeService:
			h.ts.ExcludeService(a.Addr)
			h.record("exclude service %s", a.Addr)
		case JobSucceeded:
			h.ended[a.JobID] = nil
			h.record("job %d succeeded", a.JobID)
		case JobFailed:
			h.ended[a.JobID] = a.Err
			h.record("job %d failed", a.JobID)
		default:
			h.t.Fatalf("unknown action %T", a)
		}
	}
}

func (h *harness) events(evs []Event) {
	for _, ev := range evs {
		h.apply(h.dag.HandleEvent(ev))
	}
}

// offer offers one slot on each executor named, at the harness's clock, and
// records the launches.
func (h *harness) offer(execs ...string) []Launch {
	offers := make([]Offer, len(execs))
	for i, e := range execs {
		offers[i] = Offer{Executor: e, Free: 1}
	}
	ls := h.ts.ResourceOffers(h.now, offers)
	for _, l := range ls {
		h.running[l.Task.ID] = l
		spec := ""
		if l.Speculative {
			spec = " speculative"
		}
		h.record("launch %s on %s %s%s", taskName(l.Task), l.Executor, l.Locality, spec)
	}
	h.drain()
	return ls
}

func taskName(t *Task) string {
	return fmt.Sprintf("%d.%d/p%d#%d", t.StageID, t.StageAttempt, t.Partition, t.Attempt)
}

// succeed ends a running task well; map tasks write one byte per reduce partition,
// result tasks return their partition's name.
func (h *harness) succeed(id int64) {
	h.t.Helper()
	l, ok := h.running[id]
	if !ok {
		h.t.Fatalf("task %d is not running", id)
	}
	res := &TaskResult{Data: []byte(fmt.Sprintf("p%d", l.Task.Partition))}
	if l.Task.ShuffleID >= 0 {
		res = &TaskResult{Sizes: []int64{1, 1, 1, 1}}
	}
	h.events(h.ts.StatusUpdateAt(h.now, id, res, nil))
	h.drain()
	delete(h.running, id)
}

func (h *harness) fail(id int64, err error) {
	h.t.Helper()
	if _, ok := h.running[id]; !ok {
		h.t.Fatalf("task %d is not running", id)
	}
	h.events(h.ts.StatusUpdateAt(h.now, id, nil, err))
	h.drain()
	delete(h.running, id)
}

func (h *harness) loseExecutor(id string) {
	for tid, l := range h.running {
		if l.Executor == id {
			delete(h.running, tid)
		}
	}
	_, evs := h.ts.ExecutorLost(id)
	h.record("lost %s", id)
	h.events(evs)
	h.drain()
}

// runAll offers the executors and finishes every launched task until nothing is
// left to run; it fails the test if that does not converge.
func (h *harness) runAll(execs ...string) {
	h.t.Helper()
	for range 1000 {
		h.offer(execs...)
		if len(h.running) == 0 {
			return
		}
		ids := make([]int64, 0, len(h.running))
		for id := range h.running {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			h.succeed(id)
		}
	}
	h.t.Fatal("tasks never ran out")
}

// launched finds the running task of a stage partition.
func (h *harness) launched(stage, partition int) int64 {
	h.t.Helper()
	for id, l := range h.running {
		if l.Task.StageID == stage && l.Task.Partition == partition {
			return id
		}
	}
	h.t.Fatalf("stage %d partition %d is not running", stage, partition)
	return 0
}

func wantLog(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("decisions:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// stages builds a StageSpec list; each entry is "id:shuffle:tasks:parent,parent".
func stages(specs ...string) []StageSpec {
	out := make([]StageSpec, len(specs))
	for i, s := range specs {
		var id, shuffle, n int
		var parents string
		f := strings.SplitN(s, ":", 4)
		fmt.Sscan(f[0], &id)
		fmt.Sscan(f[1], &shuffle)
		fmt.Sscan(f[2], &n)
		if len(f) == 4 {
			parents = f[3]
		}
		st := StageSpec{ID: id, Name: fmt.Sprintf("Op%d at x.go:%d", id, id), NumTasks: n, ShuffleID: shuffle}
		for _, p := range strings.Split(parents, ",") {
			var pid int
			if _, err := fmt.Sscan(p, &pid); err == nil {
				st.Parents = append(st.Parents, pid)
			}
		}
		out[i] = st
	}
	return out
}
