package allocator

import (
	"slices"
	"testing"
	"time"
)

// TestSchedulerExclusionBlacklist: nodes the scheduler excludes reach the RM's
// blacklist once, leave it when dropped or timed out, are sent again after a
// resync, and containers on them are released.
func TestSchedulerExclusionBlacklist(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type step struct {
		at       time.Duration
		set      map[string]time.Duration // node → exclusion end after t0; nil keeps the last
		resync   bool
		add, rem []string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"added once", []step{
			{at: 0, set: map[string]time.Duration{"n1:1": time.Hour}, add: []string{"n1:1"}},
			{at: time.Second},
			{at: 2 * time.Second, set: map[string]time.Duration{"n1:1": time.Hour}},
		}},
		{"dropped by the scheduler", []step{
			{at: 0, set: map[string]time.Duration{"n1:1": time.Hour, "n2:2": time.Hour}, add: []string{"n1:1", "n2:2"}},
			{at: time.Second, set: map[string]time.Duration{"n2:2": time.Hour}, rem: []string{"n1:1"}},
		}},
		{"timed out", []step{
			{at: 0, set: map[string]time.Duration{"n1:1": time.Minute}, add: []string{"n1:1"}},
			{at: 2 * time.Minute, rem: []string{"n1:1"}},
		}},
		{"added later", []step{
			{at: 0, set: map[string]time.Duration{}},
			{at: time.Second, set: map[string]time.Duration{"n1:1": time.Hour}, add: []string{"n1:1"}},
		}},
		{"sent again after a resync", []step{
			{at: 0, set: map[string]time.Duration{"n1:1": time.Hour}, add: []string{"n1:1"}},
			{at: time.Second, resync: true, add: []string{"n1:1"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(Config{ExecutorMemoryMB: 1024, ExecutorVcores: 1})
			for i, s := range tt.steps {
				if s.set != nil {
					nodes := map[string]time.Time{}
					for n, d := range s.set {
						nodes[n] = t0.Add(d)
					}
					a.SetExcludedNodes(nodes)
				}
				if s.resync {
					a.OnResync()
				}
				req := a.Heartbeat(t0.Add(s.at))
				if !slices.Equal(req.BlacklistAdd, s.add) || !slices.Equal(req.BlacklistRemove, s.rem) {
					t.Errorf("step %d: blacklist add %v remove %v, want add %v remove %v", i, req.BlacklistAdd, req.BlacklistRemove, s.add, s.rem)
				}
			}
		})
	}
}

// TestSchedulerExcludedNodeContainerReleased: a container granted on a node the
// scheduler excluded is given back, one on another node of the same host is used.
func TestSchedulerExcludedNodeContainerReleased(t *testing.T) {
	now := time.Unix(1000, 0)
	a := New(Config{ExecutorMemoryMB: 1024, ExecutorVcores: 1})
	a.SetTarget(2, nil)
	a.SetExcludedNodes(map[string]time.Time{"localhost:1": now.Add(time.Hour)})
	a.Heartbeat(now)
	acts := a.OnAllocated(now, []Container{
		{ID: "c1", NodeHost: "localhost", Node: "localhost:1", MemoryMB: 1024, Vcores: 1},
		{ID: "c2", NodeHost: "localhost", Node: "localhost:2", MemoryMB: 1024, Vcores: 1},
	})
	var got []string
	for _, act := range acts {
		switch act := act.(type) {
		case Release:
			got = append(got, "release "+act.ContainerID+": "+act.Reason)
		case Launch:
			got = append(got, "launch "+act.Container.ID)
		}
	}
	want := []string{"release c1: node excluded on failure", "launch c2"}
	if !slices.Equal(got, want) {
		t.Errorf("actions %q, want %q", got, want)
	}
}
