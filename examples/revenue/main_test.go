package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spindle-engine/spindle/examples/datagen"
)

// reference computes the top 20 regions with a plain loop over the file.
func reference(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := datagen.TopRevenue(f, 20)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return want
}

// TestRevenueEndToEnd builds the spindle CLI and this job, submits it in local mode
// over generated data, and compares the printed table with a plain Go computation.
func TestRevenueEndToEnd(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "sales.csv")
	f, err := os.Create(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := datagen.Sales(f, 4<<20, 42); err != nil {
		t.Fatal(err)
	}
	f.Close()
	bin := func(pkg, name string) string {
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", out, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
		return out
	}
	spindleBin := bin("github.com/spindle-engine/spindle/cmd/spindle", "spindle")
	job := bin(".", "revenue")
	cmd := exec.CommandContext(context.Background(), spindleBin, "submit", "--master", "local[3]",
		"--conf", "spindle.files.maxPartitionBytes=1m", "--conf", "spindle.local.dir="+dir, job, data)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("spindle submit: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	want := reference(t, data)
	if got := lines[1:]; !slices.Equal(got, want) {
		t.Fatalf("revenue table:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(stderr.String(), "shuffle write") {
		t.Fatalf("no job summary on stderr:\n%s", stderr.String())
	}

	// A malformed row fails the job: submit exits non-zero, naming file, line, column.
	bad := filepath.Join(dir, "bad.csv")
	rows := datagen.SalesHeader + "\n1,2026-01-01,north,p,1,2.50,2.50\n2,2026-01-02,south,p,2,1.00,two\n"
	if err := os.WriteFile(bad, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(spindleBin, "submit", "--master", "local[2]", "--conf", "spindle.local.dir="+dir, job, bad)
	stderr.Reset()
	cmd.Stderr = &stderr
	err = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != 1 {
		t.Fatalf("submit of a job over bad input: exit %d (%v), want 1", code, err)
	}
	if want := bad + `:3: column "revenue"`; !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr does not name %s:\n%s", want, stderr.String())
	}
}
