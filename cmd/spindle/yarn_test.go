package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	hdfsclient "github.com/colinmarc/hdfs/v2"
	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/integration/cluster"
	"github.com/spindle-engine/spindle/yarn"
)

func TestYarnFlagsMapToConf(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want map[string]string
	}{
		{"spark-submit flags", []string{"--master", "yarn", "--deploy-mode", "cluster", "--name", "n", "--queue", "q",
			"--num-executors", "3", "--executor-cores", "2", "--executor-memory", "2g", "--driver-memory", "700m",
			"--driver-cores", "2", "--files", "a.txt,hdfs:///b.txt#b", "--archives", "c.zip", "job"},
			map[string]string{"spindle.master": "yarn", "spindle.submit.deployMode": "cluster", "spindle.app.name": "n",
				"spindle.yarn.queue": "q", "spindle.executor.instances": "3", "spindle.executor.cores": "2",
				"spindle.executor.memory": "2g", "spindle.driver.memory": "700m", "spindle.driver.cores": "2",
				"spindle.yarn.dist.files": "a.txt,hdfs:///b.txt#b", "spindle.yarn.dist.archives": "c.zip"}},
		{"conf and spark names", []string{"--conf", "spark.yarn.submit.waitAppCompletion=false", "-c", "spindle.yarn.maxAppAttempts=1", "job"},
			map[string]string{"spindle.yarn.submit.waitAppCompletion": "false", "spindle.yarn.maxAppAttempts": "1"}},
		{"properties file, flags win", []string{"--properties-file", "testdata/yarn.properties", "--queue", "flag", "job"},
			map[string]string{"spindle.executor.memory": "3g", "spindle.yarn.queue": "flag", "spindle.executor.instances": "5"}},
		{"kerberos flags, keytab made absolute", []string{"--principal", "alice@R", "--keytab", "/k/alice.keytab", "job"},
			map[string]string{"spindle.kerberos.principal": "alice@R", "spindle.kerberos.keytab": "/k/alice.keytab"}},
		{"spark's kerberos keys", []string{"--conf", "spark.kerberos.principal=bob@R", "--conf", "spark.kerberos.access.hadoopFileSystems=hdfs://other:8020", "job"},
			map[string]string{"spindle.kerberos.principal": "bob@R", "spindle.kerberos.access.hadoopFileSystems": "hdfs://other:8020"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sa, err := parseSubmit(tt.args, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			got := sa.conf.Explicit()
			if len(got) != len(tt.want) {
				t.Errorf("explicit conf %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestYarnSubmitErrors(t *testing.T) {
	job := filepath.Join(t.TempDir(), "job")
	if err := os.WriteFile(job, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		confDir  string
		args     []string
		contains string
	}{
		{"no cluster configuration", "", []string{"--master", "yarn", "--deploy-mode", "cluster", job}, "HADOOP_CONF_DIR"},
		{"no cluster configuration in client mode", "", []string{"--master", "yarn", job}, "YARN_CONF_DIR"},
		{"cluster mode on a local master", "", []string{"--master", "local[2]", "--deploy-mode", "cluster", job}, "--deploy-mode cluster needs --master yarn"},
		{"bad deploy mode", "", []string{"--master", "yarn", "--deploy-mode", "sideways", job}, "--deploy-mode sideways"},
		{"bad executor count", "", []string{"--master", "yarn", "--num-executors", "many", job}, "--num-executors many"},
		{"bad driver memory", "", []string{"--master", "yarn", "--driver-memory", "lots", job}, "--driver-memory lots"},
		{"flag without value", "", []string{"--master", "yarn", "--executor-cores"}, "executor-cores"},
		{"unknown master", "", []string{"--master", "mesos://x", job}, "--master mesos://x"},
		{"missing binary", t.TempDir(), []string{"--master", "yarn", "--deploy-mode", "cluster", "./nope"}, "./nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HADOOP_CONF_DIR", tt.confDir)
			t.Setenv("YARN_CONF_DIR", "")
			var out, errb bytes.Buffer
			code := run(append([]string{"submit"}, tt.args...), &out, &errb)
			if code != 2 || !strings.Contains(errb.String(), tt.contains) {
				t.Fatalf("exit %d, stderr %q; want exit 2 mentioning %q", code, errb.String(), tt.contains)
			}
		})
	}
}

var appIDPattern = regexp.MustCompile(`application_\d+_\d+`)

// yarnCLI is the minicluster, the built testjob and an HDFS client.
type yarnCLI struct {
	c    *cluster.Cluster
	job  string
	fs   *hdfsclient.Client
	user string
}

func newYarnCLI(t *testing.T) *yarnCLI {
	t.Helper()
	c := cluster.FromEnv(t)
	job := filepath.Join(t.TempDir(), "testjob")
	cmd := exec.Command("go", "build", "-o", job, "github.com/spindle-engine/spindle/deploy/internal/testjob")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build testjob: %v\n%s", err, out)
	}
	nn, err := url.Parse(c.Info.DefaultFS)
	if err != nil {
		t.Fatal(err)
	}
	user := os.Getenv("HADOOP_USER_NAME")
	if u, err := osuser.Current(); user == "" && err == nil {
		user = u.Username
	}
	client, err := hdfsclient.NewClient(hdfsclient.ClientOptions{Addresses: []string{nn.Host}, User: user})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return &yarnCLI{c: c, job: job, fs: client, user: client.User()}
}

// submit runs `spindle submit --master yarn --deploy-mode cluster` with small
// containers and one attempt.
func (y *yarnCLI) submit(extra ...string) (code int, stdout, stderr string) {
	args := append([]string{"submit", "--master", "yarn", "--deploy-mode", "cluster", "--driver-memory", "512m",
		"--conf", "spindle.yarn.maxAppAttempts=1"}, extra...)
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestYarnClusterSubmit submits testjob through the CLI and checks what a user sees.
func TestYarnClusterSubmit(t *testing.T) {
	y := newYarnCLI(t)
	data := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(data, []byte("shipped\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("succeeds", func(t *testing.T) {
		code, out, errs := y.submit("--name", "cli-succeeds", "--files", data, y.job, "two words", "file=data.txt")
		id := appIDPattern.FindString(out)
		if code != 0 || id == "" {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
		}
		for _, want := range []string{"submitted " + id, id + " is ACCEPTED", "ended FINISHED, final status SUCCEEDED", `"two words"`, "tracking URL: http"} {
			if !strings.Contains(out, want) {
				t.Errorf("stdout lacks %q:\n%s", want, out)
			}
		}
		if _, err := y.fs.Stat("/user/" + y.user + "/.spindleStaging/" + id); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("staging dir of %s after submit: %v", id, err)
		}
	})
	t.Run("fails", func(t *testing.T) {
		code, out, errs := y.submit(y.job, "fail")
		if code != 1 || !strings.Contains(errs, "final status FAILED") || !strings.Contains(errs, "failing on purpose") {
			t.Fatalf("exit %d; want 1 with the diagnostics\nstdout:\n%s\nstderr:\n%s", code, out, errs)
		}
	})
	t.Run("executor larger than the cluster", func(t *testing.T) {
		code, out, errs := y.submit("--executor-memory", "64g", y.job)
		if code != 1 || appIDPattern.MatchString(out+errs) {
			t.Fatalf("exit %d; want 1 and no application\nstdout:\n%s\nstderr:\n%s", code, out, errs)
		}
		for _, want := range []string{"72090 MB", "--executor-memory", "maximum-allocation-mb"} {
			if !strings.Contains(errs, want) {
				t.Errorf("stderr lacks %q: %s", want, errs)
			}
		}
	})
	t.Run("no wait, then kill", func(t *testing.T) {
		code, out, errs := y.submit("--conf", "spindle.yarn.submit.waitAppCompletion=false", y.job, "hang")
		id := appIDPattern.FindString(out)
		if code != 0 || !strings.Contains(out, id+" is RUNNING") || !strings.Contains(out, "spindle status "+id) {
			t.Fatalf("exit %d; want 0 once RUNNING\nstdout:\n%s\nstderr:\n%s", code, out, errs)
		}
		var kout, kerr bytes.Buffer
		staging := "/user/" + y.user + "/.spindleStaging/" + id
		if _, err := y.fs.Stat(staging); err != nil {
			t.Fatalf("staging dir of the running %s: %v", id, err)
		}
		if code := run([]string{"kill", id}, &kout, &kerr); code != 0 || !strings.Contains(kout.String(), "KILLED/KILLED") {
			t.Fatalf("spindle kill %s: exit %d\n%s%s", id, code, kout.String(), kerr.String())
		}
		if _, err := y.fs.Stat(staging); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("staging dir of %s after spindle kill: %v", id, err)
		}
	})
}

// TestInterruptLeavesAppRunning: an interrupt while waiting stops the waiting only.
func TestInterruptLeavesAppRunning(t *testing.T) {
	y := newYarnCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := conf.LoadHadoop(y.c.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	c := conf.New()
	if errs := c.SetAll(map[string]string{"spindle.driver.memory": "512m", "spindle.yarn.maxAppAttempts": "1"}); len(errs) > 0 {
		t.Fatal(errs)
	}
	app, err := deploy.Submit(ctx, &deploy.Spec{Binary: y.job, Args: []string{"hang"}, Name: "cli-interrupt", Conf: c, Hadoop: h,
		HadoopConfDir: y.c.ConfDir, Mode: deploy.ModeCluster, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.WaitFor(ctx, 200*time.Millisecond, nil, func(s yarn.AppState) bool { return s == yarn.StateRunning }); err != nil {
		t.Fatal(err)
	}
	interrupted, stop := context.WithCancel(ctx)
	stop()
	var out, errb bytes.Buffer
	if code := follow(interrupted, app, true, &out, &errb); code != 130 || !strings.Contains(errb.String(), "spindle kill "+app.ID.String()) {
		t.Fatalf("follow after an interrupt: exit %d\n%s%s", code, out.String(), errb.String())
	}
	r, err := app.Report(ctx)
	if err != nil || r.State != yarn.StateRunning {
		t.Fatalf("after the interrupt the app is %+v, %v; want RUNNING", r, err)
	}
	if err := app.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := app.Wait(ctx, 200*time.Millisecond, nil); err != nil || r.State != yarn.StateKilled {
		t.Fatalf("after Kill: %+v, %v", r, err)
	}
	if err := app.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
}
