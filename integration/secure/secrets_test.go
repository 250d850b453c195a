package secure

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/yarn"
)

// secret is a value that must never be written anywhere a person reads.
type secret struct {
	what  string
	value []byte
}

// secretCollector gathers every token password and secret in the credentials
// YARN wrote for an application's containers (container_tokens in their working
// directories, which the NodeManager removes when a container ends, so they are
// read while the application runs): the delegation tokens submit obtained, the
// AMRMToken, the application secret, the executors' credentials.
type secretCollector struct {
	e       *env
	seen    map[string]bool // files read
	secrets map[string]secret
}

func newSecretCollector(e *env) *secretCollector {
	return &secretCollector{e: e, seen: map[string]bool{}, secrets: map[string]secret{}}
}

// collect reads the credentials of app's containers not read yet.
func (c *secretCollector) collect(app string) {
	_, work := c.e.containerDirs(app)
	for _, d := range work {
		p := filepath.Join(d, "container_tokens")
		if c.seen[p] {
			continue
		}
		creds, err := yarn.ReadCredentials(p)
		if err != nil {
			continue // not written yet, or already removed
		}
		c.seen[p] = true
		for alias, tok := range creds.Tokens {
			c.secrets[string(tok.Password)] = secret{"password of token " + alias + " (" + tok.Kind + ")", tok.Password}
		}
		for alias, v := range creds.Secrets {
			c.secrets[string(v)] = secret{"secret " + alias, v}
		}
	}
}

// runCollecting runs the CLI like run, collecting the application's secrets while
// it runs.
func (e *env) runCollecting(t *testing.T, ctx context.Context, l login, args ...string) (result, *secretCollector) {
	t.Helper()
	run := e.start(t, ctx, l, args...)
	c := newSecretCollector(e)
	c.watch(ctx, run)
	return run.wait(t), c
}

// watch collects secrets until the run has ended.
func (c *secretCollector) watch(ctx context.Context, run *running) {
	tick := time.NewTicker(100 * time.Millisecond) // polling the containers' directories
	defer tick.Stop()
	for {
		if app := appIDPattern.FindString(run.out.String()); app != "" {
			c.collect(app)
		}
		select {
		case <-run.exited:
			if app := appIDPattern.FindString(run.out.String()); app != "" {
				c.collect(app)
			}
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// forms are the ways a secret may leak: raw, hex, base64 (standard and URL, padded
// or not).
func forms(v []byte) map[string][]byte {
	return map[string][]byte{
		"raw":        v,
		"hex":        []byte(hex.EncodeToString(v)),
		"HEX":        []byte(strings.ToUpper(hex.EncodeToString(v))),
		"base64":     []byte(base64.StdEncoding.EncodeToString(v)),
		"base64 raw": []byte(base64.RawStdEncoding.EncodeToString(v)),
		"base64url":  []byte(base64.RawURLEncoding.EncodeToString(v)),
	}
}

// checkNoSecrets scans every file in app's container log directories (stdout,
// stderr, launch_container.sh with the containers' environment and command lines,
// ...), the CLI's output, the RM's diagnostics and any extra texts (the tracking
// page) for app's secrets in any form.
func (e *env) checkNoSecrets(t *testing.T, app string, c *secretCollector, cliOutput string, extra map[string]string) {
	t.Helper()
	// The scan means something only if it knows the secrets the issue names.
	var hdfsToken, appSecret bool
	for _, s := range c.secrets {
		hdfsToken = hdfsToken || strings.Contains(s.what, "(HDFS_DELEGATION_TOKEN)")
		appSecret = appSecret || s.what == "secret spindle.secret"
	}
	if !hdfsToken || !appSecret {
		t.Fatalf("the credentials of %s seen while it ran lack an HDFS token (%v) or the application secret (%v)", app, hdfsToken, appSecret)
	}
	texts := map[string][]byte{"the CLI's output": []byte(cliOutput)}
	r := e.report(t, app)
	texts["the RM's diagnostics"] = []byte(r.Diagnostics)
	for k, v := range extra {
		texts[k] = []byte(v)
	}
	logs, _ := e.containerDirs(app)
	if len(logs) == 0 {
		t.Fatalf("no container logs of %s", app)
	}
	for _, d := range logs {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range entries {
			if f.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(d, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			texts[filepath.Join(filepath.Base(d), f.Name())] = b
		}
	}
	checked := 0
	for _, s := range c.secrets {
		if len(s.value) < 8 {
			continue // too short to tell from chance
		}
		checked++
		for form, v := range forms(s.value) {
			for where, text := range texts {
				if bytes.Contains(text, v) {
					t.Errorf("%s appears (%s) in %s", s.what, form, where)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no secret long enough to check")
	}
	t.Logf("%d secrets checked in %d texts", checked, len(texts))
}
