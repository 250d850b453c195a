package yarn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/spindle-engine/spindle/integration/cluster"
	"github.com/spindle-engine/spindle/security/handshake"
	"github.com/spindle-engine/spindle/shuffle"
)

// TestE2EShuffleService: both NodeManagers run the spindle_shuffle aux service, whose
// daemons return distinct ports in startContainers' metadata; an application's
// executor registers with a daemon and reads its blocks back through it; a daemon
// killed with SIGKILL is restarted by the aux service on the same port and serves
// the registration from its store; when the application ends, the daemons delete
// its files and forget it.
func TestE2EShuffleService(t *testing.T) {
	e := newE2E(t)
	ctx := e2eCtx(t)
	names := e.nodeNames(ctx)
	id := e.submit(ctx, "shuffle", map[string]string{"TESTAM_NODES": strings.Join(names, ",")})
	killed := false
	defer func() {
		if !killed {
			e.rm.KillWithReason(context.Background(), id, "shuffle e2e test cleanup")
		}
	}()
	r := e.waitState(ctx, id, func(s AppState) bool { return s == StateRunning || s.Terminal() })
	if r.State != StateRunning {
		t.Fatalf("%s: %s %q", id, r.State, r.Diagnostics)
	}
	out := e.amOutput(ctx, r)
	if out.Error != "" || len(out.Shuffle) != 2 {
		t.Fatalf("AM report: error %q, shuffle %+v", out.Error, out.Shuffle)
	}
	ports := map[string]int{} // node id → port
	for _, s := range out.Shuffle {
		if s.Error != "" || s.Port <= 0 {
			t.Fatalf("node %s: port %d, %s", s.Node, s.Port, s.Error)
		}
		ports[s.Node] = s.Port
	}
	if len(ports) != 2 || out.Shuffle[0].Port == out.Shuffle[1].Port {
		t.Fatalf("want two nodes with distinct ports, got %+v", out.Shuffle)
	}

	secret := []byte("s3cr3t") // the submission's spindle.secret, the AM's service data
	app := id.String()
	type node struct {
		addr, dir string
		dirs      []string
		state     string
	}
	var nodes []node
	for _, n := range e.c.Info.Nodes {
		port, ok := ports[n.NodeID]
		if !ok {
			t.Fatalf("no container on %s: %+v", n.NodeID, out.Shuffle)
		}
		appDir := waitAppDir(ctx, t, n, app)
		dir := filepath.Join(appDir, "spindle-e2e-executor")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		writeE2EOutput(t, []string{dir})
		nodes = append(nodes, node{addr: fmt.Sprintf("localhost:%d", port), dir: dir, dirs: []string{dir},
			state: filepath.Join(n.LocalDirs[0], shuffle.AuxServiceName)})
	}

	f := shuffle.NewFetcher(app, secret)
	defer f.Close()
	for _, n := range nodes {
		if err := f.RegisterExecutor(ctx, n.addr, "1", n.dirs); err != nil {
			t.Fatalf("register with %s: %v", n.addr, err)
		}
		checkE2EFetch(ctx, t, f, n.addr, n.dirs)
		bad := shuffle.NewFetcher(app, []byte("guess"))
		_, err := bad.Open(ctx, n.addr, "1", 1, 0, 0)
		bad.Close()
		if !shuffleRefused(err) {
			t.Errorf("%s with a wrong secret: %v", n.addr, err)
		}
	}

	// SIGKILL node 0's daemon: the aux service restarts it on the same port, and it
	// serves the registration from its store.
	old := daemonPID(t, nodes[0].state)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pid, _ := findDaemon(nodes[0].state)
		if pid != 0 && pid != old {
			g := shuffle.NewFetcher(app, secret)
			rc, err := g.Open(ctx, nodes[0].addr, "1", 1, 0, 1)
			if err == nil {
				rc.Close()
				g.Close()
				break
			}
			g.Close()
			if time.Now().After(deadline) {
				t.Fatalf("restarted daemon (pid %d) does not serve: %v", pid, err)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("daemon of %s not restarted after SIGKILL (pid %d)", nodes[0].state, old)
		}
		time.Sleep(200 * time.Millisecond)
	}
	g := shuffle.NewFetcher(app, secret)
	defer g.Close()
	checkE2EFetch(ctx, t, g, nodes[0].addr, nodes[0].dirs)

	// The application ends: both daemons delete its files and forget it.
	if err := e.rm.KillWithReason(ctx, id, "shuffle e2e test done"); err != nil {
		t.Fatal(err)
	}
	killed = true
	e.waitState(ctx, id, AppState.Terminal)
	for _, n := range nodes {
		for {
			files, _ := filepath.Glob(filepath.Join(n.dir, "shuffle_*"))
			h := shuffle.NewFetcher(app, secret)
			err := h.RegisterExecutor(ctx, n.addr, "2", n.dirs)
			h.Close()
			if len(files) == 0 && shuffleRefused(err) {
				break
			}
			if time.Now().After(deadline.Add(time.Minute)) {
				t.Fatalf("%s after the application ended: files %v, register: %v", n.addr, files, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// shuffleRefused reports whether a shuffle service refused the caller's
// credentials: at the connection's handshake, or (with per-call proofs) the call.
func shuffleRefused(err error) bool {
	return status.Code(err) == codes.Unauthenticated || strings.Contains(fmt.Sprint(err), handshake.ErrRefused.Error())
}

// waitAppDir waits for the NodeManager to create the application's directory.
func waitAppDir(ctx context.Context, t *testing.T, n cluster.Node, app string) string {
	t.Helper()
	for {
		for _, d := range n.LocalDirs {
			m, _ := filepath.Glob(filepath.Join(d, "usercache", "*", "appcache", app))
			if len(m) == 1 {
				return m[0]
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no appcache directory of %s on %s", app, n.NodeID)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// writeE2EOutput writes shuffle 1 map 0 with 3 partitions.
func writeE2EOutput(t *testing.T, dirs []string) {
	t.Helper()
	w, err := shuffle.NewWriter(shuffle.WriterConfig{Dirs: dirs, ShuffleID: 1, MapID: 0, NumPartitions: 3, Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30000 {
		if err := w.Write(i%3, fmt.Appendf(nil, "key-%07d", i), bytes.Repeat([]byte{byte(i)}, 50)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// checkE2EFetch fetches every partition and compares it with the file's bytes.
func checkE2EFetch(ctx context.Context, t *testing.T, f *shuffle.Fetcher, addr string, dirs []string) {
	t.Helper()
	for p := range 3 {
		rc, err := f.Open(ctx, addr, "1", 1, 0, p)
		if err != nil {
			t.Fatalf("fetch partition %d from %s: %v", p, addr, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		lrc, _, err := shuffle.OpenSegment(dirs, 1, 0, p)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := io.ReadAll(lrc)
		lrc.Close()
		if !bytes.Equal(got, want) || len(want) == 0 {
			t.Fatalf("partition %d from %s: %d bytes, %d on disk", p, addr, len(got), len(want))
		}
	}
}

// findDaemon returns the pid of the spindle-shuffle process whose state dir is
// state, reading the processes' command lines.
func findDaemon(state string) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) < 3 || filepath.Base(args[0]) != "spindle-shuffle" {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "--state-dir" && filepath.Clean(args[i+1]) == filepath.Clean(state) {
				return pid, nil
			}
		}
	}
	return 0, errors.New("no daemon")
}

func daemonPID(t *testing.T, state string) int {
	t.Helper()
	pid, err := findDaemon(state)
	if err != nil {
		t.Fatalf("daemon with state dir %s: %v", state, err)
	}
	return pid
}
