package deploy

import (
	"fmt"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/yarn"
)

const mib = 1 << 20

// ContainerMemoryMB is the container memory for a process of memBytes: the memory
// plus overhead, which is the explicit size overhead or else conf.DefaultOverhead.
func ContainerMemoryMB(memBytes int64, overhead string) int64 {
	extra := conf.DefaultOverhead(memBytes)
	if overhead != "" {
		// The value was validated when it was set; an unparsable one keeps the default.
		if n, err := conf.ParseSize(overhead); err == nil {
			extra = n
		}
	}
	return (memBytes + extra + mib - 1) / mib
}

// ResourceError is a container the cluster cannot allocate: the request is larger
// than the scheduler's maximum allocation.
type ResourceError struct {
	Container string        // "executor" or "ApplicationMaster"
	Need, Max yarn.Resource // the request and the cluster's maximum
	Detail    string        // how Need was computed
	Fix       string        // the flags and keys that change it
	// Configured is yarn.scheduler.maximum-allocation-mb where the submitter's
	// configuration sets it: the RM's maximum can be lower, bounded by its largest node.
	Configured string
}

func (e *ResourceError) Error() string {
	limit := "yarn.scheduler.maximum-allocation-mb and -vcores"
	if e.Configured != "" && e.Configured != fmt.Sprint(e.Max.MemoryMB) {
		limit = fmt.Sprintf("yarn.scheduler.maximum-allocation-mb is %s MB, bounded by the largest NodeManager", e.Configured)
	}
	return fmt.Sprintf("%s container needs %d MB and %d vcores (%s), above the cluster's maximum of %d MB and %d vcores (%s): lower %s",
		e.Container, e.Need.MemoryMB, e.Need.VCores, e.Detail, e.Max.MemoryMB, e.Max.VCores, limit, e.Fix)
}

// containerSizes are the AM's and an executor's container requests.
type containerSizes struct {
	am, executor             yarn.Resource
	amDetail, executorDetail string
	amFix, executorFix       string
}

func sizes(spec *Spec) containerSizes {
	c := spec.Conf
	var s containerSizes
	exMem := c.Size("spindle.executor.memory")
	s.executor = yarn.Resource{
		MemoryMB: ContainerMemoryMB(exMem, c.Get("spindle.executor.memoryOverhead")),
		VCores:   int32(c.Int("spindle.executor.cores")),
	}
	s.executorDetail = fmt.Sprintf("spindle.executor.memory %s + overhead, %d cores", c.Get("spindle.executor.memory"), c.Int("spindle.executor.cores"))
	s.executorFix = "--executor-memory (spindle.executor.memory), spindle.executor.memoryOverhead or --executor-cores (spindle.executor.cores)"
	if spec.Mode == ModeClient {
		s.am = yarn.Resource{
			MemoryMB: ContainerMemoryMB(c.Size("spindle.yarn.am.memory"), ""),
			VCores:   int32(c.Int("spindle.yarn.am.cores")),
		}
		s.amDetail = fmt.Sprintf("spindle.yarn.am.memory %s + overhead, %d cores", c.Get("spindle.yarn.am.memory"), c.Int("spindle.yarn.am.cores"))
		s.amFix = "spindle.yarn.am.memory or spindle.yarn.am.cores"
		return s
	}
	s.am = yarn.Resource{
		MemoryMB: ContainerMemoryMB(c.Size("spindle.driver.memory"), ""),
		VCores:   int32(c.Int("spindle.driver.cores")),
	}
	s.amDetail = fmt.Sprintf("spindle.driver.memory %s + overhead, %d cores", c.Get("spindle.driver.memory"), c.Int("spindle.driver.cores"))
	s.amFix = "--driver-memory (spindle.driver.memory) or --driver-cores (spindle.driver.cores)"
	return s
}

// CheckResources checks the AM's and the executors' container sizes against the
// cluster's maximum allocation, before anything is staged or submitted. The error is
// a *ResourceError naming both sizes and what to change.
func CheckResources(spec *Spec, max yarn.Resource) error {
	s := sizes(spec)
	if !s.executor.Fits(max) {
		return &ResourceError{Container: "executor", Need: s.executor, Max: max, Detail: s.executorDetail, Fix: s.executorFix}
	}
	if !s.am.Fits(max) {
		return &ResourceError{Container: "ApplicationMaster", Need: s.am, Max: max, Detail: s.amDetail, Fix: s.amFix}
	}
	return nil
}
