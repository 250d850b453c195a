package secure

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/integration/cluster"
)

// TestWordCountKerberized: word count with HDFS input and output succeeds in cluster
// and client mode, logged in with a keytab and with a `kinit` ticket cache, and its
// output equals the open cluster's; a ticket-cache submit says when access ends;
// no run leaves a secret in a log.
func TestWordCountKerberized(t *testing.T) {
	e := setup(t)
	input := wordsInput()
	in := e.path(t, "in.txt")
	e.write(t, in, input)
	want := openClusterWordCount(t, e, input)
	tests := []struct {
		mode   string
		keytab bool
	}{
		{deploy.ModeCluster, true},
		{deploy.ModeClient, true},
		{deploy.ModeCluster, false},
		{deploy.ModeClient, false},
	}
	for _, tt := range tests {
		how := "ticket cache"
		if tt.keytab {
			how = "keytab"
		}
		t.Run(tt.mode+" with "+how, func(t *testing.T) {
			l := login{keytab: tt.keytab}
			if !tt.keytab {
				l.ccache = e.kinit(t, "")
			}
			out := e.path(t, "counts")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			r, secrets := e.runCollecting(t, ctx, l, yarnArgs(tt.mode, filepath.Join(e.bin, "wordcount"), in, out)...)
			if r.code != 0 {
				t.Fatalf("exit %d:\n%s", r.code, r.out)
			}
			if got := e.lines(t, out); !slices.Equal(got, want) {
				t.Fatalf("output differs from the open cluster's: %d lines vs %d\nfirst: %q vs %q", len(got), len(want), head(got), head(want))
			}
			// Only a keytab renews tokens past their max lifetime; a ticket cache
			// cannot, and submit says until when the job can reach HDFS.
			says := strings.Contains(r.out, "YARN renews the application's delegation tokens until")
			if says == tt.keytab {
				t.Errorf("access end said: %v with %s:\n%s", says, how, r.out)
			}
			if r.app == "" {
				t.Fatalf("no application id in:\n%s", r.out)
			}
			t.Run("no secret in logs", func(t *testing.T) { e.checkNoSecrets(t, r.app, secrets, r.out, nil) })
		})
	}
}

func head(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

var (
	openOnce sync.Once
	openWant []string
	openErr  error
)

// openClusterWordCount is the reference output: the same job on the open cluster
// (HADOOP_CONF_DIR, which `make test` starts too), else in local mode.
func openClusterWordCount(t *testing.T, e *env, input []byte) []string {
	t.Helper()
	openOnce.Do(func() { openWant, openErr = referenceCount(t, e, input) })
	if openErr != nil {
		t.Fatal(openErr)
	}
	return openWant
}

func referenceCount(t *testing.T, e *env, input []byte) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := os.Getenv("HADOOP_CONF_DIR")
	if dir == "" {
		// Without the open cluster the local mode is the reference.
		t.Log("HADOOP_CONF_DIR unset: comparing with a local-mode run")
		tmp := t.TempDir()
		if err := os.WriteFile(filepath.Join(tmp, "in.txt"), input, 0o644); err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, filepath.Join(e.bin, "spindle"), "submit", "--master", "local[2]", filepath.Join(e.bin, "wordcount"), filepath.Join(tmp, "in.txt"), filepath.Join(tmp, "out"))
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("local word count: %v\n%s", err, out)
		}
		return partLines(t, ctx, hdfs.Local, filepath.Join(tmp, "out")), nil
	}
	c, err := cluster.Load(dir)
	if err != nil {
		return nil, err
	}
	h, err := conf.LoadHadoop(c.ConfDir)
	if err != nil {
		return nil, err
	}
	o, err := hdfs.OptionsFrom(h, deploy.HadoopUser())
	if err != nil {
		return nil, err
	}
	fss := hdfs.NewFileSystems(o)
	defer fss.Close()
	base := fmt.Sprintf("/tmp/secure-reference-%d", time.Now().UnixNano())
	fsys, _, err := fss.Resolve(ctx, "hdfs:///")
	if err != nil {
		return nil, err
	}
	defer fsys.RemoveAll(context.Background(), base)
	w, err := fsys.Create(ctx, base+"/in.txt")
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(input); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(e.bin, "spindle"), yarnArgs(deploy.ModeCluster, filepath.Join(e.bin, "wordcount"), "hdfs://"+base+"/in.txt", "hdfs://"+base+"/out")...)
	cmd.Env = append(os.Environ(), "HADOOP_CONF_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("word count on the open cluster: %v\n%s", err, out)
	}
	return partLines(t, ctx, fsys, base+"/out"), nil
}
