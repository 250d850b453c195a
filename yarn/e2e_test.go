package yarn

// End-to-end tests against the real minicluster (scripts/minicluster up).
// They run when HADOOP_CONF_DIR points at it and skip otherwise. The AM is
// the Go program in internal/testam.

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/integration/cluster"
	"github.com/spindle-engine/spindle/ipc"
)

// buildTestAM compiles internal/testam into a temporary directory.
func buildTestAM(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "testam")
	cmd := exec.Command("go", "build", "-o", bin, "./internal/testam")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build testam: %v\n%s", err, out)
	}
	return bin
}

type e2e struct {
	t    *testing.T
	c    *cluster.Cluster
	conf *conf.Hadoop
	rm   *ResourceManager
	am   string
}

// newE2E connects to the minicluster (skipping without one) and builds testam.
func newE2E(t *testing.T) *e2e {
	c := cluster.FromEnv(t)
	h, err := conf.LoadHadoop(c.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := NewResourceManager(h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rm.Close() })
	return &e2e{t: t, c: c, conf: h, rm: rm, am: buildTestAM(t)}
}

// nodeNames returns the scheduler's names for the harness's two nodes,
// checking that the RM reports the same NodeManagers.
func (e *e2e) nodeNames(ctx context.Context) []string {
	nodes, err := e.rm.Nodes(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	running := map[string]bool{}
	for _, n := range nodes {
		running[n.ID.String()] = true
	}
	withPort, _ := e.conf.Get("yarn.scheduler.include-port-in-node-name")
	var names []string
	for _, n := range e.c.Info.Nodes {
		if !running[n.NodeID] {
			e.t.Fatalf("harness node %s is not among the RM's running nodes %v", n.NodeID, running)
		}
		id, err := ParseNodeID(n.NodeID)
		if err != nil {
			e.t.Fatal(err)
		}
		if strings.EqualFold(withPort, "true") {
			names = append(names, id.String())
		} else {
			names = append(names, id.Host)
		}
	}
	if len(names) != 2 {
		e.t.Fatalf("want 2 nodes, harness has %v", names)
	}
	return names
}

// submit starts an application whose AM runs testam in mode. The launch
// context carries credentials written by us, which the RM reads with
// Hadoop's Credentials class, extends with the AMRMToken and rewrites for
// the NodeManager: the AM reports what it finds there.
func (e *e2e) submit(ctx context.Context, mode string, env map[string]string) AppID {
	t := e.t
	id, max, err := e.rm.NewApplication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if max.MemoryMB <= 0 {
		t.Fatalf("maximum resource %+v", max)
	}
	res, err := FileResource(e.am)
	if err != nil {
		t.Fatal(err)
	}
	amEnv := map[string]string{"HADOOP_CONF_DIR": e.c.ConfDir}
	for k, v := range env {
		amEnv[k] = v
	}
	creds := NewCredentials()
	creds.Tokens["spindle"] = &ipc.Token{Identifier: []byte("id"), Password: []byte("pw"), Kind: "SPINDLE_TEST", Service: "127.0.0.1:1"}
	creds.Secrets["spindle.secret"] = []byte("s3cr3t")
	err = e.rm.Submit(ctx, &SubmissionContext{
		App: id, Name: "spindle-e2e-" + mode, AMResource: Resource{MemoryMB: 256, VCores: 1},
		MaxAttempts: 1, Tags: []string{"spindle-e2e"},
		AMContainer: &LaunchContext{
			LocalResources: map[string]LocalResource{"testam": res},
			Env:            amEnv,
			Tokens:         creds.Bytes(),
			Commands:       []string{"./testam " + mode + " 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// waitState polls the RM until the application reaches a state accepted by done.
func (e *e2e) waitState(ctx context.Context, id AppID, done func(AppState) bool) *AppReport {
	for {
		r, err := e.rm.Report(ctx, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if done(r.State) {
			return r
		}
		select {
		case <-ctx.Done():
			e.t.Fatalf("%s: still %s (%s): %v", id, r.State, r.Diagnostics, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// amOutput reads the AM's JSON report from its stdout in the NodeManager's
// log directory.
func (e *e2e) amOutput(ctx context.Context, r *AppReport) amReport {
	t := e.t
	amc := ContainerID{Attempt: AttemptID{App: r.ID, Attempt: 1}, ID: 1}
	for {
		logs, err := e.c.ContainerLogs(r.ID.String(), amc.String())
		if err == nil && strings.Contains(logs["stdout"], "\n") {
			return parseAMReport(t, logs["stdout"])
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no AM stdout for %s (%v): %v", amc, err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkJavaReport compares our report with Hadoop's YarnClient's.
func (e *e2e) checkJavaReport(ctx context.Context, r *AppReport) {
	t := e.t
	j, err := e.c.JavaReport(ctx, r.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if j.State != r.State.String() || j.FinalStatus != r.FinalStatus.String() || j.Diagnostics != r.Diagnostics ||
		j.TrackingURL != r.TrackingURL || j.ApplicationType != r.AppType {
		t.Errorf("%s: Java YarnClient sees %+v, we see %s/%s %q %q %q", r.ID, j, r.State, r.FinalStatus, r.Diagnostics, r.TrackingURL, r.AppType)
	}
}

// amReport decodes testam's JSON line.
type amReport struct {
	Attempt     string   `json:"attempt"`
	Released    string   `json:"released"`
	StatusSeen  string   `json:"nm_status_seen"`
	Error       string   `json:"error"`
	Overask     string   `json:"overask"`
	Credentials []string `json:"credentials"`
	Shuffle     []struct {
		Node  string `json:"node"`
		Port  int    `json:"port"`
		Error string `json:"error"`
	} `json:"shuffle"`
	Containers []struct {
		ID       string `json:"id"`
		Node     string `json:"node"`
		Priority int32  `json:"priority"`
		Wanted   int32  `json:"wanted_exit"`
		Exit     int32  `json:"exit"`
		Diag     string `json:"diagnostics"`
	} `json:"containers"`
}

func parseAMReport(t *testing.T, stdout string) amReport {
	t.Helper()
	var r amReport
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "{") {
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("AM output %q: %v", line, err)
			}
			return r
		}
	}
	t.Fatalf("no report in AM stdout %q", stdout)
	return r
}

func e2eCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestE2ESucceeded(t *testing.T) {
	e := newE2E(t)
	ctx := e2eCtx(t)
	names := e.nodeNames(ctx)
	id := e.submit(ctx, "succeed", map[string]string{"TESTAM_NODES": strings.Join(names, ",")})
	r := e.waitState(ctx, id, AppState.Terminal)
	if r.State != StateFinished || r.FinalStatus != Succeeded {
		t.Fatalf("%s ended %s/%s: %s", id, r.State, r.FinalStatus, r.Diagnostics)
	}
	if !strings.Contains(r.Diagnostics, "testam: all containers done") {
		t.Errorf("diagnostics %q lack the AM's", r.Diagnostics)
	}
	if r.TrackingURL == "" || r.TrackingURL == "N/A" {
		t.Errorf("tracking URL %q", r.TrackingURL)
	}
	if r.AppType != "SPINDLE" || r.Name != "spindle-e2e-succeed" {
		t.Errorf("report %+v", r)
	}

	e.checkJavaReport(ctx, r)
	out := e.amOutput(ctx, r)
	if len(out.Containers) != 3 {
		t.Fatalf("AM saw %d containers: %+v", len(out.Containers), out)
	}
	pinnedNodes := map[string]bool{}
	exits := map[int32]bool{}
	for _, c := range out.Containers {
		switch {
		case c.ID == out.Released:
			if c.Exit >= 0 {
				t.Errorf("released container %s exit %d, want a YARN abort status", c.ID, c.Exit)
			}
		case c.Priority == 1:
			if c.Exit != c.Wanted {
				t.Errorf("container %s exit %d, want %d", c.ID, c.Exit, c.Wanted)
			}
			exits[c.Exit] = true
			pinnedNodes[c.Node] = true
		default:
			t.Errorf("unexpected container %+v", c)
		}
	}
	wantCreds := []string{"secret spindle.secret s3cr3t", "token  YARN_AM_RM_TOKEN", "token spindle SPINDLE_TEST"}
	if !reflect.DeepEqual(out.Credentials, wantCreds) {
		t.Errorf("AM credentials %q, want %q", out.Credentials, wantCreds)
	}
	if len(exits) != 2 || out.Released == "" || out.StatusSeen == "" {
		t.Errorf("AM report %+v", out)
	}
	if len(names) == 2 && names[0] != names[1] {
		// Node names carry ports: strict locality must have put one
		// pinned container on each named node.
		for _, n := range names {
			if !pinnedNodes[n] {
				t.Errorf("no pinned container on %s (got %v)", n, pinnedNodes)
			}
		}
	}
}

func TestE2EFailedAndKilled(t *testing.T) {
	e := newE2E(t)
	ctx := e2eCtx(t)
	failed := e.submit(ctx, "fail", nil)
	hang := e.submit(ctx, "hang", nil)

	r := e.waitState(ctx, failed, AppState.Terminal)
	if r.State != StateFinished || r.FinalStatus != Failed || !strings.Contains(r.Diagnostics, "failing on purpose") {
		t.Errorf("failed app: %s/%s %q", r.State, r.FinalStatus, r.Diagnostics)
	}
	e.checkJavaReport(ctx, r)

	e.waitState(ctx, hang, func(s AppState) bool { return s == StateRunning || s.Terminal() })
	if err := e.rm.KillWithReason(ctx, hang, "killed by the e2e test"); err != nil {
		t.Fatal(err)
	}
	r = e.waitState(ctx, hang, AppState.Terminal)
	if r.State != StateKilled || r.FinalStatus != Killed || !strings.Contains(r.Diagnostics, "killed by the e2e test") {
		t.Errorf("killed app: %s/%s %q", r.State, r.FinalStatus, r.Diagnostics)
	}
	e.checkJavaReport(ctx, r)
}

func TestE2EClusterInfoAndBadInput(t *testing.T) {
	e := newE2E(t)
	ctx := e2eCtx(t)
	m, err := e.rm.Metrics(ctx)
	if err != nil || m.Active < 2 {
		t.Errorf("metrics %+v, %v", m, err)
	}
	q, err := e.rm.Queue(ctx, "default")
	if err != nil || q.Name != "default" || q.State != "RUNNING" {
		t.Errorf("queue %+v, %v", q, err)
	}
	if _, err := e.rm.Report(ctx, AppID{ClusterTimestamp: 1, ID: 999}); !errors.Is(err, ErrAppNotFound) {
		t.Errorf("report of unknown app: want ErrAppNotFound, got %v", err)
	}
	// The RM issues delegation tokens (to any caller when insecure, to
	// Kerberos callers when secure).
	tok, err := e.rm.DelegationToken(ctx, "yarn")
	if err != nil || tok.Kind != "RM_DELEGATION_TOKEN" || len(tok.Identifier) == 0 || len(tok.Password) == 0 {
		t.Errorf("delegation token %+v, %v", tok, err)
	}
	// An AM resource over the cluster's maximum is refused with the RM's
	// InvalidResourceRequestException.
	id, max, err := e.rm.NewApplication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	creds := NewCredentials()
	creds.Tokens["spindle"] = &ipc.Token{Identifier: []byte("id"), Password: []byte("pw"), Kind: "SPINDLE_TEST", Service: "127.0.0.1:1"}
	creds.Secrets["spindle.secret"] = []byte("s3cr3t")
	err = e.rm.Submit(ctx, &SubmissionContext{
		App: id, Name: "too-big", AMResource: Resource{MemoryMB: max.MemoryMB * 2, VCores: 1},
		AMContainer: &LaunchContext{Commands: []string{"true"}},
	})
	if !errors.Is(err, ErrInvalidResourceRequest) {
		t.Errorf("oversized AM: want ErrInvalidResourceRequest, got %v", err)
	}
	// Inside a running AM, an oversized ask is refused the same way.
	ov := e.submit(ctx, "overask", nil)
	r := e.waitState(ctx, ov, AppState.Terminal)
	if r.FinalStatus != Succeeded {
		t.Errorf("overask AM: %s/%s %q", r.State, r.FinalStatus, r.Diagnostics)
	}
	if out := e.amOutput(ctx, r); !strings.Contains(out.Overask, "InvalidResourceRequestException") {
		t.Errorf("overask error %q", out.Overask)
	}
}
