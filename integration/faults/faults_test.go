// Package faults runs Spindle jobs on the real test cluster and breaks things while
// they run: executors and AMs killed, DataNodes stopped, the ResourceManager failed
// over, shuffle files corrupted, containers pushed past their memory. Each test
// compares the output with a clean run (sorted lines, byte for byte) and checks
// the output directory holds one _SUCCESS, no _temporary and only the winning
// attempts' part files.
//
// The suite runs on its own cluster, `scripts/minicluster up --faults`, which it
// finds through SPINDLE_FAULTS_CONF_DIR: what these tests break must not disturb
// the other suites.
package faults

import (
	"os"
	"sync"
	"testing"

	"github.com/spindle-engine/spindle/integration/cluster"
	"github.com/spindle-engine/spindle/integration/testenv"
)

var (
	setupOnce sync.Once
	shared    *testenv.Env
	setupErr  error
)

// setup returns the suite's environment, built once.
func setup(t *testing.T) *testenv.Env {
	t.Helper()
	dir := os.Getenv("SPINDLE_FAULTS_CONF_DIR")
	if dir == "" {
		t.Skip("fault cluster not running: SPINDLE_FAULTS_CONF_DIR unset; run `eval $(scripts/minicluster up --faults)` or `make test`")
	}
	setupOnce.Do(func() {
		var c *cluster.Cluster
		if c, setupErr = cluster.Load(dir); setupErr == nil {
			shared, setupErr = testenv.New(c, "./integration/faults/internal/faultjob")
		}
	})
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return shared
}

// yarnArgs are the submit flags the suite's jobs use: two small executors, the
// given deploy mode, and input split at 1 MiB, so that the suite's few-MiB files
// make several map tasks.
func yarnArgs(mode string, extra ...string) []string {
	args := []string{"--master", "yarn", "--deploy-mode", mode,
		"--num-executors", "2", "--executor-cores", "1", "--executor-memory", "512m", "--driver-memory", "512m",
		"--conf", "spindle.files.maxPartitionBytes=1m"}
	return append(args, extra...)
}
