package cluster

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// EnvSecureConfDir names the secure cluster's configuration directory, which
// `scripts/minicluster up --secure` prints and `make test` exports.
const EnvSecureConfDir = "SPINDLE_SECURE_CONF_DIR"

// Secure is the Kerberized test cluster: an MIT KDC, RPC privacy, protected data
// transfer, delegation tokens living minutes.
type Secure struct {
	*Cluster
	// Realm, Principal (the test user's) and Keytab (its keytab); KRB5Config is the
	// realm's krb5.conf, for KRB5_CONFIG.
	Realm, Principal, Keytab, KRB5Config string
}

// SecureFromEnv returns the cluster SPINDLE_SECURE_CONF_DIR points at, or skips the
// test when there is none, as FromEnv does for the open cluster.
func SecureFromEnv(t testing.TB) *Secure {
	t.Helper()
	dir := os.Getenv(EnvSecureConfDir)
	if dir == "" {
		t.Skip("secure minicluster not running: " + EnvSecureConfDir + " unset; run `eval $(scripts/minicluster up --secure)` or `make test`")
	}
	s, err := LoadSecure(dir)
	if err != nil {
		t.Fatalf("%s=%s: %v", EnvSecureConfDir, dir, err)
	}
	return s
}

// LoadSecure reads a secure cluster's description: cluster.json and kerberos.env.
func LoadSecure(dir string) (*Secure, error) {
	c, err := Load(dir)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, "kerberos.env"))
	if err != nil {
		return nil, fmt.Errorf("not a secure minicluster: %w", err)
	}
	defer f.Close()
	s := &Secure{Cluster: c}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "REALM":
			s.Realm = v
		case "PRINCIPAL":
			s.Principal = v
		case "KEYTAB":
			s.Keytab = v
		case "KRB5_CONFIG":
			s.KRB5Config = v
		}
	}
	if s.Principal == "" || s.Keytab == "" || s.KRB5Config == "" {
		return nil, fmt.Errorf("%s lacks PRINCIPAL, KEYTAB or KRB5_CONFIG", filepath.Join(dir, "kerberos.env"))
	}
	return s, sc.Err()
}
