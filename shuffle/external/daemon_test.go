package external

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/spindle-engine/spindle/security/handshake"
	"github.com/spindle-engine/spindle/shuffle"
)

// daemon is a Run in a test: its address, its control input and its answers.
type daemon struct {
	t       testing.TB
	addr    string
	metrics string
	ctl     *io.PipeWriter
	lines   chan string
	seq     int64
	stop    func() error
}

// startDaemon runs a daemon on stateDir until stop or the test's end.
func startDaemon(t testing.TB, stateDir string, localDirs []string) *daemon {
	t.Helper()
	ctlR, ctlW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{StateDir: stateDir, Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0",
			LocalDirs: localDirs, Control: ctlR, Out: outW, Log: zerolog.Nop()})
		outW.Close()
	}()
	d := &daemon{t: t, ctl: ctlW, lines: make(chan string, 16)}
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer close(d.lines)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			d.lines <- sc.Text()
		}
	}()
	stopped := false
	d.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		err := <-done
		<-read
		return err
	}
	t.Cleanup(func() {
		if err := d.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	var ann Announcement
	if err := json.Unmarshal([]byte(d.line()), &ann); err != nil || ann.Event != "listening" || ann.Port == 0 {
		t.Fatalf("announcement %+v: %v", ann, err)
	}
	d.addr, d.metrics = ann.Addr, ann.Metrics
	return d
}

func (d *daemon) line() string {
	d.t.Helper()
	select {
	case l, ok := <-d.lines:
		if !ok {
			d.t.Fatal("the daemon's output ended")
		}
		return l
	case <-time.After(time.Minute):
		d.t.Fatal("no line from the daemon within a minute")
	}
	return ""
}

// send writes an event and returns the daemon's answer.
func (d *daemon) send(op, app string, secret []byte) Ack {
	d.t.Helper()
	d.seq++
	b, _ := json.Marshal(Event{Seq: d.seq, Op: op, App: app, Secret: secret})
	if _, err := d.ctl.Write(append(b, '\n')); err != nil {
		d.t.Fatal(err)
	}
	var a Ack
	if err := json.Unmarshal([]byte(d.line()), &a); err != nil {
		d.t.Fatal(err)
	}
	if a.Ack != d.seq {
		d.t.Fatalf("ack %d for event %d", a.Ack, d.seq)
	}
	return a
}

// refused reports whether the service refused the caller's credentials: at the
// connection's handshake, or (with per-call proofs) the call.
func refused(err error) bool {
	return status.Code(err) == codes.Unauthenticated || strings.Contains(fmt.Sprint(err), handshake.ErrRefused.Error())
}

var secrets = map[string][]byte{"app-a": []byte("secret-a"), "app-b": []byte("secret-b")}

// writeOutput writes shuffle 1 map mapID with nparts partitions of 100 records each.
func writeOutput(t *testing.T, dirs []string, mapID, nparts int) {
	t.Helper()
	w, err := shuffle.NewWriter(shuffle.WriterConfig{Dirs: dirs, ShuffleID: 1, MapID: mapID, NumPartitions: nparts})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 * nparts {
		if err := w.Write(i%nparts, fmt.Appendf(nil, "k%06d", i), []byte("value")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, rc io.ReadCloser) int {
	t.Helper()
	r := shuffle.NewSegmentReader(rc, "segment")
	defer r.Close()
	n := 0
	for r.Next() {
		n++
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRestartServesRegistrations: a daemon stopped and started again on the same
// state dir serves what was registered before, without any new registration.
func TestRestartServesRegistrations(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	dirs := []string{t.TempDir(), t.TempDir()}
	writeOutput(t, dirs, 0, 3)
	ctx := context.Background()

	d := startDaemon(t, state, nil)
	if a := d.send("init", "app-a", secrets["app-a"]); a.Error != "" {
		t.Fatal(a.Error)
	}
	f := shuffle.NewFetcher("app-a", secrets["app-a"])
	defer f.Close()
	if err := f.RegisterExecutor(ctx, d.addr, "1", dirs); err != nil {
		t.Fatal(err)
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}

	d2 := startDaemon(t, state, nil)
	f2 := shuffle.NewFetcher("app-a", secrets["app-a"])
	defer f2.Close()
	rc, err := f2.Open(ctx, d2.addr, "1", 1, 0, 2)
	if err != nil {
		t.Fatalf("fetch from the restarted daemon: %v", err)
	}
	if n := count(t, rc); n != 100 {
		t.Fatalf("%d records, want 100", n)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{{state, 0o700 | os.ModeDir}, {filepath.Join(state, StoreFile), 0o600}} {
		if fi, err := os.Stat(c.path); err != nil || fi.Mode() != c.mode {
			t.Errorf("%s: mode %v, want %v (%v)", c.path, fi.Mode(), c.mode, err)
		}
	}
}

// TestStopRemovesFilesAndEntries: the supervisor's stop deletes the application's
// shuffle files and registrations, in the store too, and leaves others alone.
func TestStopRemovesFilesAndEntries(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	adirs, bdirs := []string{t.TempDir()}, []string{t.TempDir()}
	writeOutput(t, adirs, 0, 2)
	writeOutput(t, bdirs, 0, 2)
	ctx := context.Background()
	d := startDaemon(t, state, nil)
	for app, dirs := range map[string][]string{"app-a": adirs, "app-b": bdirs} {
		d.send("init", app, secrets[app])
		f := shuffle.NewFetcher(app, secrets[app])
		defer f.Close()
		if err := f.RegisterExecutor(ctx, d.addr, "1", dirs); err != nil {
			t.Fatal(err)
		}
	}
	if a := d.send("stop", "app-a", nil); a.Error != "" {
		t.Fatal(a.Error)
	}
	if entries, _ := os.ReadDir(adirs[0]); len(entries) != 0 {
		t.Errorf("%d files left of app-a", len(entries))
	}
	if entries, _ := os.ReadDir(bdirs[0]); len(entries) != 2 {
		t.Errorf("app-b has %d files, want its 2", len(entries))
	}
	if a := d.send("stop", "app-a", nil); a.Error != "" {
		t.Errorf("a second stop: %v", a.Error)
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(state)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.Secret("app-a"); ok {
		t.Error("app-a's secret is still stored")
	}
	if _, ok := s.Executor("app-a", "1"); ok {
		t.Error("app-a's executor is still stored")
	}
	if _, ok := s.Executor("app-b", "1"); !ok {
		t.Error("app-b's executor is gone")
	}
	if apps, execs := s.Counts(); apps != 1 || execs != 1 {
		t.Errorf("store holds %d apps, %d executors; want 1, 1", apps, execs)
	}
}

func TestStoreLocked(t *testing.T) {
	state := t.TempDir()
	s, err := OpenStore(state)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := OpenStore(state); !errors.Is(err, ErrStoreLocked) {
		t.Fatalf("second open: %v", err)
	}
}

// TestIsolation: an executor of application B, presenting B's secret, can neither
// read, register nor remove application A's blocks.
func TestIsolation(t *testing.T) {
	root := t.TempDir() // a NodeManager local dir
	appDir := func(app string) string {
		d := filepath.Join(root, "usercache", "alice", "appcache", app, "spindle-executor-1")
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		return d
	}
	adir, bdir := appDir("app-a"), appDir("app-b")
	writeOutput(t, []string{adir}, 0, 2)
	ctx := context.Background()
	d := startDaemon(t, t.TempDir(), []string{root})
	d.send("init", "app-a", secrets["app-a"])
	d.send("init", "app-b", secrets["app-b"])
	a := shuffle.NewFetcher("app-a", secrets["app-a"])
	defer a.Close()
	if err := a.RegisterExecutor(ctx, d.addr, "1", []string{adir}); err != nil {
		t.Fatal(err)
	}
	b := shuffle.NewFetcher("app-b", secrets["app-b"])
	defer b.Close()
	if err := b.RegisterExecutor(ctx, d.addr, "1", []string{bdir}); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(adir, filepath.Join(filepath.Dir(bdir), "link")); err != nil {
		t.Fatal(err)
	}
	code := func(c codes.Code) func(error) bool { return func(err error) bool { return status.Code(err) == c } }
	tests := []struct {
		name string
		call func() error
		want func(error) bool
	}{
		{"B reads A's executor as its own", func() error {
			_, err := b.Open(ctx, d.addr, "1", 1, 0, 0) // B's executor 1 has no such output
			return err
		}, func(err error) bool { return errors.Is(err, shuffle.ErrMissingOutput) }},
		{"B registers A's dir", func() error { return b.RegisterExecutor(ctx, d.addr, "2", []string{adir}) }, code(codes.PermissionDenied)},
		{"B registers a link to A's dir", func() error {
			return b.RegisterExecutor(ctx, d.addr, "2", []string{filepath.Join(filepath.Dir(bdir), "link")})
		}, code(codes.PermissionDenied)},
		{"B registers a dir outside YARN's", func() error { return b.RegisterExecutor(ctx, d.addr, "2", []string{t.TempDir()}) }, code(codes.PermissionDenied)},
		{"B's secret for A", func() error {
			f := shuffle.NewFetcher("app-a", secrets["app-b"])
			defer f.Close()
			_, err := f.Open(ctx, d.addr, "1", 1, 0, 0)
			return err
		}, refused},
		{"an unknown application", func() error {
			f := shuffle.NewFetcher("app-z", secrets["app-b"])
			defer f.Close()
			return f.RegisterExecutor(ctx, d.addr, "1", []string{bdir})
		}, refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !tt.want(err) {
				t.Fatalf("got %v", err)
			}
		})
	}
	// B removing "its" application leaves A's files and registration alone.
	if _, err := b.RemoveApplication(ctx, d.addr); err != nil {
		t.Fatal(err)
	}
	rc, err := a.Open(ctx, d.addr, "1", 1, 0, 1)
	if err != nil {
		t.Fatalf("A after B's attempts: %v", err)
	}
	if n := count(t, rc); n != 100 {
		t.Fatalf("A's block: %d records", n)
	}
}

func TestControlRefusesBadEvents(t *testing.T) {
	d := startDaemon(t, t.TempDir(), nil)
	tests := []struct {
		op, app string
		secret  []byte
		want    string
	}{
		{"init", "app-a", nil, "no secret"},
		{"init", "../etc", []byte("s"), "bad application id"},
		{"init", "", []byte("s"), "bad application id"},
		{"reboot", "app-a", nil, "unknown op"},
	}
	for _, tt := range tests {
		if a := d.send(tt.op, tt.app, tt.secret); !strings.Contains(a.Error, tt.want) {
			t.Errorf("%s %q: answer %+v, want an error saying %q", tt.op, tt.app, a, tt.want)
		}
	}
	if _, err := d.ctl.Write([]byte("not json\n")); err != nil {
		t.Fatal(err)
	}
	var a Ack
	if err := json.Unmarshal([]byte(d.line()), &a); err != nil || !strings.Contains(a.Error, "not an event") {
		t.Errorf("garbage line: %+v, %v", a, err)
	}
}

// TestControlEndStopsDaemon: when the supervisor goes (its pipe closes), the daemon
// stops instead of outliving it.
func TestControlEndStopsDaemon(t *testing.T) {
	d := startDaemon(t, t.TempDir(), nil)
	d.ctl.Close()
	for range d.lines {
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
}
