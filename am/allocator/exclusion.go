package allocator

import (
	"maps"
	"slices"
	"time"
)

// Nodes the driver's scheduler excluded on failure (spindle.excludeOnFailure.*) are
// sent to the RM as blacklist additions, as Spark's YarnAllocatorNodeHealthTracker
// does, so that no new containers land there, and removed from the blacklist when
// their exclusion ends. Their names are the RM scheduler's node names (the host, or
// host:port with yarn.scheduler.include-port-in-node-name), which Container.Node
// carries; they are kept apart from the nodes the allocator excludes itself (a lost
// shuffle service), whose ends it sets.

// SetExcludedNodes replaces the nodes excluded by the scheduler: node → the end of
// its exclusion. Nodes new to the set are blacklisted at the next heartbeat, nodes
// gone from it (or whose end passed) are taken off the blacklist.
func (a *Allocator) SetExcludedNodes(nodes map[string]time.Time) {
	if a.schedExcluded == nil {
		a.schedExcluded = map[string]time.Time{}
	}
	for n, until := range nodes {
		if _, ok := a.schedExcluded[n]; !ok {
			a.schedAdd = append(a.schedAdd, n)
		}
		a.schedExcluded[n] = until
	}
	for n := range a.schedExcluded {
		if _, ok := nodes[n]; !ok {
			delete(a.schedExcluded, n)
			a.schedAdd = slices.DeleteFunc(a.schedAdd, func(x string) bool { return x == n })
			if a.schedSent[n] {
				a.schedRemove = append(a.schedRemove, n)
			}
		}
	}
}

// ExcludedNodes are the nodes the scheduler excluded that the allocator knows of,
// sorted.
func (a *Allocator) ExcludedNodes() []string { return slices.Sorted(maps.Keys(a.schedExcluded)) }

// schedBlacklist adds the scheduler's blacklist changes to req at now.
func (a *Allocator) schedBlacklist(now time.Time, req *Request) {
	if a.schedSent == nil {
		a.schedSent = map[string]bool{}
	}
	for n, until := range a.schedExcluded {
		if !now.Before(until) {
			delete(a.schedExcluded, n)
			if a.schedSent[n] {
				a.schedRemove = append(a.schedRemove, n)
			}
		}
	}
	add := a.schedAdd
	if a.resync {
		// The RM lost the application's table, blacklist included.
		add = append(add, slices.Collect(maps.Keys(a.schedSent))...)
	}
	for _, n := range add {
		if _, ok := a.schedExcluded[n]; ok && !slices.Contains(req.BlacklistAdd, n) {
			req.BlacklistAdd = append(req.BlacklistAdd, n)
			a.schedSent[n] = true
		}
	}
	for _, n := range a.schedRemove {
		if _, again := a.schedExcluded[n]; !again && a.schedSent[n] && !slices.Contains(req.BlacklistRemove, n) {
			req.BlacklistRemove = append(req.BlacklistRemove, n)
			delete(a.schedSent, n)
		}
	}
	a.schedAdd, a.schedRemove = nil, nil
	slices.Sort(req.BlacklistAdd)
	slices.Sort(req.BlacklistRemove)
}

// schedExcludes reports whether the scheduler excluded the node c runs on.
func (a *Allocator) schedExcludes(now time.Time, c Container) bool {
	if c.Node == "" {
		return false
	}
	until, ok := a.schedExcluded[c.Node]
	return ok && now.Before(until)
}
