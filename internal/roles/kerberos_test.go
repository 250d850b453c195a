package roles

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/security/kerberos"
	"github.com/spindle-engine/spindle/yarn"
)

// TestDriverLogin: the driver logs in only on a Kerberized cluster, from the
// environment's krb5.conf and ticket cache; a YARN driver without credentials fails
// saying how to log in, a local one goes on without, and an AM without a keytab
// uses its tokens.
func TestDriverLogin(t *testing.T) {
	dir := t.TempDir()
	krb5 := filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(krb5, []byte("[libdefaults]\n default_realm = R\n[realms]\n R = {\n  kdc = 127.0.0.1:1\n }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5_CONFIG", krb5)
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(dir, "none"))
	secure := conf.NewHadoop()
	secure.Set("hadoop.security.authentication", "kerberos")
	yarnConf, local := conf.New(), conf.New()
	if err := yarnConf.Set("spindle.master", "yarn"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		c       *conf.Conf
		h       *conf.Hadoop
		inAM    bool
		wantErr bool
	}{
		{"open cluster", yarnConf, conf.NewHadoop(), false, false},
		{"no Hadoop configuration", local, nil, false, false},
		{"YARN driver without credentials", yarnConf, secure, false, true},
		{"local driver without credentials", local, secure, false, false},
		{"AM without a keytab", yarnConf, secure, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := driverLogin(tt.c, tt.h, tt.inAM, zerolog.Nop())
			if u != nil {
				u.Close()
				t.Fatal("logged in without credentials")
			}
			var nc *kerberos.NoCredentialsError
			if tt.wantErr != (err != nil) || (tt.wantErr && !errors.As(err, &nc)) {
				t.Fatalf("err = %v, want a NoCredentialsError: %v", err, tt.wantErr)
			}
		})
	}
}

// TestContainerTokens: the HDFS and RM delegation tokens of a container's
// credentials, never its AMRMToken.
func TestContainerTokens(t *testing.T) {
	creds := yarn.NewCredentials()
	creds.Tokens["a"] = &ipc.Token{Kind: "YARN_AM_RM_TOKEN"}
	creds.Tokens["h"] = &ipc.Token{Kind: "HDFS_DELEGATION_TOKEN"}
	creds.Tokens["r"] = &ipc.Token{Kind: "RM_DELEGATION_TOKEN"}
	if got := containerTokens(creds); len(got) != 2 {
		t.Fatalf("tokens %v", got)
	}
	if got := containerTokens(nil); got != nil {
		t.Fatalf("nil credentials: %v", got)
	}
}
