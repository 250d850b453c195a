package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSubmitErrors(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "job")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"no binary", []string{"submit"}, 2, "no job binary"},
		{"bad conf value", []string{"submit", "--conf", "spindle.executor.memory=12x", "job"}, 2, "spindle.executor.memory"},
		{"conf without =", []string{"submit", "--conf", "spindle.master", "job"}, 2, "spindle.master"},
		{"bad master", []string{"submit", "--master", "local[x]", "job"}, 2, "local[x]"},
		{"missing binary", []string{"submit", "./nope"}, 2, "./nope"},
		{"not executable", []string{"submit", notExec}, 2, "not an executable"},
		{"unknown command", []string{"frobnicate"}, 2, "frobnicate"},
		{"unknown flag", []string{"submit", "--frob", "job"}, 2, "frob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tt.args, &out, &errb)
			if code != tt.code || !strings.Contains(errb.String(), tt.contains) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", code, errb.String(), tt.code, tt.contains)
			}
		})
	}
}

func TestUnknownConfKeyWarns(t *testing.T) {
	var errb bytes.Buffer
	sa, err := parseSubmit([]string{"--conf", "spindle.executor.memroy=2g", "job"}, &errb)
	if err != nil {
		t.Fatalf("parseSubmit: %v", err)
	}
	if !strings.Contains(errb.String(), "spindle.executor.memory") {
		t.Fatalf("warning %q does not suggest spindle.executor.memory", errb.String())
	}
	if sa.binary != "job" {
		t.Fatalf("binary = %q", sa.binary)
	}
}

func TestSparkFlagsMapToConf(t *testing.T) {
	sa, err := parseSubmit([]string{"--master", "local[2]", "--executor-memory", "2g", "--conf", "spark.task.maxFailures=7", "job", "a", "b"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	got := sa.conf.Explicit()
	if got["spindle.master"] != "local[2]" || got["spindle.executor.memory"] != "2g" || got["spindle.task.maxFailures"] != "7" {
		t.Fatalf("explicit conf = %v", got)
	}
	if strings.Join(sa.args, " ") != "a b" {
		t.Fatalf("job args = %v", sa.args)
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"submit", "--help"}, &out, &bytes.Buffer{}); code != 0 || !strings.Contains(out.String(), "--executor-memory") {
		t.Fatalf("help: exit %d\n%s", code, out.String())
	}
}
