package tokens

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/security/delegation"
)

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

func hdfsToken(issue, maxDate time.Time, seq int32) *ipc.Token {
	id := delegation.Identifier{Owner: "alice@R", Renewer: "yarn", IssueDate: issue, MaxDate: maxDate, SequenceNumber: seq}
	return &ipc.Token{Kind: delegation.KindHDFS, Identifier: id.Writable(), Password: []byte{byte(seq)}, Service: "127.0.0.1:8020"}
}

// TestNextRenewal: 75% of the way to the earliest expiry, which is the issue date
// plus the interval unless the max date comes first.
func TestNextRenewal(t *testing.T) {
	tests := []struct {
		name   string
		tokens []*ipc.Token
		now    time.Time
		want   time.Time
	}{
		{"fresh", []*ipc.Token{hdfsToken(t0, t0.Add(time.Hour), 1)}, t0, t0.Add(45 * time.Second)},
		{"earliest of two", []*ipc.Token{hdfsToken(t0, t0.Add(time.Hour), 1), hdfsToken(t0.Add(-40*time.Second), t0.Add(time.Hour), 2)}, t0, t0.Add(15 * time.Second)},
		{"max date first", []*ipc.Token{hdfsToken(t0, t0.Add(20*time.Second), 1)}, t0, t0.Add(15 * time.Second)},
		{"already expired", []*ipc.Token{hdfsToken(t0.Add(-2*time.Minute), t0.Add(time.Hour), 1)}, t0, t0},
		{"unreadable", []*ipc.Token{{Kind: "other", Identifier: []byte("x")}}, t0, t0},
	}
	for _, tt := range tests {
		if got := NextRenewal(tt.tokens, time.Minute, 0.75, tt.now); !got.Equal(tt.want) {
			t.Errorf("%s: next renewal %s, want %s", tt.name, got.Sub(t0), tt.want.Sub(t0))
		}
	}
}

// fakeSource fails the obtains listed in fail (counting from 1).
type fakeSource struct {
	mu       sync.Mutex
	now      func() time.Time
	obtained int
	fail     map[int]bool
}

func (f *fakeSource) Interval(context.Context) (time.Duration, error) { return time.Minute, nil }

func (f *fakeSource) Obtain(context.Context) ([]*ipc.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.obtained++
	if f.fail[f.obtained] {
		return nil, errors.New("KDC unavailable")
	}
	now := f.now()
	return []*ipc.Token{hdfsToken(now, now.Add(time.Hour), int32(f.obtained))}, nil
}

// fakeClock hands every wait to the test, which advances the clock by it.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan time.Duration
	fire  chan time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.waits <- d
	return c.fire
}

// advance takes the Renewer's next wait, checks it, moves the clock and fires.
func (c *fakeClock) advance(t *testing.T, want time.Duration) {
	t.Helper()
	select {
	case d := <-c.waits:
		if d != want {
			t.Fatalf("waited %s, want %s", d, want)
		}
		c.mu.Lock()
		c.now = c.now.Add(d)
		c.mu.Unlock()
		c.fire <- c.Now()
	case <-time.After(10 * time.Second):
		t.Fatalf("no wait of %s", want)
	}
}

// TestRenewerSchedule: new tokens at 75% of the interval, a failure retried after
// the retry wait, each new set delivered, and Run ends with its context.
func TestRenewerSchedule(t *testing.T) {
	clock := &fakeClock{now: t0, waits: make(chan time.Duration), fire: make(chan time.Time)}
	src := &fakeSource{now: clock.Now, fail: map[int]bool{2: true}}
	r := newRenewer(src, 0.75, 10*time.Minute, zerolog.Nop())
	r.now, r.after = clock.Now, clock.After
	delivered := make(chan []*ipc.Token, 10)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		runErr = r.Run(ctx, []*ipc.Token{hdfsToken(t0, t0.Add(time.Hour), 0)}, func(_ context.Context, ts []*ipc.Token) { delivered <- ts })
	}()
	clock.advance(t, 45*time.Second) // first renewal: obtain 1 succeeds
	got := <-delivered
	if id, _ := delegation.Parse(got[0].Kind, got[0].Identifier); id.SequenceNumber != 1 || !id.IssueDate.Equal(t0.Add(45*time.Second)) {
		t.Fatalf("delivered %+v", id)
	}
	clock.advance(t, 45*time.Second) // obtain 2 fails
	clock.advance(t, 10*time.Minute) // retry: obtain 3 succeeds
	if got := <-delivered; len(got) != 1 {
		t.Fatalf("delivered %v", got)
	}
	select {
	case d := <-clock.waits: // the next renewal is 45 s after the retry's tokens
		if d != 45*time.Second {
			t.Fatalf("then waited %s", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no wait after the retry")
	}
	cancel()
	wg.Wait()
	if !errors.Is(runErr, context.Canceled) {
		t.Fatalf("Run = %v", runErr)
	}
	if src.obtained != 3 {
		t.Fatalf("obtained %d times", src.obtained)
	}
}

// TestDistinct: one token per NameNode, hdfs:/// being the default FS.
func TestDistinct(t *testing.T) {
	got := distinct([]string{"hdfs:///", "hdfs://nn:8020/x", "file:///tmp", "hdfs://other:9000", " hdfs://nn:8020 "}, "hdfs://nn:8020")
	want := []string{"hdfs://nn:8020", "hdfs://other:9000"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("distinct = %v", got)
	}
}

// TestAccessEnds is the earliest max date.
func TestAccessEnds(t *testing.T) {
	ts := []*ipc.Token{hdfsToken(t0, t0.Add(2*time.Hour), 1), hdfsToken(t0, t0.Add(time.Hour), 2), {Kind: "x"}}
	if got := AccessEnds(ts); !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("AccessEnds = %s", got)
	}
}
