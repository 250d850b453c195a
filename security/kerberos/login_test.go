package kerberos

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/test/testdata"
	"github.com/jcmturner/gokrb5/v8/types"
)

// writeConf writes a krb5.conf whose realm TEST.REALM has the KDC kdc.
func writeConf(t *testing.T, dir, kdc string) string {
	t.Helper()
	p := filepath.Join(dir, "krb5.conf")
	conf := `[libdefaults]
  default_realm = TEST.REALM
  udp_preference_limit = 1
  default_tkt_enctypes = aes256-cts-hmac-sha1-96
  default_tgs_enctypes = aes256-cts-hmac-sha1-96
  permitted_enctypes = aes256-cts-hmac-sha1-96
  default_ccache_name = FILE:` + dir + `/cc_%{uid}

[realms]
  TEST.REALM = {
    kdc = ` + kdc + `
  }
`
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeKeytab writes a keytab holding the given principals (name@REALM).
func writeKeytab(t *testing.T, dir string, principals ...string) string {
	t.Helper()
	kt := keytab.New()
	for _, p := range principals {
		name, realm := splitPrincipal(p, "")
		if err := kt.AddEntry(name, realm, "pw", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
			t.Fatal(err)
		}
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "user.keytab")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeKDC answers every request on TCP with a KRB-ERROR of code, or, with code 0,
// accepts and never answers.
func fakeKDC(t *testing.T, code int32) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				var n uint32
				if binary.Read(c, binary.BigEndian, &n) != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
					return
				}
				if code == 0 {
					<-done // silent: the client's deadline ends the wait
					return
				}
				e := messages.NewKRBError(types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", "TEST.REALM"}}, "TEST.REALM", code, "")
				b, err := e.Marshal()
				if err != nil {
					t.Error(err)
					return
				}
				binary.Write(c, binary.BigEndian, uint32(len(b)))
				c.Write(b)
			}()
		}
	}()
	return ln.Addr().String()
}

// closedPort is an address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestLoginErrors: every way a login fails says what to do, as a typed error.
func TestLoginErrors(t *testing.T) {
	dir := t.TempDir()
	expired, err := hex.DecodeString(testdata.CCACHE_TEST) // gokrb5's MIT cache, tickets of 2017
	if err != nil {
		t.Fatal(err)
	}
	expiredCache := filepath.Join(dir, "expired.cc")
	if err := os.WriteFile(expiredCache, expired, 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.keytab")
	if err := os.WriteFile(garbage, []byte("not a keytab"), 0o600); err != nil {
		t.Fatal(err)
	}
	kt := writeKeytab(t, dir, "alice@TEST.REALM", "svc/host@TEST.REALM")
	tests := []struct {
		name  string
		kdc   string // "" = a closed port
		opts  Options
		check func(error) bool
		says  []string
	}{
		{"principal without keytab", "", Options{Principal: "alice"},
			func(err error) bool { return err != nil }, []string{"--principal and --keytab", "go together"}},
		{"no ticket cache", "", Options{Cache: filepath.Join(dir, "none")},
			func(err error) bool { var e *NoCredentialsError; return errors.As(err, &e) },
			[]string{"no Kerberos credentials", "run kinit or pass --principal and --keytab", filepath.Join(dir, "none")}},
		{"expired ticket", "", Options{Cache: expiredCache},
			func(err error) bool { var e *ExpiredError; return errors.As(err, &e) },
			[]string{"testuser1@TEST.GOKRB5", "expired at 2017", "run kinit again"}},
		{"missing keytab", "", Options{Principal: "alice", Keytab: filepath.Join(dir, "missing.keytab")},
			func(err error) bool { var e *KeytabError; return errors.As(err, &e) && errors.Is(err, os.ErrNotExist) },
			[]string{"keytab " + filepath.Join(dir, "missing.keytab"), "--keytab"}},
		{"not a keytab", "", Options{Principal: "alice", Keytab: garbage},
			func(err error) bool { var e *KeytabError; return errors.As(err, &e) }, []string{"not a keytab", garbage}},
		{"principal not in keytab", "", Options{Principal: "bob", Keytab: kt},
			func(err error) bool { var e *PrincipalNotInKeytabError; return errors.As(err, &e) },
			[]string{"principal bob@TEST.REALM is not in keytab " + kt, "alice@TEST.REALM, svc/host@TEST.REALM"}},
		{"KDC down", "", Options{Principal: "alice", Keytab: kt},
			func(err error) bool { var e *KDCError; return errors.As(err, &e) && e.Kind == KDCUnreachable },
			[]string{"no KDC of realm TEST.REALM answered", "krb5.conf"}},
		{"KDC silent (bounded wait)", "silent", Options{Principal: "alice", Keytab: kt},
			func(err error) bool { var e *KDCError; return errors.As(err, &e) && e.Kind == KDCUnreachable },
			[]string{"no KDC of realm TEST.REALM answered"}},
		{"clock skew", "skew", Options{Principal: "alice", Keytab: kt},
			func(err error) bool { var e *KDCError; return errors.As(err, &e) && e.Kind == KDCClockSkew },
			[]string{"clock", "synchronise"}},
		{"unknown principal", "unknown", Options{Principal: "alice", Keytab: kt},
			func(err error) bool { var e *KDCError; return errors.As(err, &e) && e.Kind == KDCUnknownPrincipal },
			[]string{"does not know principal alice@TEST.REALM"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var kdc string
			switch tt.kdc {
			case "":
				kdc = closedPort(t)
			case "silent":
				kdc = fakeKDC(t, 0)
			case "skew":
				kdc = fakeKDC(t, errorcode.KRB_AP_ERR_SKEW)
			case "unknown":
				kdc = fakeKDC(t, errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN)
			}
			opts := tt.opts
			opts.Config = writeConf(t, t.TempDir(), kdc)
			u, err := Login(context.Background(), opts)
			if err == nil {
				u.Close()
				t.Fatal("login succeeded")
			}
			if !tt.check(err) {
				t.Fatalf("error %T: %v", err, err)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

// TestMissingConfig: a krb5.conf that is not there says how to point at one.
func TestMissingConfig(t *testing.T) {
	_, err := Login(context.Background(), Options{Config: filepath.Join(t.TempDir(), "krb5.conf"), Cache: "/nonexistent"})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "KRB5_CONFIG") {
		t.Fatalf("err = %v", err)
	}
}

// TestPaths: krb5.conf and the ticket cache are found the way MIT's libkrb5 finds them.
func TestPaths(t *testing.T) {
	dir := t.TempDir()
	withDefault := writeConf(t, dir, "127.0.0.1:88")
	plain := filepath.Join(dir, "plain.conf")
	if err := os.WriteFile(plain, []byte("[libdefaults]\n default_realm = R\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := ConfigPath(""); got != DefaultConfig {
		t.Errorf("ConfigPath(\"\") = %q", got)
	}
	if got := ConfigPath("/a/krb5.conf:/b/krb5.conf"); got != "/a/krb5.conf" {
		t.Errorf("ConfigPath(list) = %q", got)
	}
	tests := []struct {
		ccname, conf string
		want         string
		unsupported  bool
	}{
		{"FILE:/x/cc", plain, "/x/cc", false},
		{"/x/cc", plain, "/x/cc", false},
		{"", plain, "/tmp/krb5cc_1000", false},
		{"", withDefault, dir + "/cc_1000", false},
		{"KEYRING:persistent:1000", plain, "", true},
		{"KCM:", plain, "", true},
	}
	for _, tt := range tests {
		got, err := CachePath(tt.ccname, tt.conf, 1000)
		var ue *UnsupportedCacheError
		if tt.unsupported {
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), "KRB5CCNAME=FILE:/tmp/krb5cc_1000") {
				t.Errorf("CachePath(%q) err = %v, want UnsupportedCacheError", tt.ccname, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CachePath(%q, %s) = %q, %v; want %q", tt.ccname, filepath.Base(tt.conf), got, err, tt.want)
		}
	}
}

// TestShortName follows Hadoop's DEFAULT auth_to_local rule.
func TestShortName(t *testing.T) {
	for p, want := range map[string]string{"alice@R": "alice", "hdfs/host@R": "hdfs", "bob": "bob"} {
		if got := ShortName(p); got != want {
			t.Errorf("ShortName(%q) = %q, want %q", p, got, want)
		}
	}
}
