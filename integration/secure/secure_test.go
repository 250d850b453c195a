// Package secure runs Spindle on the Kerberized minicluster (`scripts/minicluster up
// --secure`: an MIT KDC, RPC privacy, SASL-protected data transfer with AES, and
// delegation tokens that live two minutes) through `spindle submit`, as a user with
// a keytab or a `kinit` ticket cache would, and checks what the issue asks: the jobs'
// output, that a job outlives its first tokens, the login errors, that no secret
// reaches a log, and that the wire carries no plaintext.
package secure

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/integration/cluster"
	"github.com/spindle-engine/spindle/integration/testenv"
	"github.com/spindle-engine/spindle/security/kerberos"
	"github.com/spindle-engine/spindle/yarn"
)

// env is the package's one view of the secure cluster, with the binaries built and
// a Kerberos login of the test user for the test's own HDFS and RM calls.
type env struct {
	c      *cluster.Secure
	hadoop *conf.Hadoop
	bin    string // spindle, wordcount, outlive
	login  *kerberos.User
	fss    *hdfs.FileSystems
	rm     *yarn.ResourceManager
	base   string // this run's HDFS directory, under the test user's home
}

var (
	setupOnce sync.Once
	shared    *env
	setupErr  error
)

func setup(t *testing.T) *env {
	t.Helper()
	c := cluster.SecureFromEnv(t)
	setupOnce.Do(func() { shared, setupErr = newEnv(c) })
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return shared
}

func newEnv(c *cluster.Secure) (*env, error) {
	bin, err := os.MkdirTemp("", "spindle-secure-bin-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("go", "build", "-o", bin+"/", "./cmd/spindle", "./examples/wordcount", "./integration/secure/internal/outlive")
	cmd.Dir = cluster.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build binaries: %v\n%s", err, out)
	}
	h, err := conf.LoadHadoop(c.ConfDir)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u, err := kerberos.Login(ctx, kerberos.Options{Principal: c.Principal, Keytab: c.Keytab, Config: c.KRB5Config})
	if err != nil {
		return nil, err
	}
	o, err := hdfs.OptionsFrom(h, u.ShortName())
	if err != nil {
		return nil, err
	}
	o.Kerberos = u.Client()
	rm, err := yarn.NewResourceManager(h, yarn.WithKerberos(u.Client()))
	if err != nil {
		return nil, err
	}
	return &env{c: c, hadoop: h, bin: bin, login: u, fss: hdfs.NewFileSystems(o), rm: rm,
		base: fmt.Sprintf("/user/%s/secure-%d", u.ShortName(), time.Now().UnixNano())}, nil
}

// path is an hdfs:/// URL for one test's file, removed when the test ends.
func (e *env) path(t *testing.T, name string) string {
	t.Helper()
	p := e.base + "/" + t.Name() + "/" + name
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if fsys, inner, err := e.fss.Resolve(ctx, "hdfs://"+p); err == nil {
			fsys.RemoveAll(ctx, inner)
		}
	})
	return "hdfs://" + p
}

// write writes data to an hdfs:// URL with the test's own Kerberized client.
func (e *env) write(t *testing.T, url string, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fsys, p, err := e.fss.Resolve(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	w, err := fsys.Create(ctx, p)
	if err != nil {
		t.Fatalf("create %s: %v", url, err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("write %s: %v", url, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close %s: %v", url, err)
	}
}

// lines reads the part files of an output directory, sorted line by line.
func (e *env) lines(t *testing.T, url string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fsys, dir, err := e.fss.Resolve(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	return partLines(t, ctx, fsys, dir)
}

func partLines(t *testing.T, ctx context.Context, fsys hdfs.FS, dir string) []string {
	t.Helper()
	infos, err := fsys.List(ctx, dir)
	if err != nil {
		t.Fatalf("read output %s: %v", dir, err)
	}
	var out []string
	for _, fi := range infos {
		if !strings.HasPrefix(filepath.Base(fi.Path), "part-") {
			continue
		}
		f, err := fsys.Open(ctx, fi.Path)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, err = b.ReadFrom(f)
		f.Close()
		if err != nil {
			t.Fatalf("read %s: %v", fi.Path, err)
		}
		out = append(out, strings.Split(strings.TrimSpace(b.String()), "\n")...)
	}
	sort.Strings(out)
	return out
}

// kinit writes a ticket cache for the test user with MIT kinit, exactly as a user
// does, and returns its KRB5CCNAME. lifetime "" is the realm's default.
func (e *env) kinit(t *testing.T, lifetime string) string {
	t.Helper()
	cc := "FILE:" + filepath.Join(t.TempDir(), "krb5cc")
	args := []string{"-kt", e.c.Keytab, "-c", cc}
	if lifetime != "" {
		args = append(args, "-l", lifetime)
	}
	cmd := exec.Command("kinit", append(args, e.c.Principal)...)
	cmd.Env = append(os.Environ(), "KRB5_CONFIG="+e.c.KRB5Config)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit: %v\n%s", err, out)
	}
	return cc
}

// result is one CLI run.
type result struct {
	out  string // stdout and stderr
	code int
	app  string
}

var appIDPattern = regexp.MustCompile(`application_\d+_\d+`)

// login is how a CLI run authenticates: a keytab, a ticket cache, or nothing; and,
// for the error tests, another Hadoop configuration or krb5.conf.
type login struct {
	keytab  bool
	ccache  string // KRB5CCNAME; for no credentials, a cache that does not exist
	confDir string // HADOOP_CONF_DIR instead of the cluster's
	krb5    string // KRB5_CONFIG instead of the realm's
}

// run runs the spindle CLI against the secure cluster with l's credentials.
func (e *env) run(t *testing.T, ctx context.Context, l login, args ...string) result {
	t.Helper()
	return e.start(t, ctx, l, args...).wait(t)
}

// running is a CLI run under way.
type running struct {
	cmd    *exec.Cmd
	out    *testenv.SyncBuffer
	name   string
	exited chan struct{} // closed when the process has ended
	err    error         // Wait's, once exited is closed
}

// start starts the spindle CLI against the secure cluster with l's credentials.
func (e *env) start(t *testing.T, ctx context.Context, l login, args ...string) *running {
	t.Helper()
	if l.keytab && args[0] == "submit" {
		args = append([]string{"submit", "--principal", e.c.Principal, "--keytab", e.c.Keytab}, args[1:]...)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(e.bin, "spindle"), args...)
	ccache := l.ccache
	if ccache == "" {
		ccache = "FILE:" + filepath.Join(t.TempDir(), "no-such-cache")
	}
	// The cluster, its realm and the user's cache: the open cluster's
	// HADOOP_CONF_DIR and a caller's cache must not leak in.
	confDir, krb5 := e.c.ConfDir, e.c.KRB5Config
	if l.confDir != "" {
		confDir = l.confDir
	}
	if l.krb5 != "" {
		krb5 = l.krb5
	}
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+confDir, "KRB5_CONFIG="+krb5, "KRB5CCNAME="+ccache, "HADOOP_USER_NAME=")
	out := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("spindle %s: %v", args[0], err)
	}
	r := &running{cmd: cmd, out: out, name: args[0], exited: make(chan struct{})}
	// The waiter is the run's own: wait, which every caller reaches, joins it.
	go func() {
		r.err = cmd.Wait()
		close(r.exited)
	}()
	return r
}

// wait waits for the run to end.
func (r *running) wait(t *testing.T) result {
	t.Helper()
	<-r.exited
	err := r.err
	res := result{out: r.out.String(), app: appIDPattern.FindString(r.out.String())}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("spindle %s: %v\n%s", r.name, err, res.out)
	}
	return res
}

// yarnArgs are the submit flags every test uses: small containers, one attempt.
func yarnArgs(mode string, extra ...string) []string {
	args := []string{"submit", "--master", "yarn", "--deploy-mode", mode,
		"--num-executors", "2", "--executor-cores", "1", "--executor-memory", "512m", "--driver-memory", "512m",
		"--conf", "spindle.yarn.maxAppAttempts=1"}
	return append(args, extra...)
}

// report is the RM's final report of app.
func (e *env) report(t *testing.T, app string) *yarn.AppReport {
	t.Helper()
	id, err := yarn.ParseAppID(app)
	if err != nil {
		t.Fatalf("application id %q: %v", app, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		r, err := e.rm.Report(ctx, id)
		if err != nil {
			t.Fatalf("report %s: %v", app, err)
		}
		if r.State.Terminal() {
			return r
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s still %s", app, r.State)
		case <-time.After(200 * time.Millisecond): // polling the RM for a terminal state
		}
	}
}

// containerDirs lists, for every container of app, its log directory and its
// working directory (which YARN keeps for a while after the application ends).
func (e *env) containerDirs(app string) (logs, work []string) {
	for _, n := range e.c.Info.Nodes {
		for _, d := range n.LogDirs {
			entries, _ := os.ReadDir(filepath.Join(d, app))
			for _, c := range entries {
				logs = append(logs, filepath.Join(d, app, c.Name()))
			}
		}
		for _, d := range n.LocalDirs {
			matches, _ := filepath.Glob(filepath.Join(d, "usercache", "*", "appcache", app, "container_*"))
			work = append(work, matches...)
		}
	}
	return logs, work
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wordsInput is a text whose word count is easy to check.
func wordsInput() []byte {
	var b bytes.Buffer
	words := []string{"kerberos", "token", "hdfs", "yarn", "privacy", "spindle", "renewal"}
	for i := range 5000 {
		fmt.Fprintf(&b, "%s %s %s\n", words[i%len(words)], words[(i*3)%len(words)], words[(i*5+1)%len(words)])
	}
	return b.Bytes()
}
