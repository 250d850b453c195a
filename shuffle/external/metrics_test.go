package external

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/shuffle"
)

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMetrics(t *testing.T) {
	dirs := []string{t.TempDir()}
	writeOutput(t, dirs, 0, 2)
	ctx := context.Background()
	d := startDaemon(t, t.TempDir(), nil)
	d.send("init", "app-a", secrets["app-a"])
	d.send("init", "app-b", secrets["app-b"])
	d.send("init", "..", []byte("x")) // refused
	f := shuffle.NewFetcher("app-a", secrets["app-a"])
	defer f.Close()
	if err := f.RegisterExecutor(ctx, d.addr, "1", dirs); err != nil {
		t.Fatal(err)
	}
	s, err := f.OpenBlocks(ctx, d.addr, "1", []shuffle.BlockID{{Shuffle: 1, Map: 0, Reduce: 0}, {Shuffle: 1, Map: 0, Reduce: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var bytes int64
	for range 2 {
		_, n, _, err := s.Next()
		if err != nil {
			t.Fatal(err)
		}
		bytes += n
	}
	s.Close()
	if _, err := f.Open(ctx, d.addr, "1", 1, 3, 0); err == nil {
		t.Fatal("a missing output was served")
	}
	want := []string{
		"# TYPE spindle_shuffle_blocks_served_total counter",
		"spindle_shuffle_blocks_served_total 2\n",
		"spindle_shuffle_bytes_served_total " + itoa(bytes) + "\n",
		"spindle_shuffle_open_streams 0\n",
		"spindle_shuffle_registered_applications 2\n",
		"spindle_shuffle_registered_executors 1\n",
		`spindle_shuffle_errors_total{method="Fetch",code="NotFound"} 1` + "\n",
		`spindle_shuffle_control_events_total{result="applied"} 2` + "\n",
		`spindle_shuffle_control_events_total{result="refused"} 1` + "\n",
	}
	// The server counts a call when its stream has ended, just after the client
	// saw it end: poll until the figures settle.
	deadline := time.Now().Add(30 * time.Second)
	for {
		body := scrape(t, d.metrics)
		missing := ""
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack %q:\n%s", missing, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Post("http://"+d.metrics+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %s", resp.Status)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestControlSocket: a standalone daemon takes events on its Unix socket.
func TestControlSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	outR, outW := io.Pipe()
	go func() {
		done <- Run(ctx, Config{StateDir: t.TempDir(), Listen: "127.0.0.1:0", ControlSocket: sock, Out: outW})
		outW.Close()
	}()
	drained := make(chan struct{})
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		<-drained // Run closed outW
	}()
	dec := json.NewDecoder(outR)
	var ann Announcement
	err := dec.Decode(&ann)
	// The rest of the output (acks of nothing: the socket answers on itself).
	go func() { io.Copy(io.Discard, io.MultiReader(dec.Buffered(), outR)); close(drained) }()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := json.NewEncoder(c).Encode(Event{Seq: 7, Op: "init", App: "app-a", Secret: secrets["app-a"]}); err != nil {
		t.Fatal(err)
	}
	var a Ack
	if err := json.NewDecoder(c).Decode(&a); err != nil || a.Ack != 7 || a.Error != "" {
		t.Fatalf("ack %+v, %v", a, err)
	}
	f := shuffle.NewFetcher("app-a", secrets["app-a"])
	defer f.Close()
	if err := f.RegisterExecutor(ctx, ann.Addr, "1", []string{t.TempDir()}); err != nil {
		t.Fatalf("register after init over the socket: %v", err)
	}
}
