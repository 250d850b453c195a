package cluster

import (
	"strings"
	"testing"

	"github.com/spindle-engine/spindle/am"
	"github.com/spindle-engine/spindle/am/allocator"
	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/executor"
	"github.com/spindle-engine/spindle/yarn"
)

func TestMemoryKillDiagnostics(t *testing.T) {
	c := conf.New()
	if err := c.Set("spindle.executor.memory", "512m"); err != nil {
		t.Fatal(err)
	}
	state := executor.State{ID: "3", Host: "node-a:8041", Heartbeat: executor.Heartbeat{HeapBytes: 200 << 20, RSSBytes: 890 << 20},
		Running: []executor.TaskRef{{ID: 9, Stage: 2, Partition: 5, Attempt: 0}}}
	yarnDiag := "Container [pid=77,containerID=c_03] is running 1MB beyond the 'PHYSICAL' memory limit. Current usage: 1025 MB of 1024 MB physical memory used.\nDump of the process-tree for c_03 :\n|- 77 ..."
	_, _, physMsg := allocator.Classify(yarn.ExitKilledExceededPMem, yarnDiag)
	_, _, virtMsg := allocator.Classify(yarn.ExitKilledExceededVMem, "is running beyond the 'VIRTUAL' memory limit")
	tests := []struct {
		name  string
		exit  am.ExecutorExit
		st    executor.State
		known bool
		want  []string
		not   []string
	}{
		{"physical, off-heap", am.ExecutorExit{ExecutorID: "3", ContainerID: "c_03", Kind: allocator.ExitMemoryExceeded, Status: yarn.ExitKilledExceededPMem, Message: physMsg, Diagnostics: yarnDiag}, state, true,
			[]string{"executor 3", "c_03", "node-a:8041", "physical memory limit", "1024 MiB (spindle.executor.memory 512 MiB + spindle.executor.memoryOverhead 512 MiB)",
				"heap 200 MiB, RSS 890 MiB", "stage 2 partition 5 (attempt 0)", "raise spindle.executor.memoryOverhead", "1025 MB of 1024 MB"},
			[]string{"Dump of the process-tree", "virtual"}},
		{"physical, heap at its limit", am.ExecutorExit{ExecutorID: "3", ContainerID: "c_03", Kind: allocator.ExitMemoryExceeded, Status: yarn.ExitKilledExceededPMem, Message: physMsg, Diagnostics: yarnDiag},
			executor.State{Host: "node-a:8041", Heartbeat: executor.Heartbeat{HeapBytes: 500 << 20, RSSBytes: 880 << 20}}, true,
			[]string{"raise spindle.executor.memory,", "more partitions"}, nil},
		{"virtual", am.ExecutorExit{ExecutorID: "4", ContainerID: "c_04", Kind: allocator.ExitMemoryExceeded, Status: yarn.ExitKilledExceededVMem, Message: virtMsg, Diagnostics: "is running beyond the 'VIRTUAL' memory limit"}, state, true,
			[]string{"virtual memory limit", "vmem-pmem-ratio", "raise spindle.executor.memoryOverhead"}, nil},
		{"never heartbeated", am.ExecutorExit{ExecutorID: "5", ContainerID: "c_05", Kind: allocator.ExitMemoryExceeded, Status: yarn.ExitKilledExceededPMem, Message: physMsg, Diagnostics: yarnDiag}, executor.State{}, false,
			[]string{"executor 5 (container c_05)", "physical"}, []string{"last reported", "it was running"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := memoryKill(tt.exit, tt.st, tt.known, c)
			if k == nil {
				t.Fatal("no diagnostics for a memory kill")
			}
			msg := k.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("diagnostics lack %q:\n%s", w, msg)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(msg, w) {
					t.Errorf("diagnostics hold %q:\n%s", w, msg)
				}
			}
		})
	}
	if k := memoryKill(am.ExecutorExit{Kind: allocator.ExitAppError, Status: 1}, state, true, c); k != nil {
		t.Errorf("an ordinary exit got memory diagnostics: %v", k)
	}
}
