package allocator

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/spindle-engine/spindle/yarn"
)

// Locality levels a container can satisfy, best first.
const (
	nodeLocal = iota
	rackLocal
	offSwitch
)

// OnAllocated takes the containers an allocate response brought. Those the
// target still needs are launched, preferred hosts first, then their racks, then
// any host; the rest (surplus, too small, or on an excluded node) are released.
func (a *Allocator) OnAllocated(now time.Time, cs []Container) []Action {
	type cand struct {
		c     Container
		level int
	}
	cands := make([]cand, 0, len(cs))
	for _, c := range cs {
		if c.NodeRack != "" {
			a.racks[canonicalHost(c.NodeHost)] = c.NodeRack
		}
		cands = append(cands, cand{c, a.level(c)})
		a.consumeAsk(c)
	}
	slices.SortStableFunc(cands, func(x, y cand) int { return cmp.Compare(x.level, y.level) })

	var out []Action
	for _, k := range cands {
		c := k.c
		if reason := a.unusable(now, c); reason != "" {
			out = append(out, Release{ContainerID: c.ID, Reason: reason})
			continue
		}
		if k.level == nodeLocal {
			h := canonicalHost(c.NodeHost)
			if a.hints[h]--; a.hints[h] <= 0 {
				delete(a.hints, h)
			}
		}
		out = append(out, a.launch(c))
	}
	return out
}

// unusable says why a container must be released, or "" to launch in it.
func (a *Allocator) unusable(now time.Time, c Container) string {
	switch {
	case a.failed != "":
		return "application failed"
	case a.missing() == 0:
		return "surplus"
	case c.MemoryMB < a.cfg.ExecutorMemoryMB:
		// Vcores are not compared: a scheduler with the DefaultResourceCalculator (the
		// CapacityScheduler's default) reports one vcore for every container whatever
		// was asked, and Spark matches on memory alone for that reason.
		return fmt.Sprintf("too small (%d MB)", c.MemoryMB)
	case a.isExcluded(c.NodeHost) && now.Before(a.excludedUntil(c.NodeHost)):
		return "node excluded"
	case a.schedExcludes(now, c):
		return "node excluded on failure"
	}
	return ""
}

// excludedUntil is when host's exclusion ends; for a node excluded since the
// last heartbeat that time is not yet set, so it is open-ended.
func (a *Allocator) excludedUntil(host string) time.Time {
	host = canonicalHost(host)
	for h, t := range a.excluded {
		if canonicalHost(h) == host {
			return t
		}
	}
	return time.Unix(1<<62, 0)
}

// level is the best locality c offers the pending tasks.
func (a *Allocator) level(c Container) int {
	if a.hints[canonicalHost(c.NodeHost)] > 0 {
		return nodeLocal
	}
	// Only a known rack counts: on a cluster without topology every node is in
	// DefaultRack, and "rack-local" would mean nothing.
	rack := a.rackOf(c)
	for h, n := range a.hints {
		if n > 0 && a.racks[h] != "" && a.racks[h] == rack {
			return rackLocal
		}
	}
	return offSwitch
}

func (a *Allocator) rackOf(c Container) string {
	return cmp.Or(c.NodeRack, a.rackOfHost(c.NodeHost))
}

// consumeAsk lowers the rows last sent as the RM does when it allocates c
// (node-local: node, rack and ANY; rack-local: rack and ANY; else ANY), so the
// next heartbeat's changes are measured against the RM's table.
func (a *Allocator) consumeAsk(c Container) {
	dec := func(name string) {
		if a.sent[name] > 0 {
			a.sent[name]--
		}
	}
	rack, host := a.rackOf(c), canonicalHost(c.NodeHost)
	switch {
	case a.sent[host] > 0:
		dec(host)
		dec(rack)
	case a.sent[rack] > 0:
		dec(rack)
	}
	dec(yarn.AnyHost)
}
