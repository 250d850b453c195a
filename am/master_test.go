package am

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/am/allocator"
	"github.com/spindle-engine/spindle/yarn"
)

// fakeRM grants the ANY row's containers on the next heartbeat and reports the
// completions and updated nodes a test queues; allocErr fails every allocate.
type fakeRM struct {
	mu        sync.Mutex
	wanted    int32
	next      int
	allocs    int
	allocErr  error
	asked     []string // every ask row sent, "name=count"
	completed []yarn.ContainerStatus
	updated   []yarn.NodeReport
	released  []string
	excluded  []string // nodes the AM asked the RM to exclude
	readmit   []string // nodes the AM asked the RM to take off its blacklist
	finished  []string // "STATUS diagnostics"
	closed    bool
}

func (f *fakeRM) Register(context.Context, string, int32, string) (*yarn.RegisterResponse, error) {
	return &yarn.RegisterResponse{}, nil
}

func (f *fakeRM) Allocate(_ context.Context, r *yarn.AllocateRequest) (*yarn.AllocateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.allocs++
	if f.allocErr != nil {
		return nil, f.allocErr
	}
	for _, a := range r.Asks {
		f.asked = append(f.asked, fmt.Sprintf("%s=%d", a.ResourceName, a.NumContainers))
		if a.ResourceName == "*" {
			f.wanted = a.NumContainers
		}
	}
	for _, id := range r.Releases {
		f.released = append(f.released, id.String())
	}
	f.excluded = append(f.excluded, r.BlacklistAdd...)
	f.readmit = append(f.readmit, r.BlacklistRemove...)
	resp := &yarn.AllocateResponse{Completed: f.completed, UpdatedNodes: f.updated}
	f.completed, f.updated = nil, nil
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
	// noService lists nodes whose NodeManager runs no shuffle service, down nodes
	// whose service runs but whose daemon is down (the reason it reports).
	noService map[string]bool
	down      map[string]string
}

// StartWithMeta answers as a NodeManager running the shuffle service on port 7337.
func (n *fakeNM) StartWithMeta(ctx context.Context, c yarn.Container, lc *yarn.LaunchContext) (map[string][]byte, error) {
	n.mu.Lock()
	n.started = append(n.started, c.ID.String()+" "+lc.Env["ID"])
	n.mu.Unlock()
	select {
	case <-n.release:
	case <-ctx.Done():
	}
	if n.noService[c.Node.Host] {
		return map[string][]byte{}, nil
	}
	if reason, ok := n.down[c.Node.Host]; ok {
		return map[string][]byte{ShuffleServiceName: append([]byte{0, 0, 0, 0}, reason+"   "...)}, nil
	}
	return map[string][]byte{ShuffleServiceName: {0, 0, 0x1c, 0xa9}}, nil
}

func (n *fakeNM) Close() error { return nil }

func (n *fakeNM) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.started)
}

func testMaster(t *testing.T, maxFailures int) (*Master, *fakeRM, *fakeNM) {
	t.Helper()
	return testMasterWith(t, maxFailures, &fakeRM{}, nil)
}

// testMasterWith starts a Master against rm and, if not nil, nodes.
func testMasterWith(t *testing.T, maxFailures int, rm *fakeRM, nodes nodeLister, opts ...func(*Config)) (*Master, *fakeRM, *fakeNM) {
	t.Helper()
	nm := &fakeNM{release: make(chan struct{})}
	cfg := Config{
		Env: &yarn.AMEnv{NMHost: "127.0.0.1", Attempt: yarn.AttemptID{Attempt: 1}},
		Allocator: allocator.Config{ExecutorMemoryMB: 1024, ExecutorVcores: 1, MaxExecutorFailures: maxFailures,
			InitialInterval: 5 * time.Millisecond, HeartbeatInterval: 20 * time.Millisecond},
		ExecutorLaunch: func(c yarn.Container, id string) (*yarn.LaunchContext, []byte, error) {
			return &yarn.LaunchContext{Env: map[string]string{"ID": id}}, []byte("credential of " + id), nil
		},
		Log: zerolog.Nop(),
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := start(context.Background(), cfg, rm, nm, nodes)
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
	ctx := context.Background()
	if err := m.SetTarget(ctx, 2, nil); err != nil {
		t.Fatal(err)
	}
	// Both launches are in flight at once: neither has been let go yet.
	eventually(t, "two launches in flight", func() bool { return nm.count() == 2 })
	close(nm.release)
	for _, id := range []string{"1", "2"} {
		if err := m.ExecutorRegistered(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
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
	if err := m.SetTarget(context.Background(), 1, nil); err != nil {
		t.Fatal(err)
	}
	var failure error
	failed := func() bool {
		select {
		case failure = <-m.Failed():
			return true
		default:
			return failure != nil
		}
	}
	// Each launched executor dies at once; the second failure is one too many.
	for i := 2; !failed(); i++ {
		if i > 6 {
			t.Fatal("the failure limit never tripped")
		}
		eventually(t, "a launch or the failure", func() bool { return nm.count() >= i-1 || failed() })
		if failure != nil {
			break
		}
		rm.complete(fmt.Sprintf("container_1_0001_01_%06d", i), 1)
		<-m.Exits()
	}
	if !errors.Is(failure, ErrExecutorFailures) || !strings.Contains(failure.Error(), "2 executor failures (spindle.executor.maxNumFailures=1)") {
		t.Fatalf("failure %v", failure)
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

// fakeNodes is the RM's node reports.
type fakeNodes struct {
	nodes []yarn.NodeReport
	err   error
}

func (f fakeNodes) Nodes(context.Context) ([]yarn.NodeReport, error) { return f.nodes, f.err }

func node(host, rack string) yarn.NodeReport {
	return yarn.NodeReport{ID: yarn.NodeID{Host: host, Port: 8041}, Rack: rack, State: "RUNNING"}
}

// TestLoopLearnsRacks checks that node reports, at start and in allocate
// responses, reach the allocator: the rack row of a hinted host is its real rack.
func TestLoopLearnsRacks(t *testing.T) {
	for _, tt := range []struct {
		name    string
		nodes   nodeLister
		updated []yarn.NodeReport // in the first allocate response
		want    string
	}{
		{"node reports at start", fakeNodes{nodes: []yarn.NodeReport{node("nm6", "/rack-b"), node("NM7.", "/rack-a")}}, nil, "/rack-a=1"},
		{"no node reports: the RM cannot be reached", fakeNodes{err: errors.New("connection refused")}, nil, "/default-rack=1"},
		{"no node lister", nil, nil, "/default-rack=1"},
		{"updated nodes of an allocate response", fakeNodes{}, []yarn.NodeReport{node("nm7", "/rack-c")}, "/rack-c=1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, rm, nm := testMasterWith(t, 5, &fakeRM{updated: tt.updated}, tt.nodes)
			close(nm.release)
			defer m.Close()
			// After the first heartbeat, which brings the updated nodes.
			eventually(t, "a heartbeat", func() bool {
				rm.mu.Lock()
				defer rm.mu.Unlock()
				return rm.allocs > 0
			})
			if err := m.SetTarget(context.Background(), 1, map[string]int{"nm7": 1}); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the asks", func() bool {
				rm.mu.Lock()
				defer rm.mu.Unlock()
				return slices.Contains(rm.asked, "*=1")
			})
			rm.mu.Lock()
			defer rm.mu.Unlock()
			if !slices.Contains(rm.asked, "nm7=1") || !slices.Contains(rm.asked, tt.want) {
				t.Fatalf("asks %v, want nm7=1 and %s", rm.asked, tt.want)
			}
		})
	}
}

// TestLoopFailureKinds checks the typed errors of allocate failures: the RM's
// shutdown order at once, other errors after five in a row, wrapping the last.
func TestLoopFailureKinds(t *testing.T) {
	refused := errors.New("connection refused")
	for _, tt := range []struct {
		name     string
		allocErr error
		kind     error
		text     string
	}{
		{"shutdown", fmt.Errorf("allocate: %w", yarn.ErrShutdown), ErrShutdown, "the ResourceManager ordered the ApplicationMaster to shut down"},
		{"allocate keeps failing", refused, ErrAllocate, "allocate failed 5 times in a row: connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, rm, _ := testMasterWith(t, 5, &fakeRM{allocErr: tt.allocErr}, nil)
			defer m.Close()
			var err error
			select {
			case err = <-m.Failed():
			case <-time.After(10 * time.Second):
				t.Fatal("no failure reported")
			}
			if !errors.Is(err, tt.kind) || err.Error() != tt.text {
				t.Fatalf("failure %q, want %q of kind %v", err, tt.text, tt.kind)
			}
			if tt.kind == ErrAllocate && !errors.Is(err, refused) {
				t.Fatalf("failure %v does not wrap the allocate error", err)
			}
			// The loop has ended: the driver's calls say so instead of blocking.
			eventually(t, "the loop to end", func() bool {
				return errors.Is(m.SetTarget(context.Background(), 1, nil), ErrStopped)
			})
			rm.mu.Lock()
			defer rm.mu.Unlock()
			if tt.kind == ErrShutdown && rm.allocs != 1 {
				t.Fatalf("%d allocates after the shutdown order, want 1", rm.allocs)
			}
		})
	}
}

// TestMasterCallsTakeContext checks what SetTarget and ExecutorRegistered return
// when their context has ended and once the loop has.
func TestMasterCallsTakeContext(t *testing.T) {
	m, _, _ := testMaster(t, 5)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"SetTarget", func(ctx context.Context) error { return m.SetTarget(ctx, 1, nil) }},
		{"ExecutorRegistered", func(ctx context.Context) error { return m.ExecutorRegistered(ctx, "1") }},
	}
	for _, c := range calls {
		if err := c.call(cancelled); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v", c.name, err)
		}
		if err := c.call(context.Background()); err != nil {
			t.Errorf("%s = %v", c.name, err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if err := c.call(context.Background()); !errors.Is(err, ErrStopped) {
			t.Errorf("%s after Close = %v, want ErrStopped", c.name, err)
		}
	}
}

// TestLaunchRecordsCarryCredentialAndShuffleService: each started executor is
// reported with its container, its credential and, for an application that uses
// it, its node's shuffle service from the NodeManager's metadata.
func TestLaunchRecordsCarryCredentialAndShuffleService(t *testing.T) {
	for _, require := range []bool{false, true} {
		launched := make(chan Launched, 4)
		m, _, nm := testMasterWith(t, 5, &fakeRM{}, nil, func(c *Config) {
			c.Launched = func(l Launched) { launched <- l }
			c.RequireShuffleService = require
		})
		close(nm.release)
		if err := m.SetTarget(context.Background(), 2, nil); err != nil {
			t.Fatal(err)
		}
		got := map[string]Launched{}
		for len(got) < 2 {
			select {
			case l := <-launched:
				got[l.ExecutorID] = l
			case <-time.After(10 * time.Second):
				t.Fatalf("launch records %v", got)
			}
		}
		for id, l := range got {
			want := ""
			if require {
				want = l.Host + ":7337"
			}
			if string(l.Credential) != "credential of "+id || l.ContainerID == "" || l.ShuffleService != want {
				t.Errorf("shuffle service used %v: executor %s: %+v", require, id, l)
			}
		}
	}
}

// TestKillExecutorsReleasesTheirContainers: executors the driver gives back are
// released to the RM, their completion is no failure, and nothing replaces them.
func TestKillExecutorsReleasesTheirContainers(t *testing.T) {
	m, rm, nm := testMaster(t, 0)
	close(nm.release)
	ctx := context.Background()
	if err := m.SetTarget(ctx, 2, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "two launches", func() bool { return nm.count() == 2 })
	for _, id := range []string{"1", "2"} {
		if err := m.ExecutorRegistered(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.SetTarget(ctx, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.KillExecutors(ctx, []string{"1"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the release", func() bool { rm.mu.Lock(); defer rm.mu.Unlock(); return len(rm.released) == 1 })
	rm.mu.Lock()
	released := rm.released[0]
	rm.mu.Unlock()
	rm.complete(released, -105) // KILLED_BY_APPMASTER
	// Later heartbeats ask for nothing more, and the release is not a failure (the
	// limit is 0: one failure would fail the application).
	allocs := func() int { rm.mu.Lock(); defer rm.mu.Unlock(); return rm.allocs }
	after := allocs()
	eventually(t, "more heartbeats", func() bool { return allocs() > after+3 })
	if n := nm.count(); n != 2 {
		t.Fatalf("%d launches, want no replacement", n)
	}
	select {
	case err := <-m.Failed():
		t.Fatalf("the application failed: %v", err)
	case e := <-m.Exits():
		t.Fatalf("a released container was reported as an exit: %+v", e)
	default:
	}
}

// TestNodeWithoutShuffleServiceIsExcluded: with the shuffle service required, a
// node whose NodeManager reports none gets no executor: the container is released,
// the node excluded, the exit is no failure, and the executor is replaced.
func TestNodeWithoutShuffleServiceIsExcluded(t *testing.T) {
	for _, tt := range []struct {
		name    string
		nm      func(*fakeNM)
		message string
	}{
		{"no service", func(n *fakeNM) { n.noService = map[string]bool{"nm1": true} }, "auxiliary service configured?"},
		{"daemon down", func(n *fakeNM) { n.down = map[string]string{"nm1": "spindle_shuffle daemon down: no such file"} }, "no such file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			launched := make(chan Launched, 8)
			rm := &fakeRM{}
			m, _, nm := testMasterWith(t, 0, rm, nil, func(c *Config) {
				c.RequireShuffleService = true
				c.Launched = func(l Launched) { launched <- l }
			})
			tt.nm(nm)
			close(nm.release)
			if err := m.SetTarget(context.Background(), 1, nil); err != nil {
				t.Fatal(err)
			}
			select {
			case e := <-m.Exits():
				if e.CountsAsFailure || !strings.Contains(e.Message, "no spindle_shuffle service") || !strings.Contains(e.Message, tt.message) || !strings.Contains(e.Message, "nm1 excluded") {
					t.Fatalf("exit %+v", e)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no exit for the node without the service")
			}
			select {
			case l := <-launched:
				if l.Host != "nm0" || l.ShuffleService != "nm0:7337" {
					t.Fatalf("replacement launched %+v", l)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the executor was not replaced on the other node")
			}
			eventually(t, "the node's exclusion", func() bool {
				rm.mu.Lock()
				defer rm.mu.Unlock()
				return slices.Contains(rm.excluded, "nm1") && len(rm.released) == 1
			})
		})
	}
}
