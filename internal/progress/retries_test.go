package progress

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spindle-engine/spindle/scheduler"
)

func TestSummarySaysWhatWasRetried(t *testing.T) {
	task := &scheduler.Task{StageID: 1}
	tests := []struct {
		name string
		do   func(m *Metrics)
		want string // "" : no retry line at all
	}{
		{"nothing retried", func(m *Metrics) {
			m.StageSubmitted(&scheduler.StageSpec{ID: 1}, 0, 1)
			m.TaskEnded(task, "1", nil, nil)
		}, ""},
		{"lost executor and recomputed map output", func(m *Metrics) {
			m.StageSubmitted(&scheduler.StageSpec{ID: 1}, 0, 2)
			m.TaskEnded(task, "1", nil, fmt.Errorf("%w: 1: container gone", scheduler.ErrExecutorLost))
			m.TaskEnded(task, "2", nil, &scheduler.FetchFailedError{ShuffleID: 0, MapPartition: 3, Err: errors.New("corrupt")})
			m.StageSubmitted(&scheduler.StageSpec{ID: 0}, 1, 1)
		}, "retried: 1 task attempts after lost executors, 1 task attempts after shuffle fetch failures, 1 stage attempts (recomputed map output)"},
		{"task errors, speculation, exclusion", func(m *Metrics) {
			m.TaskEnded(task, "1", nil, errors.New("user code panicked"))
			m.SpeculativeTaskLaunched(task, "2")
			m.TaskEnded(task, "2", nil, fmt.Errorf("%w: the other copy won", scheduler.ErrTaskKilled))
			m.ExecutorExcluded(scheduler.Exclusion{Executor: "3", Node: "n1", StageID: 1, Failures: 2}) // a stage's: not the app's
			m.NodeExcluded(scheduler.Exclusion{Node: "n1", StageID: -1, StageAttempt: -1, Failures: 2})
			m.ExclusionLifted(scheduler.Exclusion{Node: "n1", StageID: -1, Lifted: true})
		}, "retried: 1 task attempts after task errors, 1 speculative copies of slow tasks, 1 attempts killed (no longer needed); excluded nodes n1 (2 failures)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics(nil)
			tt.do(m)
			got := m.Summary(0).String()
			line := ""
			for l := range strings.SplitSeq(got, "\n") {
				if strings.HasPrefix(l, "retried:") {
					line = l
				}
			}
			if line != tt.want {
				t.Errorf("retry line %q, want %q; summary:\n%s", line, tt.want, got)
			}
		})
	}
}
