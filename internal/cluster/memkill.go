package cluster

import (
	"fmt"
	"strings"

	"github.com/spindle-engine/spindle/am"
	"github.com/spindle-engine/spindle/am/allocator"
	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/executor"
	"github.com/spindle-engine/spindle/yarn"
)

// MemoryKillError is an executor YARN killed for its memory: what a user needs to
// act on it, which Spark's users on YARN most often ask for and never get in one
// place. It is the executor's loss reason (so its tasks' failures carry it) and
// part of a failed application's diagnostics.
type MemoryKillError struct {
	Executor, Container, Host string
	// Virtual is true for YARN's virtual-memory check (exit -103), false for the
	// physical one (-104).
	Virtual bool
	// ContainerBytes is the container's size: executor memory plus overhead.
	ContainerBytes, ExecutorBytes, OverheadBytes int64
	// HeapBytes and RSSBytes are the executor's last heartbeat's, zero if it never
	// sent one.
	HeapBytes, RSSBytes int64
	Running             []executor.TaskRef
	// YARN is the NodeManager's own diagnostics.
	YARN string
}

func (e *MemoryKillError) Error() string {
	var b strings.Builder
	limit := "physical"
	if e.Virtual {
		limit = "virtual"
	}
	fmt.Fprintf(&b, "executor %s (container %s", e.Executor, e.Container)
	if e.Host != "" {
		fmt.Fprintf(&b, " on %s", e.Host)
	}
	fmt.Fprintf(&b, ") was killed by YARN for exceeding its %s memory limit; its container has %s (spindle.executor.memory %s + spindle.executor.memoryOverhead %s)",
		limit, mib(e.ContainerBytes), mib(e.ExecutorBytes), mib(e.OverheadBytes))
	if e.RSSBytes > 0 || e.HeapBytes > 0 {
		fmt.Fprintf(&b, "; last reported heap %s, RSS %s", mib(e.HeapBytes), mib(e.RSSBytes))
	}
	if len(e.Running) > 0 {
		refs := make([]string, len(e.Running))
		for i, t := range e.Running {
			refs[i] = fmt.Sprintf("stage %d partition %d (attempt %d)", t.Stage, t.Partition, t.Attempt)
		}
		fmt.Fprintf(&b, "; it was running %s", strings.Join(refs, ", "))
	}
	switch {
	case e.Virtual:
		b.WriteString("; raise spindle.executor.memoryOverhead (the virtual limit is yarn.nodemanager.vmem-pmem-ratio × the container), or ask the cluster's administrators about yarn.nodemanager.vmem-check-enabled")
	case e.HeapBytes > e.ExecutorBytes*9/10:
		b.WriteString("; the heap had reached spindle.executor.memory: raise spindle.executor.memory, or use more partitions so each task holds less")
	default:
		b.WriteString("; memory outside the heap outgrew the overhead: raise spindle.executor.memoryOverhead")
	}
	if e.YARN != "" {
		b.WriteString(". YARN said: ")
		b.WriteString(firstLine(e.YARN))
	}
	return b.String()
}

// memoryKill builds the diagnostics of an exit YARN caused for memory from the
// executor's last state on the driver; nil for any other exit.
func memoryKill(e am.ExecutorExit, st executor.State, known bool, c *conf.Conf) *MemoryKillError {
	if e.Kind != allocator.ExitMemoryExceeded {
		return nil
	}
	m := c.Memory()
	k := &MemoryKillError{Executor: e.ExecutorID, Container: e.ContainerID, Virtual: e.Status == yarn.ExitKilledExceededVMem,
		ExecutorBytes: m.ExecutorMemory, OverheadBytes: m.Overhead, ContainerBytes: m.ExecutorMemory + m.Overhead, YARN: e.Diagnostics}
	if known {
		k.Host, k.HeapBytes, k.RSSBytes, k.Running = st.Host, st.Heartbeat.HeapBytes, st.Heartbeat.RSSBytes, st.Running
	}
	return k
}

func mib(b int64) string { return fmt.Sprintf("%d MiB", b>>20) }

// firstLine is YARN's diagnostics up to the process-tree dump it appends.
func firstLine(s string) string {
	if i := strings.Index(s, "Dump of the process-tree"); i > 0 {
		s = s[:i]
	}
	return strings.TrimSpace(strings.ReplaceAll(s, "\n", " "))
}
