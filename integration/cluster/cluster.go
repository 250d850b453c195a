// Package cluster finds the real Hadoop test cluster that scripts/minicluster starts
// (MiniYARNCluster + MiniDFSCluster) and runs the harness's Java-side checks, so Go
// end-to-end tests can compare what our clients see with what Hadoop's own classes see.
package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Info is the cluster's cluster.json, written by the harness when it is ready.
type Info struct {
	RM        string `json:"rm"`
	Scheduler string `json:"scheduler"`
	RMWebapp  string `json:"rmWebapp"`
	DefaultFS string `json:"defaultFS"`
	NN        string `json:"nn"`
	Nodes     []Node `json:"nodes"`

	// The fault-injection cluster's (`scripts/minicluster up --faults`) alone; see
	// control.go. RM, Scheduler and RMWebapp name its first RM there.
	ResourceManagers []RM       `json:"resourceManagers,omitempty"`
	DataNodes        []DataNode `json:"dataNodes,omitempty"`
	// MemoryEnforced: the NodeManagers kill containers over their physical or
	// virtual memory limit, as Hadoop ships them.
	MemoryEnforced bool     `json:"memoryEnforced,omitempty"`
	Control        *Control `json:"control,omitempty"`
}

// Node is one NodeManager.
type Node struct {
	NodeID      string   `json:"nodeId"`
	HTTPAddress string   `json:"httpAddress"`
	LogDirs     []string `json:"logDirs"`
	LocalDirs   []string `json:"localDirs"`
}

// Cluster is a running test cluster.
type Cluster struct {
	ConfDir string
	Info    Info
}

// FromEnv returns the cluster HADOOP_CONF_DIR points at, or skips the test when there
// is none: `make test` and CI always start one, a plain `go test` may not.
func FromEnv(t testing.TB) *Cluster {
	t.Helper()
	dir := os.Getenv("HADOOP_CONF_DIR")
	if dir == "" {
		t.Skip("minicluster not running: HADOOP_CONF_DIR unset; run `eval $(scripts/minicluster up)` or `make test`")
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatalf("HADOOP_CONF_DIR=%s: %v", dir, err)
	}
	return c
}

// Load reads a cluster's description from its configuration directory.
func Load(dir string) (*Cluster, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cluster.json"))
	if err != nil {
		return nil, fmt.Errorf("not a minicluster configuration: %w", err)
	}
	c := &Cluster{ConfDir: dir}
	if err := json.Unmarshal(b, &c.Info); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "cluster.json"), err)
	}
	return c, nil
}

// Report is Hadoop's YarnClient view of an application.
type Report struct {
	State           string `json:"state"`
	FinalStatus     string `json:"finalStatus"`
	Diagnostics     string `json:"diagnostics"`
	TrackingURL     string `json:"trackingUrl"`
	ApplicationType string `json:"applicationType"`
}

// JavaReport asks Hadoop's own Java YarnClient for an application's report.
func (c *Cluster) JavaReport(ctx context.Context, appID string) (Report, error) {
	var r Report
	out, err := run(HarnessCommand(ctx, "report", "--conf-dir", c.ConfDir, appID))
	if err != nil {
		return r, fmt.Errorf("java report %s: %w", appID, err)
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return r, fmt.Errorf("java report %s: %w: %s", appID, err, out)
	}
	return r, nil
}

// ContainerLogs reads the files a container wrote to its NodeManager log directory
// (stdout, stderr, launch_container.sh, ...), as `yarn logs` shows them.
func (c *Cluster) ContainerLogs(appID, containerID string) (map[string]string, error) {
	for _, n := range c.Info.Nodes {
		for _, d := range n.LogDirs {
			dir := filepath.Join(d, appID, containerID)
			entries, err := os.ReadDir(dir)
			if err != nil {
				continue
			}
			out := map[string]string{}
			for _, e := range entries {
				if e.IsDir() {
					continue
				}
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					return nil, err
				}
				out[e.Name()] = string(b)
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("no log directory of container %s of %s on any NodeManager", containerID, appID)
}

// RepoRoot is the checkout's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// HarnessCommand runs a harness subcommand (report, write-tokens, read-tokens) with
// the harness's JVM flags and classpath.
func HarnessCommand(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, filepath.Join(RepoRoot(), "scripts", "minicluster"), append([]string{"java"}, args...)...)
}

func run(cmd *exec.Cmd) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(lastLines(stderr.String(), 5)))
	}
	return stdout.Bytes(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
