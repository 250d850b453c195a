package engine

import (
	"testing"
	"time"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/scheduler"
)

// TestRecoveryConfig: the exclusion and speculation keys, by Spindle's names and
// Spark's, reach the scheduler's options; unset keys give Spark's defaults.
func TestRecoveryConfig(t *testing.T) {
	tests := []struct {
		name string
		set  map[string]string
		excl scheduler.ExclusionConfig
		spec scheduler.SpeculationConfig
	}{
		{"defaults", nil,
			scheduler.ExclusionConfig{MaxTaskAttemptsPerExecutor: 1, MaxTaskAttemptsPerNode: 2, StageMaxFailedTasksPerExecutor: 2,
				StageMaxFailedExecutorsPerNode: 2, AppMaxFailedTasksPerExecutor: 2, AppMaxFailedExecutorsPerNode: 2,
				Timeout: time.Hour, UnschedulableTimeout: 120 * time.Second},
			scheduler.SpeculationConfig{Interval: 100 * time.Millisecond, Quantile: 0.75, Multiplier: 1.5, MinTaskRuntime: 100 * time.Millisecond}},
		{"spark names", map[string]string{
			"spark.excludeOnFailure.enabled": "true", "spark.excludeOnFailure.timeout": "10m",
			"spark.excludeOnFailure.application.maxFailedExecutorsPerNode": "1",
			"spark.scheduler.excludeOnFailure.unschedulableTaskSetTimeout": "30s",
			"spark.speculation": "true", "spark.speculation.multiplier": "3", "spark.speculation.quantile": "0.5",
		},
			scheduler.ExclusionConfig{Enabled: true, MaxTaskAttemptsPerExecutor: 1, MaxTaskAttemptsPerNode: 2, StageMaxFailedTasksPerExecutor: 2,
				StageMaxFailedExecutorsPerNode: 2, AppMaxFailedTasksPerExecutor: 2, AppMaxFailedExecutorsPerNode: 1,
				Timeout: 10 * time.Minute, UnschedulableTimeout: 30 * time.Second},
			scheduler.SpeculationConfig{Enabled: true, Interval: 100 * time.Millisecond, Quantile: 0.5, Multiplier: 3, MinTaskRuntime: 100 * time.Millisecond}},
		{"spindle names", map[string]string{
			"spindle.excludeOnFailure.enabled": "true", "spindle.excludeOnFailure.task.maxTaskAttemptsPerNode": "3",
			"spindle.speculation": "true", "spindle.speculation.interval": "1s", "spindle.speculation.minTaskRuntime": "5s",
		},
			scheduler.ExclusionConfig{Enabled: true, MaxTaskAttemptsPerExecutor: 1, MaxTaskAttemptsPerNode: 3, StageMaxFailedTasksPerExecutor: 2,
				StageMaxFailedExecutorsPerNode: 2, AppMaxFailedTasksPerExecutor: 2, AppMaxFailedExecutorsPerNode: 2,
				Timeout: time.Hour, UnschedulableTimeout: 120 * time.Second},
			scheduler.SpeculationConfig{Enabled: true, Interval: time.Second, Quantile: 0.75, Multiplier: 1.5, MinTaskRuntime: 5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := conf.New()
			for k, v := range tt.set {
				if err := c.Set(k, v); err != nil {
					t.Fatal(err)
				}
			}
			if got := exclusionConfig(c); got != tt.excl {
				t.Errorf("exclusion %+v, want %+v", got, tt.excl)
			}
			if got := speculationConfig(c); got != tt.spec {
				t.Errorf("speculation %+v, want %+v", got, tt.spec)
			}
		})
	}
}
