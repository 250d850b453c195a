package secure

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/deploy"
)

// TestLoginErrors: what a user sees when the login cannot work, within the
// bounded wait of each run: the message says what to do, and nothing is submitted.
func TestLoginErrors(t *testing.T) {
	e := setup(t)
	in := e.path(t, "in.txt")
	e.write(t, in, []byte("a b c\n"))
	wordcount := filepath.Join(e.bin, "wordcount")
	tests := []struct {
		name string
		l    func(t *testing.T) login
		args []string
		says []string
	}{
		{"no credentials, cluster mode", func(*testing.T) login { return login{} },
			yarnArgs(deploy.ModeCluster, wordcount, in, e.path(t, "o1")),
			[]string{"no Kerberos credentials", "run kinit or pass --principal and --keytab"}},
		{"no credentials, client mode", func(*testing.T) login { return login{} },
			yarnArgs(deploy.ModeClient, wordcount, in, e.path(t, "o2")),
			[]string{"no Kerberos credentials", "run kinit or pass --principal and --keytab"}},
		{"no credentials, status", func(*testing.T) login { return login{} },
			[]string{"status", "application_1_0001"},
			[]string{"run kinit or pass --principal and --keytab"}},
		{"principal not in the keytab", func(*testing.T) login { return login{} },
			append([]string{"submit", "--principal", "nobody@" + e.c.Realm, "--keytab", e.c.Keytab}, yarnArgs(deploy.ModeCluster, wordcount, in, e.path(t, "o3"))[1:]...),
			[]string{"principal nobody@" + e.c.Realm + " is not in keytab " + e.c.Keytab, e.c.Principal}},
		{"expired ticket", func(t *testing.T) login { return login{ccache: e.expiredCache(t)} },
			yarnArgs(deploy.ModeCluster, wordcount, in, e.path(t, "o4")),
			[]string{"expired at", "run kinit again"}},
		{"KDC not answering", func(t *testing.T) login { return login{keytab: true, krb5: e.deadKDC(t)} },
			yarnArgs(deploy.ModeCluster, wordcount, in, e.path(t, "o5")),
			[]string{"no KDC of realm " + e.c.Realm + " answered"}},
		{"server principal does not match", func(t *testing.T) login {
			return login{ccache: e.kinit(t, ""), confDir: e.confWith(t, "yarn-site.xml", "yarn.resourcemanager.principal", "rm/_HOST@"+e.c.Realm)}
		}, []string{"status", "application_1_0001"},
			[]string{"has Kerberos principal yarn/localhost@" + e.c.Realm + ", but yarn.resourcemanager.principal expects rm/localhost@" + e.c.Realm}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.l(t)
			// A login that hung would hit this deadline and fail the test.
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			r := e.run(t, ctx, l, tt.args...)
			if r.code == 0 || ctx.Err() != nil {
				t.Fatalf("exit %d (context: %v):\n%s", r.code, ctx.Err(), r.out)
			}
			for _, s := range tt.says {
				if !strings.Contains(r.out, s) {
					t.Errorf("output does not say %q:\n%s", s, r.out)
				}
			}
			if tt.args[0] == "submit" && strings.Contains(r.out, "submitted application_") {
				t.Errorf("an application was submitted:\n%s", r.out)
			}
		})
	}
}

// expiredCache is a ticket cache MIT kinit wrote with a two-second lifetime, once
// klist says its ticket has ended.
func (e *env) expiredCache(t *testing.T) string {
	t.Helper()
	cc := e.kinit(t, "2s")
	deadline := time.Now().Add(30 * time.Second)
	for {
		cmd := exec.Command("klist", "-s", "-c", cc)
		cmd.Env = append(os.Environ(), "KRB5_CONFIG="+e.c.KRB5Config)
		if cmd.Run() != nil {
			return cc // klist -s fails once no ticket is valid
		}
		if time.Now().After(deadline) {
			t.Fatal("the two-second ticket is still valid after 30 s")
		}
		time.Sleep(200 * time.Millisecond) // polling klist for the ticket's end
	}
}

// deadKDC is a krb5.conf for the realm whose KDC is a port nothing listens on.
func (e *env) deadKDC(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	b := readFile(t, e.c.KRB5Config)
	b = regexp.MustCompile(`(?m)^(\s*)kdc = \S+`).ReplaceAllString(b, "${1}kdc = "+addr)
	p := filepath.Join(t.TempDir(), "krb5.conf")
	if err := os.WriteFile(p, []byte(b), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// confWith is a copy of the cluster's configuration directory with key set to
// value in file (the harness writes one property per line).
func (e *env) confWith(t *testing.T, file, key, value string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(e.c.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range entries {
		if f.IsDir() {
			continue
		}
		b := readFile(t, filepath.Join(e.c.ConfDir, f.Name()))
		if f.Name() == file {
			re := regexp.MustCompile(`<name>` + regexp.QuoteMeta(key) + `</name><value>[^<]*</value>`)
			if !re.MatchString(b) {
				t.Fatalf("%s has no %s", file, key)
			}
			b = re.ReplaceAllString(b, "<name>"+key+"</name><value>"+value+"</value>")
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name()), []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
