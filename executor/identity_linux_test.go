//go:build linux

package executor

// The flood test measures the driver's resident memory from /proc/self/status,
// which Linux has: YARN's NodeManagers, and so Spindle's drivers and executors,
// run there.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/spindle-engine/spindle/executor/pb"
)

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
		t.Fatalf("measure memory: %v", err)
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
