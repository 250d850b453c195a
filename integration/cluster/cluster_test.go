package cluster

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHarness proves the cluster is real: its configuration has bound ports, its
// daemons accept connections, and Hadoop's YarnClient answers through the harness.
func TestHarness(t *testing.T) {
	c := FromEnv(t)
	for _, f := range []string{"core-site.xml", "hdfs-site.xml", "yarn-site.xml"} {
		b, err := os.ReadFile(filepath.Join(c.ConfDir, f))
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if len(c.Info.Nodes) != 2 {
		t.Fatalf("%d NodeManagers, want 2", len(c.Info.Nodes))
	}
	for _, addr := range []string{c.Info.RM, c.Info.Scheduler, c.Info.NN, c.Info.Nodes[0].NodeID, c.Info.Nodes[1].NodeID} {
		if strings.HasSuffix(addr, ":0") {
			t.Fatalf("unbound address %s", addr)
		}
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		conn.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := c.JavaReport(ctx, "application_1_0001")
	if err == nil || !strings.Contains(err.Error(), "ApplicationNotFoundException") {
		t.Fatalf("report of an unknown application: %v; want ApplicationNotFoundException", err)
	}
}
