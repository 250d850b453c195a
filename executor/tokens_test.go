package executor

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"
)

// TestUpdateTokensReachesEveryExecutor: renewed credentials sent by the driver
// arrive at each registered executor's callback, in order, while they keep
// running.
func TestUpdateTokensReachesEveryExecutor(t *testing.T) {
	b, _ := startBackend(t)
	var mu sync.Mutex
	got := map[string]chan []byte{"1": make(chan []byte, 4), "2": make(chan []byte, 4)}
	for _, id := range []string{"1", "2"} {
		cfg := executorConfig(b, id, secret, launch(t, b, id))
		ch := got[id]
		cfg.Tokens = func(creds []byte) { ch <- creds }
		runExecutor(t, cfg, &fakeRunner{id: id, mu: &mu, ran: map[string]int{}, block: -1})
	}
	waitFor(t, "two executors", func() bool { return b.NumExecutors() == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, creds := range [][]byte{[]byte("HDTS first"), []byte("HDTS second")} {
		if err := b.UpdateTokens(ctx, creds); err != nil {
			t.Fatal(err)
		}
		for id, ch := range got {
			select {
			case c := <-ch:
				if !bytes.Equal(c, creds) {
					t.Fatalf("executor %s got %q, want %q", id, c, creds)
				}
			case <-ctx.Done():
				t.Fatalf("executor %s got no tokens", id)
			}
		}
	}
}
