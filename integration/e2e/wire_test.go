package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/executor/pb"
	"github.com/spindle-engine/spindle/internal/cluster"
	"github.com/spindle-engine/spindle/security/handshake"
	"github.com/spindle-engine/spindle/yarn"
)

// TestStolenCredentialsCannotRegister repeats the security run's attack on a live
// application: with an executor's container credentials read from the
// NodeManager's disk (the application secret and the container's credential), a
// second registration of that executor is refused, and so is an executor the AM
// never launched. Both refusals reach the driver's log.
func TestStolenCredentialsCannotRegister(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out := e.dir(t, "stolen") + "/out"
	r := e.submit(t, ctx, append(e.yarnArgs("cluster", "--conf", "spindle.yarn.submit.waitAppCompletion=false"),
		e.bin+"/testjob", "slow", "hdfs://"+out, "4000")...) // longer than the driver waits for a launch record
	if r.code != 0 || r.app == "" {
		t.Fatalf("submit exited %d:\n%s", r.code, r.out)
	}
	defer e.run(t, context.Background(), "kill", r.app)
	victim := e.registeredExecutor(t, r.app)

	// The thief holds everything the victim's container holds.
	dial := func(executorID, containerID string, cred []byte) error {
		cc, err := grpc.NewClient(victim.driver, grpc.WithTransportCredentials(
			handshake.NewClientCredentials(r.app, handshake.PurposeExecutor, victim.secret, crypto)))
		if err != nil {
			return err
		}
		defer cc.Close()
		stream, err := pb.NewDriverClient(cc).Connect(ctx)
		if err != nil {
			return err
		}
		auth, ok := handshake.FromContext(stream.Context())
		if !ok {
			t.Fatal("no handshake on the thief's connection")
		}
		if err := stream.Send(&pb.ExecutorMessage{Msg: &pb.ExecutorMessage_Register{Register: &pb.Register{
			AppId: r.app, ExecutorId: executorID, ContainerId: containerID, Host: "thief", Cores: 8,
			Proof: handshake.Proof(cred, handshake.ExecutorIdentity, auth.Binding, []byte(r.app), []byte(executorID), []byte(containerID)),
		}}}); err != nil {
			return err
		}
		_, err = stream.Recv()
		return err
	}
	again := make(chan error, 1)
	go func() { again <- dial(victim.executorID, victim.containerID, victim.credential) }()
	never := make(chan error, 1)
	go func() { never <- dial("9999", victim.containerID, victim.credential) }()
	if err := <-again; err == nil || !strings.Contains(err.Error(), "registered already") {
		t.Fatalf("a second registration of executor %s: %v", victim.executorID, err)
	}
	if err := <-never; err == nil || !strings.Contains(err.Error(), "never launched") {
		t.Fatalf("an executor the AM never launched: %v", err)
	}
	logs, _ := e.containerLogs(t, r.app)
	var driverLog string
	for _, l := range logs {
		if strings.Contains(l, `"role":"driver"`) {
			driverLog += l
		}
	}
	for _, want := range []string{"registered already", "never launched"} {
		if !strings.Contains(driverLog, want) {
			t.Errorf("the driver's log does not record the refusal %q", want)
		}
	}
}

// stolen is what a registered executor's container holds on the NodeManager's disk.
type stolen struct {
	executorID, containerID, driver string
	secret, credential              []byte
}

// registeredExecutor waits for an executor of app to register with its driver and
// reads its container's credentials and environment from the NodeManager's disk.
func (e *env) registeredExecutor(t *testing.T, app string) stolen {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) { // polling the NMs' dirs
		logs, _ := e.containerLogs(t, app)
		for container, l := range logs {
			if !strings.Contains(l, `"role":"executor"`) || !strings.Contains(l, "registered with the driver") {
				continue
			}
			for _, n := range e.c.Info.Nodes {
				for _, d := range n.LocalDirs {
					work := filepath.Join(d, "usercache", deploy.HadoopUser(), "appcache", app, container)
					creds, err := yarn.ReadCredentials(filepath.Join(work, "container_tokens"))
					if err != nil {
						continue
					}
					script, err := os.ReadFile(filepath.Join(work, "launch_container.sh"))
					if err != nil {
						continue
					}
					s := stolen{containerID: container, secret: creds.Secrets[deploy.SecretAlias], credential: creds.Secrets[cluster.CredentialAlias],
						executorID: exported(string(script), deploy.EnvExecutorID), driver: exported(string(script), deploy.EnvDriverAddr)}
					if s.executorID != "" && s.driver != "" && len(s.secret) > 0 && len(s.credential) > 0 {
						return s
					}
				}
			}
		}
	}
	t.Fatalf("no executor of %s registered, or its container's files were not found", app)
	return stolen{}
}

// exported reads `export NAME="value"` from a NodeManager's launch script.
func exported(script, name string) string {
	for _, line := range strings.Split(script, "\n") {
		if v, ok := strings.CutPrefix(line, "export "+name+"="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}
