package deploy

// End-to-end tests on the real minicluster (scripts/minicluster up): the AM is
// internal/testjob, which checks its container and reports through the RM.

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hdfsclient "github.com/colinmarc/hdfs/v2"
	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/integration/cluster"
	"github.com/spindle-engine/spindle/yarn"
)

type e2e struct {
	c      *cluster.Cluster
	hadoop *conf.Hadoop
	job    string // the built testjob
	fs     *hdfsclient.Client
	user   string
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	c := cluster.FromEnv(t)
	h, err := conf.LoadHadoop(c.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	job := filepath.Join(t.TempDir(), "testjob")
	cmd := exec.Command("go", "build", "-o", job, "./internal/testjob")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build testjob: %v\n%s", err, out)
	}
	u := (&Spec{}).user()
	nn, err := url.Parse(c.Info.DefaultFS)
	if err != nil {
		t.Fatal(err)
	}
	client, err := hdfsclient.NewClient(hdfsclient.ClientOptions{Addresses: []string{nn.Host}, User: u})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return &e2e{c: c, hadoop: h, job: job, fs: client, user: u}
}

func (e *e2e) spec(t *testing.T, c map[string]string, args ...string) *Spec {
	t.Helper()
	jc := conf.New()
	all := map[string]string{"spindle.driver.memory": "512m", "spindle.yarn.maxAppAttempts": "1"}
	for k, v := range c {
		all[k] = v
	}
	if errs := jc.SetAll(all); len(errs) > 0 {
		t.Fatal(errs)
	}
	return &Spec{
		Binary: e.job, Args: args, Name: "spindle-deploy-" + t.Name(), Conf: jc, Hadoop: e.hadoop,
		HadoopConfDir: e.c.ConfDir, Mode: ModeCluster, User: e.user, Log: zerolog.Nop(),
	}
}

// stagingPath is the HDFS path of a staging URL.
func stagingPath(t *testing.T, staging string) string {
	u, err := url.Parse(staging)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

// amStderr waits for the AM container's stderr to hold want.
func (e *e2e) amStderr(t *testing.T, ctx context.Context, id yarn.AppID, want string) string {
	t.Helper()
	amc := yarn.ContainerID{Attempt: yarn.AttemptID{App: id, Attempt: 1}, ID: 1}
	for {
		logs, err := e.c.ContainerLogs(id.String(), amc.String())
		if err == nil && strings.Contains(logs["stderr"], want) {
			return logs["stderr"]
		}
		select {
		case <-ctx.Done():
			t.Fatalf("AM stderr of %s lacks %q (%v): %q", id, want, err, logs["stderr"])
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestSubmitOnMinicluster submits testjob in cluster mode with a file and an
// archive, and checks the final status, what the AM found in its container, the
// staging directory's mode and its removal.
func TestSubmitOnMinicluster(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data.txt")
	if err := os.WriteFile(data, []byte("shipped\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "bundle.zip")
	writeZip(t, archive, "inner.txt", "shipped\n")

	spec := e.spec(t, nil, "hello world", "it's", "file=data.txt", "file=arch/inner.txt")
	spec.Files = []string{data}
	spec.Archives = []string{archive + "#arch"}
	spec.Secret = []byte("deploy-e2e-secret")
	app, err := Submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	t.Cleanup(func() { app.Cleanup(context.Background()) })
	staging := stagingPath(t, app.Staging)
	if !strings.HasSuffix(staging, "/.spindleStaging/"+app.ID.String()) {
		t.Errorf("staging dir %s", staging)
	}
	st, err := e.fs.Stat(staging)
	if err != nil {
		t.Fatalf("staging dir during the run: %v", err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("staging dir mode %v, want 0700", st.Mode().Perm())
	}
	var states []string
	r, err := app.Wait(ctx, 200*time.Millisecond, func(r *yarn.AppReport) { states = append(states, r.State.String()) })
	if err != nil {
		t.Fatal(err)
	}
	stderr := e.amStderr(t, ctx, app.ID, "testjob:")
	if r.State != yarn.StateFinished || r.FinalStatus != yarn.Succeeded {
		t.Fatalf("%s ended %s/%s: %s\nAM stderr:\n%s", app.ID, r.State, r.FinalStatus, r.Diagnostics, stderr)
	}
	if want := `["hello world" "it's" "file=data.txt" "file=arch/inner.txt"]`; !strings.Contains(r.Diagnostics, want) {
		t.Errorf("diagnostics %q lack the arguments %s", r.Diagnostics, want)
	}
	if states[len(states)-1] != "FINISHED" || len(states) < 2 {
		t.Errorf("state changes %v", states)
	}
	if want := fmt.Sprintf("secret sha256=%x", sha256.Sum256(spec.Secret)); !strings.Contains(stderr, want) {
		t.Errorf("AM stderr lacks %q:\n%s", want, stderr)
	}
	if err := app.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.fs.Stat(staging); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("staging dir after Cleanup: %v", err)
	}
	if err := app.Cleanup(ctx); err != nil {
		t.Fatalf("second Cleanup: %v", err)
	}
}

// TestOversizedExecutor fails before anything is staged or submitted.
func TestOversizedExecutor(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root := "/user/" + e.user + "/.spindleStaging"
	before, _ := e.fs.ReadDir(root)
	_, err := Submit(ctx, e.spec(t, map[string]string{"spindle.executor.memory": "64g"}, "never"))
	var re *ResourceError
	if !errors.As(err, &re) {
		t.Fatalf("Submit = %v, want a *ResourceError", err)
	}
	// The RM's maximum is bounded by its largest NodeManager (4096 MB here), below
	// yarn.scheduler.maximum-allocation-mb (8192 MB): the error names both.
	configured, _ := e.hadoop.Get("yarn.scheduler.maximum-allocation-mb")
	if re.Max.MemoryMB <= 0 || configured == "" {
		t.Fatalf("maximum %+v, configured %q", re.Max, configured)
	}
	for _, want := range []string{"72090 MB", fmt.Sprintf("maximum of %d MB", re.Max.MemoryMB), configured + " MB", "--executor-memory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "application_") {
		t.Errorf("error %q names an application, but none was submitted", err)
	}
	after, _ := e.fs.ReadDir(root)
	if len(after) != len(before) {
		t.Errorf("staging dirs went from %d to %d", len(before), len(after))
	}
}

// TestKill kills a running application through App.Kill.
func TestKill(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	app, err := Submit(ctx, e.spec(t, nil, "hang"))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	defer app.Cleanup(context.Background())
	r, err := app.WaitFor(ctx, 200*time.Millisecond, nil, func(s yarn.AppState) bool { return s == yarn.StateRunning })
	if err != nil || r.State != yarn.StateRunning {
		t.Fatalf("waiting for RUNNING: %v, %+v", err, r)
	}
	if err := app.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err = app.Wait(ctx, 200*time.Millisecond, nil); err != nil || r.State != yarn.StateKilled {
		t.Fatalf("after Kill: %v, %+v", err, r)
	}
}

func writeZip(t *testing.T, path, name, content string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.Create(name)
	if err == nil {
		_, err = w.Write([]byte(content))
	}
	if err = errors.Join(err, zw.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}
}
