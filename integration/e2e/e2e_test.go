// Package e2e runs Spindle jobs on the real minicluster through `spindle submit
// --master yarn`, in cluster and client mode, and checks what users would: the
// output in HDFS, the RM's final state, the CLI's messages and the containers' logs.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	hdfsclient "github.com/colinmarc/hdfs/v2"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/integration/cluster"
	"github.com/spindle-engine/spindle/yarn"
)

// env is the package's one connection to the minicluster, with the binaries built.
type env struct {
	c   *cluster.Cluster
	bin string // directory holding spindle, wordcount, revenue and testjob
	fs  *hdfsclient.Client
	rm  *yarn.ResourceManager
	// base is this run's HDFS directory, so that runs never see each other's files.
	base string
}

var (
	setupOnce sync.Once
	shared    *env
	setupErr  error
)

func setup(t *testing.T) *env {
	t.Helper()
	c := cluster.FromEnv(t)
	setupOnce.Do(func() { shared, setupErr = newEnv(c) })
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return shared
}

func newEnv(c *cluster.Cluster) (*env, error) {
	bin, err := os.MkdirTemp("", "spindle-e2e-bin-")
	if err != nil {
		return nil, err
	}
	root := cluster.RepoRoot()
	cmd := exec.Command("go", "build", "-o", bin+"/", "./cmd/spindle", "./examples/wordcount", "./examples/revenue", "./integration/e2e/internal/testjob")
	cmd.Dir = root
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
	return &env{c: c, bin: bin, fs: fs, rm: rm, base: fmt.Sprintf("/e2e-%d", time.Now().UnixNano())}, nil
}

// dir is an HDFS directory for one test, removed when it ends.
func (e *env) dir(t *testing.T, name string) string {
	t.Helper()
	d := e.base + "/" + name
	t.Cleanup(func() { e.fs.RemoveAll(d) })
	return d
}

// writeHDFS writes data into a new HDFS file with the given block size and two
// replicas, so that its splits have block locations on both DataNodes.
func (e *env) writeHDFS(t *testing.T, path string, data []byte, blockSize int64) {
	t.Helper()
	if err := e.fs.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := e.fs.CreateFile(path, 2, blockSize, 0o644)
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	if err := hdfs.CloseWriter(w); err != nil {
		t.Fatalf("close %s: %v", path, err)
	}
}

// readParts reads the part files of an output directory in HDFS, in order.
func (e *env) readParts(t *testing.T, dir string) string {
	t.Helper()
	infos, err := e.fs.ReadDir(dir)
	if err != nil {
		t.Fatalf("read output %s: %v", dir, err)
	}
	var b bytes.Buffer
	for _, fi := range infos {
		if !strings.HasPrefix(fi.Name(), "part-") {
			continue
		}
		data, err := e.fs.ReadFile(dir + "/" + fi.Name())
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

func (e *env) exists(path string) bool {
	_, err := e.fs.Stat(path)
	return err == nil
}

// result is one `spindle submit` run.
type result struct {
	out  string // stdout and stderr
	code int
	app  string // the application id the CLI printed, if any
}

var appIDPattern = regexp.MustCompile(`application_\d+_\d+`)

// submit runs `spindle submit` with the minicluster's configuration.
func (e *env) submit(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	return e.command(t, ctx, append([]string{"submit"}, args...)...)
}

// command runs the spindle CLI with the minicluster's configuration.
func (e *env) command(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(ctx, filepath.Join(e.bin, "spindle"), args...)
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+e.c.ConfDir, "HADOOP_USER_NAME="+deploy.HadoopUser())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	r := result{out: out.String(), app: appIDPattern.FindString(out.String())}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("spindle %s: %v\n%s", args[0], err, r.out)
	}
	return r
}

// crypto is whether this run of the suite encrypts Spindle's own connections
// (SPINDLE_E2E_CRYPTO=true): `make test` runs the suite both ways.
var crypto = os.Getenv("SPINDLE_E2E_CRYPTO") == "true"

// yarnArgs are the submit flags every test uses: small containers, one attempt, and
// encryption as the run asks.
func (e *env) yarnArgs(mode string, extra ...string) []string {
	args := []string{"--master", "yarn", "--deploy-mode", mode,
		"--num-executors", "2", "--executor-cores", "1", "--executor-memory", "512m", "--driver-memory", "512m",
		"--conf", "spindle.yarn.maxAppAttempts=1", "--conf", fmt.Sprintf("spindle.network.crypto.enabled=%v", crypto)}
	return append(args, extra...)
}

// report is the RM's final report of app.
func (e *env) report(t *testing.T, app string) *yarn.AppReport {
	t.Helper()
	id, err := yarn.ParseAppID(app)
	if err != nil {
		t.Fatalf("application id %q: %v", app, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		r, err := e.rm.Report(ctx, id)
		if err != nil {
			t.Fatalf("report %s: %v", app, err)
		}
		if r.State.Terminal() || ctx.Err() != nil {
			return r
		}
		time.Sleep(100 * time.Millisecond) // polling the RM for a terminal state
	}
}

// containerLogs returns the stderr of each container of app, by container id, and
// the NodeManager each ran on.
func (e *env) containerLogs(t *testing.T, app string) (stderr map[string]string, node map[string]string) {
	t.Helper()
	stderr, node = map[string]string{}, map[string]string{}
	for _, n := range e.c.Info.Nodes {
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
