package executor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/internal/nettest"
	"github.com/spindle-engine/spindle/scheduler"
)

func startLoggedBackend(t *testing.T, cfg BackendConfig) (*Backend, *scheduler.Driver, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.AppID, cfg.Secret, cfg.Listen, cfg.AdvertiseHost = "app-1", secret, "127.0.0.1:0", "127.0.0.1"
	cfg.Log = zerolog.New(logs)
	b, err := NewBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := scheduler.NewDriver(b, scheduler.Options{MaxFailures: 2}, nil)
	t.Cleanup(func() { d.Close() })
	return b, d, logs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitRun(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// TestReplayedExecutorConnectionIsRefused records every byte a real executor sent
// and replays them to the driver after it is gone: the driver's fresh nonce makes
// the recording worthless, and no executor registers from it.
func TestReplayedExecutorConnectionIsRefused(t *testing.T) {
	b, _, logs := startLoggedBackend(t, BackendConfig{})
	proxy := nettest.NewTap(t, b.Addr())
	var mu sync.Mutex
	cfg := executorConfig(b, "1", secret, launch(t, b, "1"))
	cfg.DriverAddr = proxy.Addr()
	stop, done := runExecutor(t, cfg, &fakeRunner{id: "1", mu: &mu, ran: map[string]int{}, block: -1})
	waitFor(t, "the executor", func() bool { return b.NumExecutors() == 1 })
	stop()
	waitRun(t, done)
	waitFor(t, "its removal", func() bool { return b.NumExecutors() == 0 })
	recorded := proxy.FirstSent(t)
	conn, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go conn.Write(recorded)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, conn) // until the driver hangs up
	waitFor(t, "the refusal in the driver's log", func() bool { return strings.Contains(logs.String(), "executor connection refused") })
	if n := b.NumExecutors(); n != 0 {
		t.Fatalf("%d executors registered from a replay", n)
	}
}

// TestRegistrationProofIsBoundToItsConnection: a holder of the application secret
// who learned another connection's registration proof cannot register with it.
func TestRegistrationProofIsBoundToItsConnection(t *testing.T) {
	b, _, _ := startLoggedBackend(t, BackendConfig{})
	cred := launch(t, b, "5")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	honest, thief := dial(t, ctx, b, secret), dial(t, ctx, b, secret)
	stolen := registration(t, honest, "5", cred)
	if err := thief.Send(stolen); err != nil {
		t.Fatal(err)
	}
	if _, err := thief.Recv(); err == nil || !strings.Contains(err.Error(), "bad credentials") {
		t.Fatalf("a proof made on another connection: %v, want refused", err)
	}
	// The launch is still the honest executor's.
	if err := honest.Send(stolen); err != nil {
		t.Fatal(err)
	}
	if m, err := honest.Recv(); err != nil || m.GetRegistered() == nil {
		t.Fatalf("the honest registration: %v %v", m, err)
	}
}

func TestOnlyLaunchedExecutorsRegisterOnce(t *testing.T) {
	b, _, logs := startLoggedBackend(t, BackendConfig{LaunchWait: 200 * time.Millisecond})
	var mu sync.Mutex
	runner := func(id string) *fakeRunner { return &fakeRunner{id: id, mu: &mu, ran: map[string]int{}, block: -1} }

	cred, _ := NewCredential()
	_, done := runExecutor(t, executorConfig(b, "7", secret, cred), runner("7")) // never launched
	if err := waitRun(t, done); err == nil || !strings.Contains(err.Error(), "never launched") {
		t.Fatalf("an executor the AM never launched: %v", err)
	}

	cfg := executorConfig(b, "1", secret, launch(t, b, "1"))
	runExecutor(t, cfg, runner("1"))
	waitFor(t, "executor 1", func() bool { return b.NumExecutors() == 1 })
	_, again := runExecutor(t, cfg, runner("1"))
	if err := waitRun(t, again); err == nil || !strings.Contains(err.Error(), "registered already") {
		t.Fatalf("a second registration of executor 1: %v", err)
	}
	other := cfg
	other.ContainerID = "c2"
	b.Expect(Launch{ExecutorID: "3", ContainerID: "c3", Credential: cfg.Credential})
	other.ExecutorID = "3"
	_, wrong := runExecutor(t, other, runner("3"))
	if err := waitRun(t, wrong); err == nil || !strings.Contains(err.Error(), "launched in c3") {
		t.Fatalf("executor 3 from another container: %v", err)
	}
	for _, want := range []string{`"executor":"7"`, "never launched", "registered already", `"executor":"3"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the driver's log lacks %q:\n%s", want, logs.String())
		}
	}
	if n := b.NumExecutors(); n != 1 {
		t.Fatalf("%d executors registered, want 1", n)
	}
}

// TestEncryptedExecutors runs the two-stage job with every executor connection
// encrypted.
func TestEncryptedExecutors(t *testing.T) {
	b, d, _ := startLoggedBackend(t, BackendConfig{Encrypt: true})
	var mu sync.Mutex
	for _, id := range []string{"1", "2"} {
		cfg := executorConfig(b, id, secret, launch(t, b, id))
		cfg.Encrypt = id == "1" // the driver encrypts the other whatever it asks
		runExecutor(t, cfg, &fakeRunner{id: id, mu: &mu, ran: map[string]int{}, block: -1})
	}
	waitFor(t, "two executors", func() bool { return b.NumExecutors() == 2 })
	results := map[int]string{}
	if err := d.RunJob(context.Background(), twoStageJob(), func(p int, data []byte) error { results[p] = string(data); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := map[int]string{0: "0:21", 1: "1:6"}; fmt.Sprint(results) != fmt.Sprint(want) {
		t.Fatalf("results %v, want %v", results, want)
	}
}
