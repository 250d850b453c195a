package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/integration/cluster"
	"github.com/spindle-engine/spindle/yarn"
)

// TestStatusAndKill submits an application whose AM only sleeps to the real
// ResourceManager, then reads it with `spindle status` and ends it with `spindle kill`.
func TestStatusAndKill(t *testing.T) {
	c := cluster.FromEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := conf.LoadHadoop(c.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := yarn.NewResourceManager(h)
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	id, _, err := rm.NewApplication(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = rm.Submit(ctx, &yarn.SubmissionContext{
		App: id, Name: "spindle-status-kill-test", AMResource: yarn.Resource{MemoryMB: 128, VCores: 1},
		AMContainer: &yarn.LaunchContext{Commands: []string{"sleep 300"}},
		MaxAttempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"status", id.String()}, &out, &errb); code != 0 {
		t.Fatalf("status: exit %d: %s", code, errb.String())
	}
	if s := out.String(); !strings.Contains(s, id.String()) || !strings.Contains(s, "spindle-status-kill-test") || !strings.Contains(s, "final status: UNDEFINED") {
		t.Fatalf("status of a running app:\n%s", s)
	}
	out.Reset()
	if code := run([]string{"kill", id.String()}, &out, &errb); code != 0 {
		t.Fatalf("kill: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "KILLED/KILLED") {
		t.Fatalf("kill printed %q", out.String())
	}
	out.Reset()
	run([]string{"status", id.String()}, &out, &errb)
	if s := out.String(); !strings.Contains(s, "state:        KILLED") || !strings.Contains(s, "spindle kill") {
		t.Fatalf("status after kill:\n%s", s)
	}
	// Killing it again says it already ended.
	out.Reset()
	if code := run([]string{"kill", id.String()}, &out, &errb); code != 0 || !strings.Contains(out.String(), "already ended") {
		t.Fatalf("second kill: exit %d, %q", code, out.String())
	}
	// An unknown application is an error naming it.
	unknown := yarn.AppID{ClusterTimestamp: id.ClusterTimestamp, ID: 9999}
	errb.Reset()
	if code := run([]string{"status", unknown.String()}, &out, &errb); code != 1 || !strings.Contains(errb.String(), unknown.String()) {
		t.Fatalf("status of an unknown app: exit %d, %q", code, errb.String())
	}
}

func TestAppCommandArgs(t *testing.T) {
	for _, args := range [][]string{{"status"}, {"kill", "app_1_2"}, {"status", "a", "b"}, {"status", "--principal"}, {"kill", "--keytab", "k"}} {
		var errb bytes.Buffer
		if code := run(args, &bytes.Buffer{}, &errb); code != 2 || errb.Len() == 0 {
			t.Errorf("%v: exit %d, %q", args, code, errb.String())
		}
	}
}
