package scheduler

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// Driver runs jobs on a backend. One goroutine, started by NewDriver and ended by
// Close, owns the DAG and task schedulers and is fed by the backend's events and
// by RunJob; the state machines themselves take no locks.
type Driver struct {
	backend  Backend
	opts     Options
	listener Listener
	recovery RecoveryListener // the listener, when it hears of exclusions and copies

	events  chan BackendEvent
	submit  chan *jobRun
	cancel  chan cancelReq
	quit    chan struct{}
	stopped chan struct{}
	once    sync.Once
	stopErr error // set by the loop before stopped is closed

	// Owned by the loop goroutine.
	dag       *DAGScheduler
	ts        *TaskScheduler
	executors map[string]*executorSlots
	execIDs   []string // sorted, so offers come in a stable order
	jobs      map[int]*jobRun
	commits   commitCoordinator
	wake      *time.Timer
	// The backlog was last counted at backlogAt; backlogDirty says it may have
	// changed since; backlogWake fires when the next count may run.
	backlog      Backlog
	backlogDirty bool
	backlogAt    time.Time
	backlogWake  *time.Timer
	// specWake fires when running tasks are next checked for slow ones, while
	// specArmed says it is set.
	specWake  *time.Timer
	specArmed bool
}

type executorSlots struct {
	info ExecutorInfo
	busy int
}

type jobRun struct {
	spec      *JobSpec
	onResult  func(partition int, data []byte) error
	resultErr error      // the first onResult error; later results are dropped
	done      chan error // buffered: the loop never waits for RunJob
}

type cancelReq struct {
	run *jobRun
	err error
}

// NewDriver starts a Driver on b; l may be nil. Close releases it.
func NewDriver(b Backend, opts Options, l Listener) *Driver {
	if l == nil {
		l = nopListener{}
	}
	opts = opts.withDefaults()
	d := &Driver{
		backend: b, opts: opts, listener: l,
		events:    make(chan BackendEvent, 64),
		submit:    make(chan *jobRun),
		cancel:    make(chan cancelReq),
		quit:      make(chan struct{}),
		stopped:   make(chan struct{}),
		dag:       NewDAGScheduler(opts.ExternalShuffle, opts.MaxStageAttempts),
		ts:        NewTaskScheduler(opts.MaxFailures, opts.LocalityWait),
		executors: map[string]*executorSlots{},
		jobs:      map[int]*jobRun{},
		backlog:   Backlog{Hosts: map[string]int{}},
	}
	d.recovery, _ = l.(RecoveryListener)
	d.ts.SetExclusion(opts.Exclusion)
	d.ts.SetSpeculation(opts.Speculation)
	go d.loop()
	return d
}

// RunJob runs a job and blocks until it ends. onResult is called once per result
// partition, from the Driver's goroutine, so it must not call the Driver; an error
// from it fails the job. A task that failed for good fails the job with a
// *TaskFailedError. When ctx ends, the job's tasks are killed and RunJob returns
// ctx.Err().
func (d *Driver) RunJob(ctx context.Context, job *JobSpec, onResult func(partition int, data []byte) error) error {
	run := &jobRun{spec: job, onResult: onResult, done: make(chan error, 1)}
	select {
	case d.submit <- run:
	case <-d.stopped:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-run.done:
		return err
	case <-ctx.Done():
	}
	select {
	case d.cancel <- cancelReq{run: run, err: ctx.Err()}:
	case <-d.stopped:
	}
	// The job ends with ctx.Err() unless it ended on its own first.
	return <-run.done
}

// Close fails the running jobs with ErrClosed, stops the backend and waits for it.
func (d *Driver) Close() error {
	d.once.Do(func() { close(d.quit) })
	<-d.stopped
	return d.stopErr
}

func (d *Driver) loop() {
	defer close(d.stopped)
	ctx, stopBackend := context.WithCancel(context.Background())
	defer stopBackend()
	if err := d.backend.Start(ctx, d.events); err != nil {
		d.refuse(fmt.Errorf("start backend: %w", err))
		return
	}
	d.wake = time.NewTimer(time.Hour)
	d.wake.Stop()
	defer d.wake.Stop()
	d.backlogWake = time.NewTimer(time.Hour)
	d.backlogWake.Stop()
	defer d.backlogWake.Stop()
	d.specWake = time.NewTimer(time.Hour)
	d.specWake.Stop()
	defer d.specWake.Stop()
	for {
		select {
		case ev := <-d.events:
			d.backendEvent(ev)
		case run := <-d.submit:
			d.startJob(run)
		case c := <-d.cancel:
			d.cancelJob(c)
		case <-d.wake.C:
		case <-d.specWake.C:
			d.specArmed = false
			d.ts.CheckSpeculatable(time.Now())
		case <-d.backlogWake.C:
		case <-d.quit:
			d.shutdown(ctx, stopBackend)
			return
		}
		d.backlogDirty = true
		d.schedule()
		d.publishBacklog()
	}
}

// publishBacklog hands the backlog to Options.Backlog when it changed, no more
// often than BacklogInterval.
func (d *Driver) publishBacklog() {
	if d.opts.Backlog == nil || !d.backlogDirty {
		return
	}
	now := time.Now()
	if wait := d.opts.BacklogInterval - now.Sub(d.backlogAt); !d.backlogAt.IsZero() && wait > 0 {
		d.backlogWake.Reset(wait)
		return
	}
	d.backlogDirty, d.backlogAt = false, now
	b := d.ts.Backlog()
	if b.Pending == d.backlog.Pending && b.Running == d.backlog.Running && maps.Equal(b.Hosts, d.backlog.Hosts) &&
		maps.EqualFunc(b.Excluded, d.backlog.Excluded, time.Time.Equal) {
		return
	}
	d.backlog = b
	d.opts.Backlog(Backlog{Pending: b.Pending, Running: b.Running, Hosts: maps.Clone(b.Hosts), Excluded: maps.Clone(b.Excluded)})
}

// refuse fails every job until Close, for a Driver whose backend did not start.
func (d *Driver) refuse(err error) {
	for {
		select {
		case run := <-d.submit:
			run.done <- err
		case <-d.cancel:
			// The job was refused on submit; RunJob has that answer already.
		case <-d.quit:
			d.stopErr = err
			return
		}
	}
}

func (d *Driver) shutdown(ctx context.Context, stopBackend context.CancelFunc) {
	ids := make([]int, 0, len(d.jobs))
	for id := range d.jobs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		d.apply(d.dag.Cancel(id, ErrClosed))
	}
	stopBackend()
	if err := d.backend.Stop(context.WithoutCancel(ctx)); err != nil {
		d.stopErr = fmt.Errorf("stop backend: %w", err)
	}
}

func (d *Driver) startJob(run *jobRun) {
	d.listener.JobStarted(run.spec)
	id, acts := d.dag.Submit(run.spec)
	d.jobs[id] = run
	d.apply(acts)
}

func (d *Driver) cancelJob(c cancelReq) {
	for id, run := range d.jobs {
		if run == c.run {
			d.apply(d.dag.Cancel(id, c.err))
			return
		}
	}
}

func (d *Driver) backendEvent(ev BackendEvent) {
	switch ev := ev.(type) {
	case ExecutorAdded:
		e := ev.Executor
		if _, ok := d.executors[e.ID]; ok {
			return
		}
		if e.Node == "" && d.opts.NodeOf != nil {
			e.Node = d.opts.NodeOf(e.ID)
		}
		d.executors[e.ID] = &executorSlots{info: e}
		i, _ := slices.BinarySearch(d.execIDs, e.ID)
		d.execIDs = slices.Insert(d.execIDs, i, e.ID)
		d.ts.AddExecutor(e)
	case ExecutorRemoved:
		if _, ok := d.executors[ev.ID]; !ok {
			return
		}
		delete(d.executors, ev.ID)
		if i, ok := slices.BinarySearch(d.execIDs, ev.ID); ok {
			d.execIDs = slices.Delete(d.execIDs, i, i+1)
		}
		lost, events := d.ts.ExecutorLost(ev.ID)
		for _, t := range lost {
			d.commits.ended(t.StageID, t.Partition, t.ID, false)
			d.listener.TaskEnded(t, ev.ID, nil, fmt.Errorf("%w: %s: %v", ErrExecutorLost, ev.ID, ev.Reason))
		}
		d.dagEvents(events)
	case TaskStatus:
		d.taskEnded(ev)
	case CommitAsked:
		// Only a live, unkilled attempt on the executor asking may commit.
		t, ok := d.ts.RunningOn(ev.TaskID, ev.Executor)
		ev.Answer(ok && d.commits.ask(t.StageID, t.Partition, t.ID))
	}
}

func (d *Driver) taskEnded(st TaskStatus) {
	if e := d.executors[st.Executor]; e != nil && e.busy > 0 {
		e.busy--
	}
	t, killed, ok := d.ts.Task(st.TaskID)
	if !ok {
		return // its executor was lost; it was re-queued then
	}
	d.commits.ended(t.StageID, t.Partition, t.ID, st.Err == nil)
	err := st.Err
	switch cause := d.ts.killCause(st.TaskID); {
	case killed && cause != nil:
		// Whatever the loser of a speculated task reports, it was killed for cause.
		err = fmt.Errorf("%w: %w", ErrTaskKilled, cause)
		if st.Err != nil {
			err = fmt.Errorf("%w: %w: %w", ErrTaskKilled, cause, st.Err)
		}
	case killed && err != nil:
		err = fmt.Errorf("%w: %w", ErrTaskKilled, err)
	}
	d.listener.TaskEnded(t, st.Executor, st.Result, err)
	d.dagEvents(d.ts.StatusUpdateAt(time.Now(), st.TaskID, st.Result, st.Err))
}

func (d *Driver) dagEvents(events []Event) {
	for _, ev := range events {
		d.apply(d.dag.HandleEvent(ev))
	}
}

// apply carries out the DAG scheduler's actions in order.
func (d *Driver) apply(acts []Action) {
	for len(acts) > 0 {
		a := acts[0]
		acts = acts[1:]
		switch a := a.(type) {
		case SubmitTaskSet:
			d.ts.Submit(time.Now(), a)
			d.listener.StageSubmitted(a.Stage, a.Attempt, len(a.Tasks))
		case CancelStage:
			for _, k := range d.ts.CancelStage(a.StageID, a.Kill) {
				// A kill that cannot be delivered is moot: the task's end, or its
				// executor's loss, still reaches the loop.
				_ = d.backend.Kill(k.Executor, k.TaskID)
			}
		case StageCompleted:
			d.listener.StageCompleted(a.Stage, a.Attempt, a.Err)
		case ExcludeService:
			d.ts.ExcludeService(a.Addr)
		case DeliverResult:
			run := d.jobs[a.JobID]
			if run == nil || run.resultErr != nil {
				break
			}
			if err := run.onResult(a.Partition, a.Data); err != nil {
				run.resultErr = fmt.Errorf("job %q: result partition %d: %w", run.spec.Name, a.Partition, err)
				acts = append(acts, d.dag.Cancel(a.JobID, run.resultErr)...)
			}
		case JobSucceeded:
			d.endJob(a.JobID, nil)
		case JobFailed:
			d.endJob(a.JobID, a.Err)
		}
	}
}

func (d *Driver) endJob(id int, err error) {
	run := d.jobs[id]
	if run == nil {
		return
	}
	delete(d.jobs, id)
	d.commits.forget(run.spec.Stages)
	if err == nil {
		err = run.resultErr
	}
	d.listener.JobEnded(run.spec, err)
	run.done <- err
}

// schedule offers the free slots to the task scheduler and launches what it
// places, carries out its other decisions, then arms the timers for the next
// deadline and speculation check.
func (d *Driver) schedule() {
	for {
		progressed := d.drainReady()
		launched := false
		if d.ts.Pending() {
			launched = d.offer()
		}
		if !d.drainReady() && !progressed && !launched {
			break
		}
	}
	d.wake.Stop()
	if at, ok := d.ts.NextWake(); ok {
		d.wake.Reset(max(0, time.Until(at)))
	}
	if d.opts.Speculation.Enabled && !d.specArmed && d.ts.Pending() {
		d.specWake.Reset(d.opts.Speculation.Interval)
		d.specArmed = true
	}
}

// offer makes one round of offers and launches what the task scheduler places; it
// reports whether anything was.
func (d *Driver) offer() bool {
	now := time.Now()
	offers := make([]Offer, 0, len(d.execIDs))
	for _, id := range d.execIDs {
		e := d.executors[id]
		offers = append(offers, Offer{Executor: id, Free: e.info.Slots - e.busy})
	}
	launches := d.ts.ResourceOffers(now, offers)
	for _, l := range launches {
		d.executors[l.Executor].busy++
		d.listener.TaskStarted(l.Task, l.Executor)
		if l.Speculative && d.recovery != nil {
			d.recovery.SpeculativeTaskLaunched(l.Task, l.Executor)
		}
		if err := d.backend.Launch(l.Executor, l.Task); err != nil {
			d.taskEnded(TaskStatus{TaskID: l.Task.ID, Executor: l.Executor,
				Err: fmt.Errorf("launch task %d on executor %s: %w", l.Task.ID, l.Executor, err)})
		}
	}
	return len(launches) > 0
}

// drainReady carries out what the task scheduler decided besides launches: it
// kills the losing copies of speculated tasks, tells the listener of exclusions and
// hands the DAG scheduler its events. It reports whether there were events, which
// may have submitted or ended task sets.
func (d *Driver) drainReady() bool {
	r := d.ts.Ready()
	for _, k := range r.Kills {
		// As for a cancelled stage's kills, one not delivered is moot: the task's
		// end, or its executor's loss, still reaches the loop, and is ignored.
		_ = d.backend.Kill(k.Executor, k.TaskID)
	}
	if d.recovery != nil {
		for _, x := range r.Exclusions {
			switch {
			case x.Lifted:
				d.recovery.ExclusionLifted(x)
			case x.Executor != "":
				d.recovery.ExecutorExcluded(x)
			default:
				d.recovery.NodeExcluded(x)
			}
		}
	}
	d.dagEvents(r.Events)
	return len(r.Events) > 0
}

type nopListener struct{}

func (nopListener) JobStarted(*JobSpec)                         {}
func (nopListener) StageSubmitted(*StageSpec, int, int)         {}
func (nopListener) TaskStarted(*Task, string)                   {}
func (nopListener) TaskEnded(*Task, string, *TaskResult, error) {}
func (nopListener) StageCompleted(*StageSpec, int, error)       {}
func (nopListener) JobEnded(*JobSpec, error)                    {}
