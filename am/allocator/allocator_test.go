package allocator

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func cfg() Config {
	return Config{MaxExecutorFailures: 3, InitialInterval: 200 * time.Millisecond, HeartbeatInterval: 3 * time.Second}
}

// step records one decision as a line, so scenarios read as transcripts.
func launches(ls []Launch) string {
	var s []string
	for _, l := range ls {
		s = append(s, l.Container.ID+"@"+l.Container.Host+"→"+l.ExecutorID)
	}
	return strings.Join(s, " ")
}

func TestAsksLaunchesAndSurplus(t *testing.T) {
	a := New(cfg())
	a.SetTarget(3, map[string]int{"h1": 4, "h2": 2})
	req := a.Heartbeat(t0)
	if req.Any != 3 || !maps.Equal(req.ByHost, map[string]int{"h1": 2, "h2": 1}) {
		t.Fatalf("first request = %+v; want 3 ANY with hints h1:2 h2:1", req)
	}
	// Four containers for three executors: the hinted hosts go first, the surplus
	// is released at the next heartbeat.
	got := launches(a.OnAllocated([]Container{{"c1", "h3"}, {"c2", "h1"}, {"c3", "h2"}, {"c4", "h1"}}))
	if got != "c2@h1→1 c4@h1→2 c3@h2→3" {
		t.Fatalf("launches = %s", got)
	}
	req = a.Heartbeat(t0.Add(time.Second))
	if req.Any != 0 || !slices.Equal(req.Release, []string{"c1"}) {
		t.Fatalf("after allocation: %+v; want nothing asked and c1 released", req)
	}
	for _, c := range []string{"c2", "c3", "c4"} {
		a.OnRegistered(c)
	}
	if a.Running() != 3 {
		t.Fatalf("running = %d", a.Running())
	}
	// Lowering the target stops asking; containers arriving late are released.
	a.SetTarget(2, nil)
	if l := a.OnAllocated([]Container{{"c5", "h1"}}); len(l) != 0 {
		t.Fatalf("launched %v above the target", l)
	}
	if req := a.Heartbeat(t0.Add(2 * time.Second)); !slices.Equal(req.Release, []string{"c5"}) || req.Any != 0 {
		t.Fatalf("request = %+v", req)
	}
}

func TestExitClassification(t *testing.T) {
	tests := []struct {
		status int32
		kind   ExitKind
		counts bool
	}{
		{0, ExitSuccess, false},
		{-102, ExitPreempted, false},
		{-103, ExitMemoryExceeded, true},
		{-104, ExitMemoryExceeded, true},
		{-101, ExitDisksFailed, false},
		{-100, ExitKilledBySystem, false},
		{-105, ExitKilledBySystem, false},
		{-106, ExitKilledBySystem, false},
		{-107, ExitKilledBySystem, false},
		{1, ExitAppError, true},
		{137, ExitAppError, true},
	}
	for _, tt := range tests {
		kind, counts, msg := Classify(Completed{ExitStatus: tt.status, Diagnostics: "d"})
		if kind != tt.kind || counts != tt.counts || msg == "" {
			t.Errorf("status %d: %v %v %q; want %v %v", tt.status, kind, counts, msg, tt.kind, tt.counts)
		}
	}
	if _, _, msg := Classify(Completed{ExitStatus: -104}); !strings.Contains(msg, "spindle.executor.memoryOverhead") {
		t.Errorf("memory kill message %q does not say what to raise", msg)
	}
}

func TestFailuresFailTheApp(t *testing.T) {
	a := New(cfg())
	a.SetTarget(1, nil)
	for i := 1; i <= 5; i++ {
		a.Heartbeat(t0)
		ls := a.OnAllocated([]Container{{fmt.Sprint("c", i), "h"}})
		if a.Failed() != "" {
			if len(ls) != 0 {
				t.Fatal("launched after the app failed")
			}
			break
		}
		a.OnRegistered(ls[0].Container.ID)
		// Preemption does not count; an app error does.
		a.OnCompleted([]Completed{{ContainerID: ls[0].Container.ID, ExitStatus: -102}})
		a.Heartbeat(t0)
		ls = a.OnAllocated([]Container{{fmt.Sprint("d", i), "h"}})
		exits := a.OnCompleted([]Completed{{ContainerID: ls[0].Container.ID, ExitStatus: 1, Diagnostics: "boom"}})
		if len(exits) != 1 || !exits[0].CountsAsFailure {
			t.Fatalf("exits = %+v", exits)
		}
		if i <= 3 && a.Failed() != "" {
			t.Fatalf("failed after %d failures with max 3", i)
		}
	}
	if !strings.Contains(a.Failed(), "4 executor failures") || !strings.Contains(a.Failed(), "boom") {
		t.Fatalf("Failed() = %q", a.Failed())
	}
	if e := a.OnLaunchFailed("x", errors.New("no")); !e.CountsAsFailure {
		t.Fatal("a failed launch does not count")
	}
}

func TestLostExecutorIsReplacedWithNewID(t *testing.T) {
	a := New(cfg())
	a.SetTarget(2, nil)
	a.Heartbeat(t0)
	ls := a.OnAllocated([]Container{{"c1", "h"}, {"c2", "h"}})
	a.OnRegistered("c1")
	a.OnRegistered("c2")
	a.OnCompleted([]Completed{{ContainerID: "c1", ExitStatus: -100}})
	if req := a.Heartbeat(t0); req.Any != 1 {
		t.Fatalf("after losing an executor the allocator asks for %d", req.Any)
	}
	ls = append(ls, a.OnAllocated([]Container{{"c3", "h"}})...)
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.ExecutorID)
	}
	if !slices.Equal(ids, []string{"1", "2", "3"}) {
		t.Fatalf("executor ids = %v; ids are never reused", ids)
	}
	// A released or unknown container's completion is ignored.
	if exits := a.OnCompleted([]Completed{{ContainerID: "zzz", ExitStatus: 1}}); len(exits) != 0 {
		t.Fatalf("exits for an unknown container: %v", exits)
	}
}

func TestHeartbeatBackoff(t *testing.T) {
	a := New(cfg())
	a.SetTarget(2, nil)
	now := t0
	var got []time.Duration
	for range 6 {
		a.Heartbeat(now)
		next := a.NextHeartbeat()
		got = append(got, next.Sub(now))
		now = next
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 3 * time.Second, 3 * time.Second}
	if !slices.Equal(got, want) {
		t.Fatalf("intervals while asks are pending = %v, want %v", got, want)
	}
	// Nothing pending: every 3 s.
	a.OnAllocated([]Container{{"c1", "h"}, {"c2", "h"}})
	a.Heartbeat(now)
	if d := a.NextHeartbeat().Sub(now); d != 3*time.Second {
		t.Fatalf("idle interval = %v", d)
	}
	// New asks start the backoff again.
	a.SetTarget(4, nil)
	a.Heartbeat(now)
	if d := a.NextHeartbeat().Sub(now); d != 200*time.Millisecond {
		t.Fatalf("interval after new asks = %v", d)
	}
}

func TestDiskFailureExcludesNode(t *testing.T) {
	a := New(cfg())
	a.SetTarget(1, nil)
	a.Heartbeat(t0)
	a.OnAllocated([]Container{{"c1", "bad-node"}})
	a.OnRegistered("c1")
	exits := a.OnCompleted([]Completed{{ContainerID: "c1", ExitStatus: -101, Diagnostics: "disks failed"}})
	if len(exits) != 1 || exits[0].Kind != ExitDisksFailed || exits[0].CountsAsFailure {
		t.Fatalf("exits = %+v", exits)
	}
	req := a.Heartbeat(t0)
	if !slices.Equal(req.BlacklistAdds, []string{"bad-node"}) || req.Any != 1 {
		t.Fatalf("request after a disk failure = %+v", req)
	}
}
