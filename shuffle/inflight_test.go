package shuffle

import (
	"context"
	"errors"
	"testing"
)

func TestInFlight(t *testing.T) {
	tests := []struct {
		name  string
		limit int64
		held  []int64 // acquired first
		try   int64
		want  bool
	}{
		{"fits", 100, []int64{40}, 60, true},
		{"over", 100, []int64{40, 30}, 31, false},
		{"larger than the limit, alone", 100, nil, 500, true},
		{"larger than the limit, beside another", 100, []int64{1}, 500, false},
		{"no limit", 0, []int64{1 << 40}, 1 << 40, true},
		{"negative", 100, nil, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewInFlight(tt.limit)
			for _, n := range tt.held {
				if err := l.Acquire(context.Background(), n); err != nil {
					t.Fatal(err)
				}
			}
			if got := l.TryAcquire(tt.try); got != tt.want {
				t.Fatalf("TryAcquire(%d) = %v with %v held of %d", tt.try, got, tt.held, tt.limit)
			}
		})
	}
}

// TestInFlightOrder: waiters are admitted in arrival order as bytes come back, and
// one that gives up holds nothing.
func TestInFlightOrder(t *testing.T) {
	l := NewInFlight(100)
	ctx := context.Background()
	if err := l.Acquire(ctx, 90); err != nil {
		t.Fatal(err)
	}
	granted := make(chan int64, 3)
	started := make(chan struct{}, 3)
	done := make(chan error, 3)
	acquire := func(ctx context.Context, n int64) {
		started <- struct{}{}
		err := l.Acquire(ctx, n)
		if err == nil {
			granted <- n
		}
		done <- err
	}
	waitQueued := func(n int) {
		for {
			l.mu.Lock()
			q := l.waiters.Len()
			l.mu.Unlock()
			if q == n {
				return
			}
			<-ctxYield()
		}
	}
	go acquire(ctx, 50) // must wait: 90 + 50 > 100
	<-started
	waitQueued(1)
	cctx, cancel := context.WithCancel(ctx)
	go acquire(cctx, 60) // queued behind the 50
	<-started
	waitQueued(2)
	go acquire(ctx, 5) // fits, but waits its turn behind the queue
	<-started
	waitQueued(3)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	if l.TryAcquire(1) {
		t.Fatal("TryAcquire jumped the queue")
	}
	// 40 back: the 50 fits now, the 5 behind it does not.
	l.Release(40)
	if got := <-granted; got != 50 {
		t.Fatalf("granted %d, want 50", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := l.InUse(); got != 100 {
		t.Fatalf("in use %d, want 100", got)
	}
	l.Release(50)
	if got := <-granted; got != 5 {
		t.Fatalf("granted %d, want 5", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	l.Release(55)
	if got := l.InUse(); got != 0 {
		t.Fatalf("in use %d after releasing all", got)
	}
}

// ctxYield returns a closed channel: a scheduling point for polling loops.
func ctxYield() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}
