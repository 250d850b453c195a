package allocator

import (
	"cmp"
	"slices"
	"time"

	"github.com/spindle-engine/spindle/yarn"
)

// Request is what the next allocate call sends. Ask rows follow YARN's
// semantics: each row is the total still wanted at (priority, resource name,
// capability) and replaces the RM's row; only changed rows are listed.
type Request struct {
	// Asks are rows whose count rose: host rows (relaxLocality), their racks,
	// and ANY ("*").
	Asks []yarn.ResourceRequest
	// Cancels are rows whose count fell, to zero for hosts no longer wanted.
	Cancels []yarn.ResourceRequest
	// Cancelled is how many outstanding containers were withdrawn because
	// the target fell.
	Cancelled       int
	BlacklistAdd    []string
	BlacklistRemove []string
}

// Empty reports whether the request changes nothing at the RM.
func (r Request) Empty() bool {
	return len(r.Asks)+len(r.Cancels)+len(r.BlacklistAdd)+len(r.BlacklistRemove) == 0
}

// Heartbeat returns what the allocate call at now must send, and advances the
// heartbeat backoff.
func (a *Allocator) Heartbeat(now time.Time) Request {
	a.lastBeat = now
	var req Request
	for _, h := range a.newlyExcluded {
		a.excluded[h] = now.Add(a.cfg.ExclusionTimeout)
		req.BlacklistAdd = append(req.BlacklistAdd, h)
	}
	a.newlyExcluded = nil
	if a.resync {
		for h := range a.excluded {
			if !slices.Contains(req.BlacklistAdd, h) {
				req.BlacklistAdd = append(req.BlacklistAdd, h)
			}
		}
		slices.Sort(req.BlacklistAdd)
	}
	for h, until := range a.excluded {
		if !now.Before(until) {
			delete(a.excluded, h)
			req.BlacklistRemove = append(req.BlacklistRemove, h)
		}
	}
	slices.Sort(req.BlacklistRemove)
	a.schedBlacklist(now, &req)
	a.resync = false

	m := a.missing()
	req.Cancelled = max(0, a.sent[yarn.AnyHost]-m)
	want := a.table(m)
	names := make([]string, 0, len(want)+len(a.sent))
	for n := range want {
		names = append(names, n)
	}
	for n := range a.sent {
		if _, ok := want[n]; !ok {
			names = append(names, n)
		}
	}
	slices.SortFunc(names, byRowOrder)
	for _, n := range names {
		old, cnt := a.sent[n], want[n]
		if old == cnt {
			continue
		}
		row := yarn.ResourceRequest{Priority: a.cfg.Priority, ResourceName: n, Capability: a.capability(),
			NumContainers: int32(cnt), RelaxLocality: true}
		if n == yarn.AnyHost {
			row.NodeLabel = a.cfg.NodeLabel // YARN reads labels from the ANY row only
		}
		if cnt > old {
			req.Asks = append(req.Asks, row)
		} else {
			req.Cancels = append(req.Cancels, row)
		}
	}
	a.sent = want

	if m > 0 {
		if a.interval == 0 {
			a.interval = a.cfg.InitialInterval
		} else {
			a.interval = min(2*a.interval, a.cfg.HeartbeatInterval)
		}
	} else {
		a.interval = 0
	}
	return req
}

// byRowOrder lists hosts first, then racks, then ANY, each by name, so requests
// read the same every time.
func byRowOrder(x, y string) int {
	rank := func(n string) int {
		switch {
		case n == yarn.AnyHost:
			return 2
		case len(n) > 0 && n[0] == '/':
			return 1
		}
		return 0
	}
	return cmp.Or(cmp.Compare(rank(x), rank(y)), cmp.Compare(x, y))
}

// table is the ask table for m outstanding containers: host rows from the
// hints, in proportion to their pending tasks and at most one per task (as
// Spark's LocalityPreferredContainerPlacementStrategy), their racks, and ANY.
// Host rows are preferences: ANY relaxes them, so their sum may exceed m.
func (a *Allocator) table(m int) map[string]int {
	out := map[string]int{}
	if m == 0 {
		return out
	}
	out[yarn.AnyHost] = m
	total := 0
	for h, c := range a.hints {
		if c > 0 && !a.isExcluded(h) {
			total += c
		}
	}
	for h, c := range a.hints {
		// A host whose tasks all got containers has no count left to ask for.
		if c <= 0 || a.isExcluded(h) {
			continue
		}
		k := min(c, max(1, (m*c+total-1)/total))
		out[h] = k
		rack := a.rackOfHost(h)
		out[rack] = min(m, out[rack]+k)
	}
	return out
}

// NextHeartbeat is when the AM should call allocate next: while asks are
// pending, InitialInterval after the last heartbeat, doubling each time up to
// HeartbeatInterval; otherwise HeartbeatInterval. New asks (a higher target, a
// lost executor) restart the backoff.
func (a *Allocator) NextHeartbeat(now time.Time) time.Time {
	switch {
	case a.lastBeat.IsZero():
		return now
	case a.interval > 0:
		return a.lastBeat.Add(a.interval)
	case a.missing() > 0:
		return a.lastBeat.Add(a.cfg.InitialInterval)
	}
	return a.lastBeat.Add(a.cfg.HeartbeatInterval)
}

// exclude keeps the allocator from using host and has the next heartbeat ask
// the RM to exclude it.
func (a *Allocator) exclude(host string) {
	if a.isExcluded(host) {
		return
	}
	a.newlyExcluded = append(a.newlyExcluded, host)
}

// isExcluded reports whether containers on host must not be used. Exclusions
// keep the NodeManager's spelling, which the RM's blacklist needs; hints and
// containers are compared with them canonically.
func (a *Allocator) isExcluded(host string) bool {
	host = canonicalHost(host)
	same := func(h string) bool { return canonicalHost(h) == host }
	for h := range a.excluded {
		if same(h) {
			return true
		}
	}
	return slices.ContainsFunc(a.newlyExcluded, same)
}
