package am

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/am/pb"
	"github.com/spindle-engine/spindle/yarn"
)

// TestExcludedNodesOnTheWire round-trips the driver's excluded nodes through the
// link's message, to the millisecond, including ends past what nanoseconds since
// 1970 can hold.
func TestExcludedNodesOnTheWire(t *testing.T) {
	at := time.Date(2026, 12, 2, 4, 5, 6, 789_123_456, time.UTC)
	for _, tt := range []struct {
		name  string
		nodes map[string]time.Time
		want  map[string]time.Time
	}{
		{"none", nil, map[string]time.Time{}},
		{"to the millisecond", map[string]time.Time{"nm1:8041": at}, map[string]time.Time{"nm1:8041": at.Truncate(time.Millisecond)}},
		{"past 2262", map[string]time.Time{"nm1": at.AddDate(1000, 0, 0)}, map[string]time.Time{"nm1": at.AddDate(1000, 0, 0).Truncate(time.Millisecond)}},
		{"zero end", map[string]time.Time{"a": {}, "b": at}, map[string]time.Time{"a": {}, "b": at.Truncate(time.Millisecond)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := excludedNodes(excludedMessage(tt.nodes))
			if !maps.EqualFunc(got, tt.want, time.Time.Equal) {
				t.Fatalf("round trip of %v = %v, want %v", tt.nodes, got, tt.want)
			}
		})
	}
}

// recvExcluded reads stream up to its next target and returns the excluded sets
// it got before it, and the messages' kinds in order.
func recvExcluded(t *testing.T, stream pb.AMLink_AttachClient) ([]map[string]time.Time, []string) {
	t.Helper()
	var sets []map[string]time.Time
	var kinds []string
	for {
		m, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.Msg.(type) {
		case *pb.DriverMessage_Endpoint:
			kinds = append(kinds, "endpoint")
		case *pb.DriverMessage_Excluded:
			kinds = append(kinds, "excluded")
			sets = append(sets, excludedNodes(m.Excluded))
		case *pb.DriverMessage_Target:
			return sets, append(kinds, "target")
		}
	}
}

// TestLinkResendsExcludedNodes: only the newest excluded set waits for the AM, an
// AM attaching gets it before the target, and a new attempt attaching after the
// first gets the same set again, which changes nothing at the AM; later sets go
// to the new attempt alone, even while the first one's stream has not ended (its
// AM's host gone without a word).
func TestLinkResendsExcludedNodes(t *testing.T) {
	for _, tt := range []struct {
		name     string
		firstEnd bool // the first attempt's stream ends before the second attaches
	}{{"first stream ended", true}, {"first stream still open", false}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			l := listen(t, ctx)
			until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
			newest := map[string]time.Time{"nm1:8041": until, "nm2:8041": until.Add(time.Minute)}
			l.SetEndpoint("driver:7078")
			if err := l.ExcludeNodes(ctx, map[string]time.Time{"nm1:8041": until}); err != nil {
				t.Fatal(err)
			}
			if err := l.ExcludeNodes(ctx, newest); err != nil {
				t.Fatal(err)
			}
			if err := l.SetTarget(ctx, 2, nil); err != nil {
				t.Fatal(err)
			}
			var stream pb.AMLink_AttachClient
			for attempt := 1; attempt <= 2; attempt++ {
				sctx, cut := context.WithCancel(ctx)
				defer cut()
				stream = attach(t, sctx, l, []byte("s3cret"))
				sets, kinds := recvExcluded(t, stream)
				if len(sets) != 1 || !maps.EqualFunc(sets[0], newest, time.Time.Equal) {
					t.Fatalf("attempt %d got excluded sets %v, want the newest alone: %v", attempt, sets, newest)
				}
				if !slices.Equal(kinds, []string{"endpoint", "excluded", "target"}) {
					t.Fatalf("attempt %d got %v, want the endpoint, the excluded nodes, then the target", attempt, kinds)
				}
				if attempt == 1 && tt.firstEnd {
					cut()
				}
			}
			later := map[string]time.Time{"nm2:8041": until.Add(time.Minute)}
			if err := l.ExcludeNodes(ctx, later); err != nil {
				t.Fatal(err)
			}
			if err := l.SetTarget(ctx, 3, nil); err != nil {
				t.Fatal(err)
			}
			if sets, _ := recvExcluded(t, stream); len(sets) != 1 || !maps.EqualFunc(sets[0], later, time.Time.Equal) {
				t.Fatalf("the second attempt got excluded sets %v after attaching, want %v", sets, later)
			}
			// A stream that a newer attempt took over from lost nothing. (One
			// that ended may be reported, unless the newer one attached first.)
			if !tt.firstEnd {
				select {
				case err := <-l.Failed():
					t.Fatalf("the superseded stream failed the link: %v", err)
				default:
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if err := l.ExcludeNodes(ctx, newest); err != ErrStopped {
				t.Fatalf("ExcludeNodes after Close = %v, want ErrStopped", err)
			}
		})
	}
}

// TestClientAMCarriesNodesAndExclusions runs the thin AM against fakes of the RM
// and NodeManagers and the driver's real end of the link: its launch records name
// the scheduler's node (host:port, as the MiniYARNCluster's RM names nodes), the
// driver's excluded nodes reach the RM's blacklist and leave it when the driver
// drops them, and Finish unregisters.
func TestClientAMCarriesNodesAndExclusions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	secret := []byte("s3cret")
	launched := make(chan Launched, 4)
	l, err := ListenDriver(ctx, LinkConfig{Listen: "127.0.0.1:0", AdvertiseHost: "127.0.0.1", Secret: secret,
		Launched: func(x Launched) { launched <- x }, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var c *clientAM
	m, rm, nm := testMasterWith(t, 5, &fakeRM{}, nil, func(cfg *Config) {
		cfg.Hadoop = hadoopMap{"yarn.scheduler.include-port-in-node-name": "true"}
		c = newClientAM(*cfg)
		*cfg = c.cfg
	})
	close(nm.release)
	endpoint := make(chan string, 1)
	launcher := func(addr string) (LaunchFunc, error) {
		endpoint <- addr
		return func(yarn.Container, string) (*yarn.LaunchContext, []byte, error) {
			return &yarn.LaunchContext{}, []byte("cred"), nil
		}, nil
	}
	served := make(chan error, 1)
	go func() { served <- c.serve(ctx, m, ClientLink{Addr: l.Addr(), Secret: secret}, launcher) }()
	if err := l.Attached(ctx); err != nil {
		t.Fatal(err)
	}
	l.SetEndpoint("driver:7078")
	if err := l.SetTarget(ctx, 2, nil); err != nil {
		t.Fatal(err)
	}
	if got := <-endpoint; got != "driver:7078" {
		t.Fatalf("launcher built for %q", got)
	}
	nodes := map[string]string{}
	for len(nodes) < 2 {
		select {
		case x := <-launched:
			if want := x.Host + ":8041"; x.Node != want {
				t.Fatalf("launch record %+v: node %q, want the scheduler's name %q", x, x.Node, want)
			}
			nodes[x.ExecutorID] = x.Node
		case <-ctx.Done():
			t.Fatalf("launch records %v", nodes)
		}
	}
	bad := slices.Sorted(maps.Values(nodes))[0]
	blacklist := func(add bool) []string {
		rm.mu.Lock()
		defer rm.mu.Unlock()
		if add {
			return slices.Clone(rm.excluded)
		}
		return slices.Clone(rm.readmit)
	}
	if err := l.ExcludeNodes(ctx, map[string]time.Time{bad: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the node on the RM's blacklist", func() bool { return slices.Contains(blacklist(true), bad) })
	if err := l.ExcludeNodes(ctx, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the node off the RM's blacklist", func() bool { return slices.Contains(blacklist(false), bad) })
	if got := blacklist(true); len(got) != 1 {
		t.Errorf("blacklist additions %v, want %s once", got, bad)
	}
	if err := l.Finish(ctx, yarn.Succeeded, "all done"); err != nil {
		t.Fatalf("Finish = %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("the thin AM ended with %v", err)
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if !slices.Equal(rm.finished, []string{"SUCCEEDED all done"}) {
		t.Fatalf("unregistered %v", rm.finished)
	}
}
