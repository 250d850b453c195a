package scheduler

import "fmt"

func (d *DAGScheduler) taskSucceeded(ev TaskSucceeded, acts *[]Action) {
	t := ev.Task
	s := d.stages[t.StageID]
	if s == nil {
		return // its job has ended
	}
	if s.spec.ShuffleID >= 0 {
		if !d.lostExecutors[ev.Status.Executor] {
			d.outputs.add(s.spec.ShuffleID, t.Partition, ev.Status)
		}
	} else if j := s.job; !j.done[t.Partition] {
		j.done[t.Partition] = true
		j.numDone++
		var data []byte
		if ev.Result != nil {
			data = ev.Result.Data
		}
		*acts = append(*acts, DeliverResult{JobID: j.id, Partition: t.Partition, Data: data})
	}
	if s.state != stageRunning {
		return
	}
	delete(s.pending, t.Partition)
	if len(s.pending) > 0 {
		return
	}
	*acts = append(*acts, StageCompleted{Stage: s.spec, Attempt: s.attempt})
	if s == s.job.result {
		s.state = stageDone
		d.finishJob(s.job, acts)
		return
	}
	if !d.shuffleComplete(s) {
		// Outputs of this stage were lost while it ran; run what is missing again.
		s.state = stageIdle
		d.submitStage(s, acts)
		return
	}
	s.state = stageDone
	d.submitWaiting(acts)
}

// fetchFailed drops the lost map output, ends the reading stage's attempt, and
// resubmits the parent stage for its missing partitions; the reading stage follows
// once the parent is complete again.
func (d *DAGScheduler) fetchFailed(ev FetchFailed, acts *[]Action) {
	t, ff := ev.Task, ev.Err
	s := d.stages[t.StageID]
	if s == nil {
		return
	}
	if s.state != stageRunning || s.attempt != t.StageAttempt {
		// That attempt already failed; its resubmission reads fresh outputs, and a
		// lost one shows up there as another fetch failure. Dropping the output
		// here could drop one recomputed since (Spark ignores such failures too).
		return
	}
	if d.externalShuffle && ff.Unreachable && ff.Addr != "" {
		// The node's shuffle service is gone: every output it serves is lost, and
		// executors writing there must not run map tasks, as Spark unregisters a
		// host's outputs and excludes it on a fetch failure.
		d.outputs.removeAddr(ff.Addr)
		*acts = append(*acts, ExcludeService{Addr: ff.Addr})
	} else {
		d.outputs.remove(ff.ShuffleID, ff.MapPartition, ff.Executor)
	}
	s.failedAttempts++
	*acts = append(*acts,
		StageCompleted{Stage: s.spec, Attempt: s.attempt, Err: ff},
		CancelStage{StageID: s.spec.ID})
	s.state = stageIdle
	if s.failedAttempts >= d.maxStageAttempts {
		d.failJob(s.job, &StageAttemptsError{
			Job: s.job.spec.Name, StageID: s.spec.ID, StageName: s.spec.Name,
			Attempts: s.failedAttempts, Err: ff,
		}, acts)
		return
	}
	var parent *stage
	for _, p := range s.parents {
		if p.spec.ShuffleID == ff.ShuffleID {
			parent = p
		}
	}
	if parent == nil {
		d.failJob(s.job, fmt.Errorf("job %q: stage %d read shuffle %d, which none of its parents writes: %w",
			s.job.spec.Name, s.spec.ID, ff.ShuffleID, ff), acts)
		return
	}
	d.submitStage(s, acts)
}

// finishJob ends a job whose every result partition was delivered.
func (d *DAGScheduler) finishJob(j *job, acts *[]Action) {
	d.endJob(j, acts)
	*acts = append(*acts, JobSucceeded{JobID: j.id})
}

// failJob ends a job with err, closing its running stages and killing its tasks.
func (d *DAGScheduler) failJob(j *job, err error, acts *[]Action) {
	for _, s := range j.stages {
		if s.state == stageRunning {
			*acts = append(*acts, StageCompleted{Stage: s.spec, Attempt: s.attempt, Err: err})
		}
	}
	d.endJob(j, acts)
	*acts = append(*acts, JobFailed{JobID: j.id, Err: err})
}

// endJob forgets a job's stages. Superseded attempts may still have tasks running;
// they are killed. Map outputs stay for later jobs.
func (d *DAGScheduler) endJob(j *job, acts *[]Action) {
	for _, s := range j.stages {
		if s.attempt >= 0 {
			*acts = append(*acts, CancelStage{StageID: s.spec.ID, Kill: true})
		}
		delete(d.stages, s.spec.ID)
	}
	delete(d.jobs, j.id)
}
