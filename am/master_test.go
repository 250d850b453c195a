package am

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/am/allocator"
	"github.com/spindle-engine/spindle/yarn"
)

// fakeRM grants the ANY row's containers on the next heartbeat and reports the
// completions a test queues.
type fakeRM struct {
	mu        sync.Mutex
	wanted    int32
	next      int
	completed []yarn.ContainerStatus
	released  []string
	finished  []string // "STATUS diagnostics"
	closed    bool
}

func (f *fakeRM) Register(context.Context, string, int32, string) (*yarn.RegisterResponse, error) {
	return &yarn.RegisterResponse{}, nil
}

func (f *fakeRM) Allocate(_ context.Context, r *yarn.AllocateRequest) (*yarn.AllocateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range r.Asks {
		if a.ResourceName == "*" {
			f.wanted = a.NumContainers
		}
	}
	for _, id := range r.Releases {
		f.released = append(f.released, id.String())
	}
	resp := &yarn.AllocateResponse{Completed: f.completed}
	f.completed = nil
	for ; f.wanted > 0; f.wanted-- {
		f.next++
		id, err := yarn.ParseContainerID(fmt.Sprintf("container_1_0001_01_%06d", f.next+1))
		if err != nil {
			return nil, err
		}
		node := yarn.NodeID{Host: fmt.Sprintf("nm%d", f.next%2), Port: 8041}
		resp.Allocated = append(resp.Allocated, yarn.Container{ID: id, Node: node, Resource: yarn.Resource{MemoryMB: 1024, VCores: 1}})
	}
	return resp, nil
}

func (f *fakeRM) Finish(_ context.Context, st yarn.FinalStatus, diag, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.finished = append(f.finished, st.String()+" "+diag)
	return nil
}

func (f *fakeRM) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeRM) complete(id string, exit int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cid, _ := yarn.ParseContainerID(id)
	f.completed = append(f.completed, yarn.ContainerStatus{ID: cid, ExitStatus: exit, Diagnostics: "exit " + fmt.Sprint(exit)})
}

// fakeNM records started containers; it blocks each start until the test lets the
// launches go, to show that they run side by side.
type fakeNM struct {
	mu      sync.Mutex
	started []string
	release chan struct{}
}

func (n *fakeNM) Start(ctx context.Context, c yarn.Container, lc *yarn.LaunchContext) error {
	n.mu.Lock()
	n.started = append(n.started, c.ID.String()+" "+lc.Env["ID"])
	n.mu.Unlock()
	select {
	case <-n.release:
	case <-ctx.Done():
	}
	return nil
}

func (n *fakeNM) Close() error { return nil }

func (n *fakeNM) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.started)
}

func testMaster(t *testing.T, maxFailures int) (*Master, *fakeRM, *fakeNM) {
	t.Helper()
	rm, nm := &fakeRM{}, &fakeNM{release: make(chan struct{})}
	cfg := Config{
		Env: &yarn.AMEnv{NMHost: "127.0.0.1", Attempt: yarn.AttemptID{Attempt: 1}},
		Allocator: allocator.Config{ExecutorMemoryMB: 1024, ExecutorVcores: 1, MaxExecutorFailures: maxFailures,
			InitialInterval: 5 * time.Millisecond, HeartbeatInterval: 20 * time.Millisecond},
		ExecutorLaunch: func(c yarn.Container, id string) (*yarn.LaunchContext, error) {
			return &yarn.LaunchContext{Env: map[string]string{"ID": id}}, nil
		},
		Log: zerolog.Nop(),
	}
	m, err := start(context.Background(), cfg, rm, nm)
	if err != nil {
		t.Fatal(err)
	}
	return m, rm, nm
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling the loop's effects
	}
}

// TestLoopLaunchesInParallelAndReportsExits runs the loop against fakes: two
// executors launch side by side, an ended container reaches Exits classified, its
// replacement launches, and Finish unregisters with the status.
func TestLoopLaunchesInParallelAndReportsExits(t *testing.T) {
	m, rm, nm := testMaster(t, 5)
	m.SetTarget(2, nil)
	// Both launches are in flight at once: neither has been let go yet.
	eventually(t, "two launches in flight", func() bool { return nm.count() == 2 })
	close(nm.release)
	m.ExecutorRegistered("1")
	m.ExecutorRegistered("2")
	rm.complete("container_1_0001_01_000002", 137)
	select {
	case e := <-m.Exits():
		if e.ContainerID != "container_1_0001_01_000002" || !e.CountsAsFailure || e.ExecutorID == "" {
			t.Fatalf("exit %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit reported")
	}
	eventually(t, "a replacement launch", func() bool { return nm.count() == 3 })
	if err := m.Finish(context.Background(), yarn.Succeeded, "all done"); err != nil {
		t.Fatal(err)
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if len(rm.finished) != 1 || rm.finished[0] != "SUCCEEDED all done" || !rm.closed {
		t.Fatalf("finished %v, closed %v", rm.finished, rm.closed)
	}
}

// TestLoopFailsAfterTooManyExecutorFailures checks the failure limit and that Close
// leaves without unregistering, so YARN can retry the attempt.
func TestLoopFailsAfterTooManyExecutorFailures(t *testing.T) {
	m, rm, nm := testMaster(t, 1)
	close(nm.release)
	m.SetTarget(1, nil)
	var reason string
	failed := func() bool {
		select {
		case reason = <-m.Failed():
			return true
		default:
			return reason != ""
		}
	}
	// Each launched executor dies at once; the second failure is one too many.
	for i := 2; !failed(); i++ {
		if i > 6 {
			t.Fatal("the failure limit never tripped")
		}
		eventually(t, "a launch or the failure", func() bool { return nm.count() >= i-1 || failed() })
		if reason != "" {
			break
		}
		rm.complete(fmt.Sprintf("container_1_0001_01_%06d", i), 1)
		<-m.Exits()
	}
	if !strings.Contains(reason, "executor failures") {
		t.Fatalf("reason %q", reason)
	}
	if nm.count() != 2 {
		t.Fatalf("%d executors launched, want 2 (the limit is 1 failure)", nm.count())
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if len(rm.finished) != 0 {
		t.Fatalf("Close unregistered: %v", rm.finished)
	}
}
