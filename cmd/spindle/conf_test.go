package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spindle-engine/spindle/conf"
)

// TestConfCommand checks `spindle conf`: every listed key with its default and
// Spark name, filtering by words, the README's Markdown, and its errors.
func TestConfCommand(t *testing.T) {
	var all bytes.Buffer
	if err := conf.WriteText(&all, conf.Listed()); err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := conf.WriteMarkdown(&md, conf.Listed()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		code       int
		exact      string   // the whole stdout, when set
		want, omit []string // in stdout, not in stdout
		stderr     string
	}{
		{name: "every key", exact: all.String(),
			want: []string{"spindle.yarn.maxAppAttempts (unset: YARN's maximum)  [Spark: spark.yarn.maxAppAttempts]",
				"spindle.executor.memory = 1g  [Spark: spark.executor.memory]", "spindle.files.maxPartitionBytes", "spindle.yarn.am.memory",
				"spindle.yarn.submit.waitAppCompletion = true", "spindle.yarn.rm.connect.maxRetries"},
			omit: []string{"spindle.testing."}},
		{name: "words filter", args: []string{"waitAppCompletion", "AM.MEMORY"},
			want: []string{"spindle.yarn.submit.waitAppCompletion", "spindle.yarn.am.memory"}, omit: []string{"spindle.executor.cores"}},
		{name: "by Spark name", args: []string{"spark.executor.cores"}, want: []string{"spindle.executor.cores = 1"}},
		{name: "markdown", args: []string{"--markdown"}, exact: md.String()},
		{name: "no match", args: []string{"no-such-word"}, code: 1, stderr: "no key matches no-such-word"},
		{name: "bad flag", args: []string{"--json"}, code: 2, stderr: "Usage: spindle conf"},
		{name: "help", args: []string{"--help"}, want: []string{"Usage: spindle conf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(append([]string{"conf"}, tt.args...), &out, &errb); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, errb.String())
			}
			if tt.exact != "" && out.String() != tt.exact {
				t.Fatalf("stdout differs from the keys' listing:\n%s", out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q", w)
				}
			}
			for _, o := range tt.omit {
				if strings.Contains(out.String(), o) {
					t.Errorf("stdout has %q", o)
				}
			}
			if !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tt.stderr)
			}
		})
	}
}

func TestServerError(t *testing.T) {
	const java = "org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException: Application with id 'application_1_9999' doesn't exist in RM.\n\tat org.apache.hadoop.yarn.server.resourcemanager.ClientRMService.getApplicationReport(ClientRMService.java:399)\n\tat org.apache.hadoop.ipc.Server$Handler.run(Server.java:3198)\n"
	for _, tt := range []struct {
		name    string
		err     error
		verbose bool
		want    string
	}{
		{"one line stays", errors.New("connection refused"), false, "connection refused"},
		{"stack cut", fmt.Errorf("report: %w", errors.New(java)), false,
			"report: org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException: Application with id 'application_1_9999' doesn't exist in RM. (--verbose shows the server's stack trace)"},
		{"stack kept with --verbose", errors.New(java), true, java},
		{"trailing newline only", errors.New("refused\n"), false, "refused\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := serverError(tt.err, tt.verbose); got != tt.want {
				t.Fatalf("serverError = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestUnknownKeyWarnsOnce: each unknown key, from --conf or a properties file, is
// one warning naming the nearest known key.
func TestUnknownKeyWarnsOnce(t *testing.T) {
	props := filepath.Join(t.TempDir(), "job.properties")
	if err := os.WriteFile(props, []byte("spindle.executor.coers 2\nspindle.task.maxFailures 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	if _, err := parseSubmit([]string{"--properties-file", props, "--conf", "spindle.executor.memroy=2g", "job"}, &errb); err != nil {
		t.Fatalf("parseSubmit: %v", err)
	}
	out := errb.String()
	for _, k := range []string{"spindle.executor.memroy", "spindle.executor.coers"} {
		if n := strings.Count(out, k); n != 1 {
			t.Errorf("%s is named %d times, want once:\n%s", k, n, out)
		}
	}
	for _, k := range []string{"spindle.executor.memory", "spindle.executor.cores"} {
		if !strings.Contains(out, k) {
			t.Errorf("the warnings do not suggest %s:\n%s", k, out)
		}
	}
	if strings.Contains(out, "maxFailures") || strings.Contains(out, "\x1b[") {
		t.Errorf("warned about a known key, or in colour:\n%s", out)
	}
}

// TestStatusSaysItRetries: a ResourceManager that does not answer is retried as the
// cluster's ipc.client.connect.max.retries says, and status says so once, with the
// address, before it gives up.
func TestStatusSaysItRetries(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	dir := t.TempDir()
	site := func(name, key, value string) {
		xml := fmt.Sprintf("<configuration><property><name>%s</name><value>%s</value></property></configuration>\n", key, value)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(xml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	site("yarn-site.xml", "yarn.resourcemanager.address", addr)
	site("core-site.xml", "ipc.client.connect.max.retries", "2")
	t.Setenv("HADOOP_CONF_DIR", dir)
	var out, errb bytes.Buffer
	code := run([]string{"status", "application_1_0001"}, &out, &errb)
	msg := errb.String()
	if code != 1 || strings.Count(msg, "retrying up to 2 times") != 1 || !strings.Contains(msg, addr) {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and one retry notice naming %s", code, msg, addr)
	}
}
