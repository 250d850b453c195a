package deploy

import (
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/yarn"
)

// TestAMLaunchContextCredentials: on a Kerberized cluster the AM's credentials carry
// the delegation tokens beside the secret; its keytab is a private resource of the
// AM alone (executors get EnvResources, which lacks it), named in its configuration
// in place of the submitter's path.
func TestAMLaunchContextCredentials(t *testing.T) {
	c := conf.New()
	for k, v := range map[string]string{"spindle.kerberos.principal": "alice@R", "spindle.kerberos.keytab": "/home/alice/alice.keytab"} {
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	hdfsTok := &ipc.Token{Kind: "HDFS_DELEGATION_TOKEN", Service: "10.0.0.1:8020", Identifier: []byte("id1"), Password: []byte("pw1")}
	rmTok := &ipc.Token{Kind: "RM_DELEGATION_TOKEN", Service: "10.0.0.1:8032", Identifier: []byte("id2"), Password: []byte("pw2")}
	job := yarn.LocalResource{URL: "hdfs://nn/staging/job", Size: 1, Type: yarn.File}
	kt := &amKeytab{principal: "alice@R", resource: yarn.LocalResource{URL: "hdfs://nn/staging/" + KeytabResource, Size: 2, Type: yarn.File, Visibility: yarn.Private}}
	tests := []struct {
		name   string
		keytab *amKeytab
	}{{"keytab", kt}, {"ticket cache", nil}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &Spec{Conf: c, Mode: ModeCluster, Log: zerolog.Nop()}
			app := &App{Secret: []byte("app-secret"), Tokens: []*ipc.Token{hdfsTok, rmTok}}
			lc, err := launchContext(spec, app, RoleAM, map[string]yarn.LocalResource{JobResource: job}, tt.keytab)
			if err != nil {
				t.Fatal(err)
			}
			creds, err := yarn.ParseCredentials(lc.Tokens, "AM")
			if err != nil {
				t.Fatal(err)
			}
			if string(creds.Secrets[SecretAlias]) != "app-secret" || creds.TokenOfKind("HDFS_DELEGATION_TOKEN") == nil || creds.TokenOfKind("RM_DELEGATION_TOKEN") == nil {
				t.Fatalf("credentials %+v", creds)
			}
			if strings.Contains(lc.Env[EnvResources], KeytabResource) {
				t.Error("the executors' resources include the keytab")
			}
			if strings.Contains(lc.Env[EnvConf], "/home/alice") {
				t.Error("the submitter's keytab path reached the AM's configuration")
			}
			r, shipped := lc.LocalResources[KeytabResource]
			if tt.keytab == nil {
				if shipped || strings.Contains(lc.Env[EnvConf], KeytabResource) {
					t.Fatal("a keytab was shipped without one")
				}
				return
			}
			if !shipped || r.Visibility != yarn.Private {
				t.Fatalf("keytab resource %+v, shipped %v", r, shipped)
			}
			if !strings.Contains(lc.Env[EnvConf], KeytabResource) || !strings.Contains(lc.Env[EnvConf], "alice@R") {
				t.Errorf("AM configuration %s does not name its keytab and principal", lc.Env[EnvConf])
			}
		})
	}
}
