package engine

import (
	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/scheduler"
)

// exclusionConfig is exclusion on failure as spindle.excludeOnFailure.* set it.
func exclusionConfig(c *conf.Conf) scheduler.ExclusionConfig {
	return scheduler.ExclusionConfig{
		Enabled:                        c.Bool("spindle.excludeOnFailure.enabled"),
		MaxTaskAttemptsPerExecutor:     c.Int("spindle.excludeOnFailure.task.maxTaskAttemptsPerExecutor"),
		MaxTaskAttemptsPerNode:         c.Int("spindle.excludeOnFailure.task.maxTaskAttemptsPerNode"),
		StageMaxFailedTasksPerExecutor: c.Int("spindle.excludeOnFailure.stage.maxFailedTasksPerExecutor"),
		StageMaxFailedExecutorsPerNode: c.Int("spindle.excludeOnFailure.stage.maxFailedExecutorsPerNode"),
		AppMaxFailedTasksPerExecutor:   c.Int("spindle.excludeOnFailure.application.maxFailedTasksPerExecutor"),
		AppMaxFailedExecutorsPerNode:   c.Int("spindle.excludeOnFailure.application.maxFailedExecutorsPerNode"),
		Timeout:                        c.Duration("spindle.excludeOnFailure.timeout"),
		UnschedulableTimeout:           c.Duration("spindle.excludeOnFailure.unschedulableTaskSetTimeout"),
	}
}

// speculationConfig is speculative execution as spindle.speculation.* set it.
func speculationConfig(c *conf.Conf) scheduler.SpeculationConfig {
	return scheduler.SpeculationConfig{
		Enabled:        c.Bool("spindle.speculation"),
		Interval:       c.Duration("spindle.speculation.interval"),
		Quantile:       c.Float("spindle.speculation.quantile"),
		Multiplier:     c.Float("spindle.speculation.multiplier"),
		MinTaskRuntime: c.Duration("spindle.speculation.minTaskRuntime"),
	}
}

// nodeNamer is a cluster that names the node an executor runs on as its cluster
// manager does (YARN's scheduler node name), which exclusion counts by.
type nodeNamer interface {
	NodeOf(executorID string) string
}

// recoveryLog logs how the scheduler got past failing executors and slow tasks:
// exclusions at warn level (a user should hear of a bad node), copies at info.
type recoveryLog struct {
	log zerolog.Logger
}

// The Listener methods: the metrics and the UI report those events already.
func (recoveryLog) JobStarted(*scheduler.JobSpec)                                   {}
func (recoveryLog) StageSubmitted(*scheduler.StageSpec, int, int)                   {}
func (recoveryLog) TaskStarted(*scheduler.Task, string)                             {}
func (recoveryLog) TaskEnded(*scheduler.Task, string, *scheduler.TaskResult, error) {}
func (recoveryLog) StageCompleted(*scheduler.StageSpec, int, error)                 {}
func (recoveryLog) JobEnded(*scheduler.JobSpec, error)                              {}

func (r recoveryLog) SpeculativeTaskLaunched(t *scheduler.Task, executor string) {
	r.log.Info().Int("stage", t.StageID).Int("partition", t.Partition).Int64("task", t.ID).
		Str("executor", executor).Msg("speculative copy of a slow task launched")
}

func (r recoveryLog) ExecutorExcluded(x scheduler.Exclusion) {
	r.exclusion(x, "executor excluded on failure")
}

func (r recoveryLog) NodeExcluded(x scheduler.Exclusion) { r.exclusion(x, "node excluded on failure") }

func (r recoveryLog) ExclusionLifted(x scheduler.Exclusion) {
	r.log.Info().Str("executor", x.Executor).Str("node", x.Node).Msg("exclusion on failure lifted")
}

func (r recoveryLog) exclusion(x scheduler.Exclusion, msg string) {
	ev := r.log.Warn().Str("executor", x.Executor).Str("node", x.Node).Int("failures", x.Failures).Str("reason", x.Reason)
	if x.StageID >= 0 {
		ev = ev.Int("stage", x.StageID).Int("stageAttempt", x.StageAttempt)
	} else {
		ev = ev.Time("until", x.Until).Str("scope", "application")
	}
	ev.Msg(msg)
}
