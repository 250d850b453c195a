package cluster

import (
	"bytes"
	"testing"

	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/yarn"
)

// TestRenewedTokensReachNewExecutors: executors launched after a renewal get the
// renewed delegation tokens, not the AM container's first ones, and never its
// AMRMToken.
func TestRenewedTokensReachNewExecutors(t *testing.T) {
	creds := yarn.NewCredentials()
	amrm := &ipc.Token{Kind: "YARN_AM_RM_TOKEN", Identifier: []byte("id"), Password: []byte("pw")}
	first := &ipc.Token{Kind: "HDFS_DELEGATION_TOKEN", Identifier: []byte("h1"), Password: []byte("p1"), Service: "nn:8020"}
	creds.Tokens["amrm"], creds.Tokens["hdfs"] = amrm, first
	app, _ := yarn.ParseAppID("application_1_0001")
	ct := &Container{Env: &yarn.AMEnv{Credentials: creds, AMRMToken: amrm, Attempt: yarn.AttemptID{App: app, Attempt: 1}}, Secret: []byte("s")}
	launch := ct.ExecutorLauncher("am:1")
	tokensOf := func() *yarn.Credentials {
		t.Helper()
		lc, _, err := launch(yarn.Container{}, "1")
		if err != nil {
			t.Fatal(err)
		}
		c, err := yarn.ParseCredentials(lc.Tokens, "executor")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if got := tokensOf().TokenOfKind("HDFS_DELEGATION_TOKEN"); got == nil || !bytes.Equal(got.Password, first.Password) {
		t.Fatalf("before renewal: %v", got)
	}
	renewed := &ipc.Token{Kind: "HDFS_DELEGATION_TOKEN", Identifier: []byte("h2"), Password: []byte("p2"), Service: "nn:8020"}
	ct.SetTokens([]*ipc.Token{renewed})
	got := tokensOf()
	if h := got.TokenOfKind("HDFS_DELEGATION_TOKEN"); h == nil || !bytes.Equal(h.Password, renewed.Password) || len(got.Tokens) != 1 {
		t.Fatalf("after renewal: %v", got.Tokens)
	}
	if got.TokenOfKind("YARN_AM_RM_TOKEN") != nil {
		t.Fatal("an executor got the AMRMToken")
	}
}
