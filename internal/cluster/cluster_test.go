package cluster

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/yarn"
)

// TestExecutorLaunchContext checks what the AM gives executors: its files, the
// driver's address, the secret only in the credentials and never the AMRMToken.
func TestExecutorLaunchContext(t *testing.T) {
	resources := map[string]yarn.LocalResource{
		deploy.JobResource:  {URL: "hdfs://nn:8020/s/job", Size: 10, Timestamp: 1},
		deploy.ConfResource: {URL: "hdfs://nn:8020/s/conf.zip", Size: 5, Timestamp: 2, Type: yarn.Archive},
	}
	creds := yarn.NewCredentials()
	amrm := &ipc.Token{Kind: "YARN_AM_RM_TOKEN", Identifier: []byte("id"), Password: []byte("pw")}
	hdfsTok := &ipc.Token{Kind: "HDFS_DELEGATION_TOKEN", Identifier: []byte("h"), Password: []byte("p"), Service: "nn:8020"}
	creds.Tokens["amrm"], creds.Tokens["hdfs"] = amrm, hdfsTok
	app, _ := yarn.ParseAppID("application_1_0001")
	env := &yarn.AMEnv{Credentials: creds, AMRMToken: amrm, Attempt: yarn.AttemptID{App: app, Attempt: 1}}
	secret := []byte("the-app-secret")
	ct := &Container{Env: env, Secret: secret, Resources: resources,
		ExecutorEnv: map[string]string{deploy.EnvConf: `{"spindle.executor.cores":"2"}`}}
	launch := ct.ExecutorLauncher("am-host:4040")
	lc, cred, err := launch(yarn.Container{}, "7")
	if err != nil {
		t.Fatal(err)
	}
	if len(lc.LocalResources) != 2 || lc.LocalResources[deploy.JobResource].URL != "hdfs://nn:8020/s/job" {
		t.Errorf("local resources %v", lc.LocalResources)
	}
	for k, v := range lc.Env {
		if strings.Contains(v, string(secret)) {
			t.Errorf("the secret is in env %s", k)
		}
	}
	if lc.Env[deploy.EnvRole] != deploy.RoleExecutor || lc.Env[deploy.EnvExecutorID] != "7" || lc.Env[deploy.EnvDriverAddr] != "am-host:4040" || lc.Env["HADOOP_CONF_DIR"] != deploy.ConfResource || lc.Env["MALLOC_ARENA_MAX"] != "2" {
		t.Errorf("env %v", lc.Env)
	}
	if !strings.Contains(lc.Env[deploy.EnvConf], "spindle.executor.cores") {
		t.Errorf("SPINDLE_CONF %q lost the driver's configuration", lc.Env[deploy.EnvConf])
	}
	for _, c := range lc.Commands {
		if strings.Contains(c, string(secret)) {
			t.Errorf("the secret is on the command line %q", c)
		}
	}
	got, err := yarn.ParseCredentials(lc.Tokens, "executor")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Secrets[deploy.SecretAlias], secret) {
		t.Errorf("credentials hold secret %q", got.Secrets[deploy.SecretAlias])
	}
	if len(cred) != 32 || !bytes.Equal(got.Secrets[CredentialAlias], cred) {
		t.Errorf("the container's credential %x is not the one in its credentials", cred)
	}
	if _, other, _ := launch(yarn.Container{}, "8"); bytes.Equal(other, cred) {
		t.Error("two containers got the same credential")
	}
	if got.TokenOfKind("YARN_AM_RM_TOKEN") != nil || got.TokenOfKind("HDFS_DELEGATION_TOKEN") == nil {
		t.Errorf("executor tokens %v: want the HDFS token and not the AMRMToken", got.Tokens)
	}
}
