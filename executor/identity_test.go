package executor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/spindle-engine/spindle/executor/pb"
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

// TestUnauthenticatedFloodDoesNotGrowTheDriver has a process that does not know the
// secret send a real 450 MiB Register message, as a plain gRPC client would: the
// driver hangs up at the handshake and its memory does not grow. (The attacker is
// another process so that its own 450 MiB do not count.)
func TestUnauthenticatedFloodDoesNotGrowTheDriver(t *testing.T) {
	if addr := os.Getenv("SPINDLE_TEST_FLOOD_DRIVER"); addr != "" {
		flood(addr)
		return
	}
	b, _, logs := startLoggedBackend(t, BackendConfig{})
	before := rss(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestUnauthenticatedFloodDoesNotGrowTheDriver$")
	cmd.Env = append(os.Environ(), "SPINDLE_TEST_FLOOD_DRIVER="+b.Addr())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "flood refused") {
		t.Fatalf("attacker: %v\n%s", err, out)
	}
	if grown := rss(t) - before; grown > 64<<20 {
		t.Fatalf("the driver's memory grew by %d MiB", grown>>20)
	}
	if !strings.Contains(logs.String(), "executor connection refused") {
		t.Fatalf("the refusal is not in the driver's log:\n%s", logs.String())
	}
}

// flood is the attacker: a plaintext gRPC client sending a 450 MiB registration.
func flood(addr string) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(512<<20)))
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stream, err := pb.NewDriverClient(cc).Connect(ctx)
	if err == nil {
		err = stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Register{Register: &pb.Register{
			AppId: "app-1", ExecutorId: "1", Proof: make([]byte, 450<<20)}}})
	}
	if err == nil {
		_, err = stream.Recv()
	}
	if err != nil {
		fmt.Println("flood refused:", err)
		return
	}
	fmt.Println("flood accepted")
}

// rss is this process's resident set size.
func rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status to measure memory")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
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
