package allocator

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestScenarios(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
		run  func(h *harness)
		want []string
	}{{
		name: "target 3 with hints on 2 hosts, containers on preferred, other and surplus",
		run: func(h *harness) {
			h.target(3, map[string]int{"h1": 4, "h2": 2})
			h.beat()
			h.alloc("c1@h3", "c2@h1", "c3@h2", "c4@h1")
			h.beat()
			h.registered("c2", "c3", "c4")
			h.beat()
		},
		want: []string{
			"beat: ask h1=2 h2=1 /default-rack=3 *=3; next 200ms",
			"alloc c1@h3 c2@h1 c3@h2 c4@h1: launch c2=1, launch c3=2, launch c4=3, release c1 (surplus)",
			// The RM took each allocation off its rows, so nothing is left to cancel.
			"beat: next 3s",
			"beat: next 3s",
		},
	}, {
		name: "off-host container fills the target when preferred hosts give none",
		run: func(h *harness) {
			h.target(2, map[string]int{"h1": 1})
			h.beat()
			h.alloc("c1@h9")
			h.beat()
			h.alloc("c2@h1")
			h.beat()
		},
		want: []string{
			"beat: ask h1=1 /default-rack=1 *=2; next 200ms",
			"alloc c1@h9: launch c1=1",
			// c1 took the rack row at the RM (h9 is in /default-rack): ask it again.
			"beat: ask /default-rack=1; next 400ms",
			"alloc c2@h1: launch c2=2",
			"beat: next 3s",
		},
	}, {
		name: "rack-local beats off-switch when hosts' racks are known",
		run: func(h *harness) {
			h.target(3, nil)
			h.beat()
			h.alloc("c1@h1/r1", "c2@h2/r2")
			h.target(3, map[string]int{"h1": 5})
			h.beat()
			h.alloc("c3@h5/r5", "c4@h4/r1")
			h.beat()
		},
		want: []string{
			"beat: ask *=3; next 200ms",
			"alloc c1@h1/r1 c2@h2/r2: launch c1=1, launch c2=2",
			"beat: ask h1=1 /r1=1; next 400ms",
			"alloc c3@h5/r5 c4@h4/r1: launch c4=3, release c3 (surplus)",
			"beat: cancel h1=0; next 3s",
		},
	}, {
		name: "node reports give hinted hosts' racks; rack-local beats off-switch",
		run: func(h *harness) {
			// Names as the RM spells them; the hints are canonical.
			h.nodes("H1.example./r1", "h2.example/r1", "h3.example/r2")
			h.target(1, map[string]int{"h1.example": 3})
			h.beat()
			// The containers name only their hosts; h2 shares h1's rack.
			h.alloc("c1@h3.example", "c2@h2.example")
			h.beat()
		},
		want: []string{
			"nodes H1.example./r1 h2.example/r1 h3.example/r2",
			"beat: ask h1.example=1 /r1=1 *=1; next 200ms",
			"alloc c1@h3.example c2@h2.example: launch c2=1, release c1 (surplus)",
			"beat: cancel h1.example=0; next 3s",
		},
	}, {
		name: "a rack learned after the ask moves its rack row",
		run: func(h *harness) {
			h.target(2, map[string]int{"h1": 1})
			h.beat()
			h.nodes("h1/r1")
			h.beat()
			h.alloc("c1@h9", "c2@h5")
		},
		want: []string{
			"beat: ask h1=1 /default-rack=1 *=2; next 200ms",
			"nodes h1/r1",
			"beat: ask /r1=1; cancel /default-rack=0; next 400ms",
			"alloc c1@h9 c2@h5: launch c1=1, launch c2=2",
		},
	}, {
		name: "lower target cancels pending asks and releases late surplus",
		run: func(h *harness) {
			h.target(4, map[string]int{"h1": 4})
			h.beat()
			h.alloc("c1@h1")
			h.target(2, map[string]int{"h1": 3})
			h.beat()
			h.alloc("c2@h1", "c3@h2")
			h.target(1, nil)
			h.beat()
			h.registered("c1", "c2")
			h.idle("c9", "c2", "c1")
			h.done("c2:-105")
			h.beat()
		},
		want: []string{
			"beat: ask h1=4 /default-rack=4 *=4; next 200ms",
			"alloc c1@h1: launch c1=1",
			"beat: cancel h1=1 /default-rack=1 *=1; cancelled=2; next 400ms",
			"alloc c2@h1 c3@h2: launch c2=2, release c3 (surplus)",
			"beat: next 3s",
			"idle c9 c2 c1: release c2 (idle above target)",
			"done c2:-105: ",
			"beat: next 3s",
		},
	}, {
		name: "exits of each kind; preemption and AM kills do not count",
		run: func(h *harness) {
			h.target(7, nil)
			h.beat()
			h.alloc("c1@h", "c2@h", "c3@h", "c4@h", "c5@h", "c6@h", "c7@h")
			h.registered("c1", "c2", "c3", "c4", "c5", "c6")
			h.done("c1:0", "c2:-102", "c3:-105", "c4:-106", "c5:-100", "c6:-101", "c7:-107")
		},
		cfg: func(c *Config) { c.MaxExecutorFailures = 10 },
		want: []string{
			"beat: ask *=7; next 200ms",
			"alloc c1@h c2@h c3@h c4@h c5@h c6@h c7@h: launch c1=1, launch c2=2, launch c3=3, launch c4=4, launch c5=5, launch c6=6, launch c7=7",
			"done c1:0 c2:-102 c3:-105 c4:-106 c5:-100 c6:-101 c7:-107: exit 1 Success counts=false, exit 2 Preempted counts=false, " +
				"exit 3 KilledByAM counts=false, exit 4 KilledByYARN counts=false, exit 5 KilledByYARN counts=false, " +
				"exit 6 DiskFailed counts=false, exit 7 KilledByYARN counts=false",
		},
	}, {
		name: "4th failure with max 3 fails the app once; no launches after",
		run: func(h *harness) {
			h.target(2, nil)
			h.beat()
			h.alloc("c1@h", "c2@h")
			h.done("c1:-104", "c2:1")
			h.beat()
			h.alloc("c3@h", "c4@h")
			h.launchFailed("c3")
			h.done("c4:-103", "c1:1")
			h.beat()
			h.alloc("c5@h")
		},
		want: []string{
			"beat: ask *=2; next 200ms",
			"alloc c1@h c2@h: launch c1=1, launch c2=2",
			"done c1:-104 c2:1: exit 1 MemoryExceeded counts=true, exit 2 AppError counts=true",
			"beat: ask *=2; next 400ms",
			"alloc c3@h c4@h: launch c3=3, launch c4=4",
			"launch failed c3: release c3 (launch failed), exit 3 AppError counts=true",
			"done c4:-103 c1:1: exit 4 MemoryExceeded counts=true, FAILED",
			"beat: next 3s",
			"alloc c5@h: release c5 (application failed)",
		},
	}, {
		name: "lost executor is replaced under a new ID",
		run: func(h *harness) {
			h.target(2, nil)
			h.beat()
			h.alloc("c1@h", "c2@h")
			h.registered("c1", "c2")
			h.beat()
			h.done("c1:-102")
			h.beat()
			h.alloc("c3@h")
			h.beat()
		},
		want: []string{
			"beat: ask *=2; next 200ms",
			"alloc c1@h c2@h: launch c1=1, launch c2=2",
			"beat: next 3s",
			"done c1:-102: exit 1 Preempted counts=false",
			"beat: ask *=1; next 200ms",
			"alloc c3@h: launch c3=3",
			"beat: next 3s",
		},
	}, {
		name: "failed disks exclude the node until the timeout",
		cfg:  func(c *Config) { c.ExclusionTimeout = 5 * time.Second },
		run: func(h *harness) {
			h.target(1, map[string]int{"bad": 1})
			h.beat()
			h.alloc("c1@bad")
			h.registered("c1")
			h.done("c1:-101")
			h.alloc("c2@bad")
			h.beat()
			h.alloc("c3@ok")
			h.beat()
			h.beat()
			h.beat()
		},
		want: []string{
			"beat: ask bad=1 /default-rack=1 *=1; next 200ms",
			"alloc c1@bad: launch c1=1",
			"done c1:-101: exit 1 DiskFailed counts=false",
			"alloc c2@bad: release c2 (node excluded)",
			"beat: ask *=1; exclude bad; next 400ms",
			"alloc c3@ok: launch c3=2",
			"beat: next 3s",
			"beat: next 3s",
			"beat: include bad; next 3s",
		},
	}, {
		name: "after an RM resync every row and exclusion is sent again",
		run: func(h *harness) {
			h.target(2, map[string]int{"h1": 1})
			h.beat()
			h.alloc("c1@bad")
			h.done("c1:-101")
			h.beat()
			h.a.OnResync()
			h.beat()
		},
		want: []string{
			"beat: ask h1=1 /default-rack=1 *=2; next 200ms",
			"alloc c1@bad: launch c1=1",
			"done c1:-101: exit 1 DiskFailed counts=false",
			"beat: ask /default-rack=1 *=2; exclude bad; next 400ms",
			"beat: ask h1=1 /default-rack=1 *=2; exclude bad; next 800ms",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			h := newHarness(cfg)
			tt.run(h)
			h.check(t, tt.want)
		})
	}
}

func TestHeartbeatBackoff(t *testing.T) {
	a := New(testConfig())
	a.SetTarget(2, nil)
	now := t0
	var got []time.Duration
	for range 6 {
		a.Heartbeat(now)
		next := a.NextHeartbeat(now)
		got = append(got, next.Sub(now))
		now = next
	}
	a.OnAllocated(now, []Container{{ID: "c1", NodeHost: "h", MemoryMB: 2048, Vcores: 2}, {ID: "c2", NodeHost: "h", MemoryMB: 2048, Vcores: 2}})
	a.Heartbeat(now)
	got = append(got, a.NextHeartbeat(now).Sub(now))
	// A higher target restarts the backoff before the next heartbeat.
	a.SetTarget(3, nil)
	got = append(got, a.NextHeartbeat(now).Sub(now))
	want := []time.Duration{200, 400, 800, 1600, 3000, 3000, 3000, 200}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !slices.Equal(got, want) {
		t.Fatalf("intervals = %v, want %v", got, want)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		status int32
		kind   ExitKind
		counts bool
		says   string
	}{
		{0, ExitSuccess, false, "normally"},
		{-100, ExitKilledByYARN, false, "-100"},
		{-101, ExitDiskFailed, false, "disks"},
		{-102, ExitPreempted, false, "preempted"},
		{-103, ExitMemoryExceeded, true, "spindle.executor.memoryOverhead"},
		{-104, ExitMemoryExceeded, true, "spindle.executor.memoryOverhead"},
		{-105, ExitKilledByAM, false, "ApplicationMaster"},
		{-106, ExitKilledByYARN, false, "-106"},
		{-107, ExitKilledByYARN, false, "-107"},
		{-108, ExitPreempted, false, "preempted"},
		{-109, ExitAppError, true, "log data"},
		{-1000, ExitAppError, true, "-1000"},
		{1, ExitAppError, true, "code 1"},
		{143, ExitAppError, true, "code 143"},
	}
	for _, tt := range tests {
		kind, counts, msg := Classify(tt.status, "diag")
		if kind != tt.kind || counts != tt.counts || !strings.Contains(msg, tt.says) {
			t.Errorf("Classify(%d) = %v, %v, %q; want %v, %v, containing %q", tt.status, kind, counts, msg, tt.kind, tt.counts, tt.says)
		}
	}
}

func TestRequestCarriesSizeAndLabel(t *testing.T) {
	cfg := testConfig()
	cfg.NodeLabel = "gpu"
	a := New(cfg)
	a.SetTarget(1, map[string]int{"h1": 1})
	req := a.Heartbeat(t0)
	for _, r := range req.Asks {
		if r.Priority != 1 || r.Capability.MemoryMB != 2048 || r.Capability.VCores != 2 || !r.RelaxLocality {
			t.Errorf("row %+v: want priority 1, 2048 MB, 2 vcores, relaxLocality", r)
		}
		if wantLabel := map[bool]string{true: "gpu"}[r.ResourceName == "*"]; r.NodeLabel != wantLabel {
			t.Errorf("row %s has label %q, want %q", r.ResourceName, r.NodeLabel, wantLabel)
		}
	}
	if acts := a.OnAllocated(t0, []Container{{ID: "c1", NodeHost: "h1", MemoryMB: 1024, Vcores: 2}}); len(acts) != 1 {
		t.Fatalf("actions = %v", acts)
	} else if r, ok := acts[0].(Release); !ok || !strings.Contains(r.Reason, "too small") {
		t.Fatalf("undersized container: %+v, want released as too small", acts[0])
	}
	// A container reported with fewer vcores than asked (DefaultResourceCalculator) is
	// used: releasing it would ask again for ever.
	if acts := a.OnAllocated(t0, []Container{{ID: "c2", NodeHost: "h1", MemoryMB: 2048, Vcores: 1}}); len(acts) != 1 {
		t.Fatalf("actions = %v", acts)
	} else if _, ok := acts[0].(Launch); !ok {
		t.Fatalf("container with one vcore: %+v, want launched", acts[0])
	}
}

// TestHintsUsedUpLeaveOnlyAny is a regression test: once every hinted task got a
// node-local container, the next ask table must not divide by a zero hint total.
func TestHintsUsedUpLeaveOnlyAny(t *testing.T) {
	a := New(testConfig())
	a.SetTarget(2, map[string]int{"h1": 1})
	a.Heartbeat(t0)
	a.OnAllocated(t0, []Container{{ID: "c1", NodeHost: "h1", MemoryMB: 4096, Vcores: 4}})
	req := a.Heartbeat(t0.Add(time.Second))
	for _, r := range append(req.Asks, req.Cancels...) {
		if r.ResourceName == "h1" && r.NumContainers != 0 {
			t.Errorf("still asking for h1: %+v", r)
		}
	}
	a.OnCompleted([]Completed{{ContainerID: "c1", ExitStatus: 1}})
	a.Heartbeat(t0.Add(2 * time.Second))
}
