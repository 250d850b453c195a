// Package testenv is what a cluster test suite shares: the spindle CLI and its job
// binaries built once, HDFS and RM clients, running submits, reading outputs and
// finding Spindle's processes on this machine.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	hdfsclient "github.com/colinmarc/hdfs/v2"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/integration/cluster"
	"github.com/spindle-engine/spindle/yarn"
)

// Env is a test suite's connection to a running cluster, with the spindle CLI and
// the suite's job binaries built: one per suite, shared by its tests.
type Env struct {
	C   *cluster.Cluster
	Bin string // the directory holding spindle and the suite's job binaries
	FS  *hdfsclient.Client
	RM  *yarn.ResourceManager
	// Base is this run's HDFS directory, so that runs never see each other's files.
	Base string
}

// New builds the spindle CLI and the packages (import paths relative to the
// repository, e.g. ./examples/wordcount) into a temporary directory, and connects
// to c's HDFS and ResourceManager.
func New(c *cluster.Cluster, packages ...string) (*Env, error) {
	bin, err := os.MkdirTemp("", "spindle-test-bin-")
	if err != nil {
		return nil, err
	}
	args := append([]string{"build", "-o", bin + "/", "./cmd/spindle"}, packages...)
	cmd := exec.Command("go", args...)
	cmd.Dir = cluster.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build binaries: %v\n%s", err, out)
	}
	fs, err := hdfsclient.NewClient(hdfsclient.ClientOptions{Addresses: []string{c.Info.NN}, User: deploy.HadoopUser()})
	if err != nil {
		return nil, fmt.Errorf("HDFS client: %w", err)
	}
	h, err := conf.LoadHadoop(c.ConfDir)
	if err != nil {
		return nil, err
	}
	rm, err := yarn.NewResourceManager(h)
	if err != nil {
		return nil, err
	}
	return &Env{C: c, Bin: bin, FS: fs, RM: rm, Base: fmt.Sprintf("/test-%d", time.Now().UnixNano())}, nil
}

// Dir is an HDFS directory for one test, removed when it ends.
func (e *Env) Dir(t testing.TB, name string) string {
	t.Helper()
	d := e.Base + "/" + strings.NewReplacer("/", "_", " ", "_").Replace(name)
	t.Cleanup(func() { e.FS.RemoveAll(d) })
	return d
}

// WriteHDFS writes data into a new HDFS file with the given block size and
// replication.
func (e *Env) WriteHDFS(t testing.TB, p string, data []byte, blockSize int64, replication int) {
	t.Helper()
	if err := e.FS.MkdirAll(path.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := e.FS.CreateFile(p, replication, blockSize, 0o644)
	if err != nil {
		t.Fatalf("create %s: %v", p, err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
	if err := hdfs.CloseWriter(w); err != nil {
		t.Fatalf("close %s: %v", p, err)
	}
}

// Output is what a job left in its output directory.
type Output struct {
	Parts     []string // part file names, sorted
	Lines     []string // every part's lines, sorted
	Success   bool     // _SUCCESS exists
	Temporary bool     // _temporary exists
	Others    []string // any other names
}

// ReadOutput reads a job's output directory.
func (e *Env) ReadOutput(t testing.TB, dir string) Output {
	t.Helper()
	infos, err := e.FS.ReadDir(dir)
	if err != nil {
		t.Fatalf("read output %s: %v", dir, err)
	}
	var o Output
	for _, fi := range infos {
		switch name := fi.Name(); {
		case name == hdfs.SuccessMarker:
			o.Success = true
		case name == "_temporary":
			o.Temporary = true
		case strings.HasPrefix(name, "part-"):
			o.Parts = append(o.Parts, name)
			data, err := e.FS.ReadFile(dir + "/" + name)
			if err != nil {
				t.Fatal(err)
			}
			for l := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
				if l != "" {
					o.Lines = append(o.Lines, l)
				}
			}
		default:
			o.Others = append(o.Others, name)
		}
	}
	slices.Sort(o.Parts)
	slices.Sort(o.Lines)
	return o
}

// CheckCommitted fails t unless dir holds a whole committed output of parts part
// files (any count when parts < 0): _SUCCESS, no _temporary, nothing else; and,
// when want is not nil, exactly want's lines (in any order).
func (e *Env) CheckCommitted(t testing.TB, dir string, parts int, want []string) Output {
	t.Helper()
	o := e.ReadOutput(t, dir)
	if !o.Success || o.Temporary || len(o.Others) > 0 || (parts >= 0 && len(o.Parts) != parts) {
		t.Fatalf("output %s: _SUCCESS %v, _temporary %v, %d part files (want %d), others %v",
			dir, o.Success, o.Temporary, len(o.Parts), parts, o.Others)
	}
	if want != nil {
		w := slices.Sorted(slices.Values(want))
		if !slices.Equal(o.Lines, w) {
			t.Fatalf("output %s differs from the clean run: %d lines, want %d%s", dir, len(o.Lines), len(w), firstDiff(o.Lines, w))
		}
	}
	return o
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("; first difference at sorted line %d: %q, want %q", i, got[i], want[i])
		}
	}
	return ""
}

// Exists says whether an HDFS path exists.
func (e *Env) Exists(p string) bool {
	_, err := e.FS.Stat(p)
	return err == nil
}

// Result is one run of the spindle CLI.
type Result struct {
	Out  string // stdout and stderr
	Code int
	App  string // the application id the CLI printed, if any
}

var appIDPattern = regexp.MustCompile(`application_\d+_\d+`)

// Command runs the spindle CLI with the cluster's configuration.
func (e *Env) Command(t testing.TB, ctx context.Context, args ...string) Result {
	t.Helper()
	r, err := e.Start(ctx, args...).Wait()
	if err != nil {
		t.Fatalf("spindle %s: %v\n%s", args[0], err, r.Out)
	}
	return r
}

// Submit runs `spindle submit args...`.
func (e *Env) Submit(t testing.TB, ctx context.Context, args ...string) Result {
	t.Helper()
	return e.Command(t, ctx, append([]string{"submit"}, args...)...)
}

// Running is a spindle CLI run in the background.
type Running struct {
	Cmd  *exec.Cmd
	out  SyncBuffer
	done chan struct{}
	err  error
}

// Start starts the spindle CLI; Wait ends it.
func (e *Env) Start(ctx context.Context, args ...string) *Running {
	r := &Running{done: make(chan struct{})}
	r.Cmd = exec.CommandContext(ctx, filepath.Join(e.Bin, "spindle"), args...)
	r.Cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+e.C.ConfDir, "HADOOP_USER_NAME="+deploy.HadoopUser())
	r.Cmd.Stdout, r.Cmd.Stderr = &r.out, &r.out
	if err := r.Cmd.Start(); err != nil {
		r.err = err
		close(r.done)
		return r
	}
	go func() {
		r.err = r.Cmd.Wait()
		close(r.done)
	}()
	return r
}

// Output is what the run printed so far.
func (r *Running) Output() string { return r.out.String() }

// App is the application id the run printed, once it has.
func (r *Running) App() string { return appIDPattern.FindString(r.out.String()) }

// Wait waits for the run to end; an exit status other than 0 is the result's
// Code, not an error.
func (r *Running) Wait() (Result, error) {
	<-r.done
	res := Result{Out: r.out.String(), App: r.App()}
	if ee, ok := r.err.(*exec.ExitError); ok {
		res.Code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Code = 128 + int(ws.Signal()) // as a shell reports it
		}
		return res, nil
	}
	return res, r.err
}

// Report waits up to timeout for app to end and returns the RM's final report.
func (e *Env) Report(t testing.TB, app string, timeout time.Duration) *yarn.AppReport {
	t.Helper()
	id, err := yarn.ParseAppID(app)
	if err != nil {
		t.Fatalf("application id %q: %v", app, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		r, err := e.RM.Report(ctx, id)
		if err != nil {
			t.Fatalf("report %s: %v", app, err)
		}
		if r.State.Terminal() || ctx.Err() != nil {
			return r
		}
		time.Sleep(100 * time.Millisecond) // polling the RM for a terminal state
	}
}

// ContainerLogs returns the stderr of each container of app, by container id, and
// the NodeManager each ran on.
func (e *Env) ContainerLogs(app string) (stderr map[string]string, node map[string]string) {
	stderr, node = map[string]string{}, map[string]string{}
	for _, n := range e.C.Info.Nodes {
		for _, d := range n.LogDirs {
			entries, _ := os.ReadDir(filepath.Join(d, app))
			for _, c := range entries {
				b, err := os.ReadFile(filepath.Join(d, app, c.Name(), "stderr"))
				if err != nil {
					continue
				}
				stderr[c.Name()], node[c.Name()] = string(b), n.NodeID
			}
		}
	}
	return stderr, node
}

// Process is one of this machine's Spindle processes.
type Process struct {
	PID       int
	Role      string // SPINDLE_ROLE: am, executor, driver
	App       string // SPINDLE_APP_ID
	Container string // CONTAINER_ID, set by the NodeManager
}

// Processes lists this machine's Spindle processes of app (any app when empty) in
// role (any role when empty), from their environments.
func Processes(app, role string) []Process {
	entries, _ := os.ReadDir("/proc")
	var out []Process
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil {
			continue
		}
		var p Process
		for v := range strings.SplitSeq(string(env), "\x00") {
			k, val, _ := strings.Cut(v, "=")
			switch k {
			case "SPINDLE_ROLE":
				p.Role = val
			case "SPINDLE_APP_ID":
				p.App = val
			case "CONTAINER_ID":
				p.Container = val
			}
		}
		if p.Role == "" || (app != "" && p.App != app) || (role != "" && p.Role != role) {
			continue
		}
		p.PID = pid
		out = append(out, p)
	}
	return out
}

// Poll calls cond every interval until it returns true or timeout passes, then
// fails t saying what was awaited.
func Poll(t testing.TB, what string, timeout, interval time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(interval) // polling: the state is another process's
	}
}

// SyncBuffer is a buffer a running command writes while a test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
