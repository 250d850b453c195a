// Command testjob is the ApplicationMaster of the deploy package's end-to-end tests.
// It does not use Spindle's roles: it checks what deploy.Submit promised its
// container (role, secret in the credentials, the job binary in its working
// directory, the Hadoop configuration, SPINDLE_RESOURCES, shipped files named by
// "file=<path>" arguments), logs what it saw to stderr (the secret as a digest), registers with the RM and unregisters with SUCCEEDED and its
// arguments in the diagnostics, or FAILED with what was wrong.
//
// Usage: testjob [hang|fail] args...   ("hang" heartbeats until the application is
// killed, "fail" unregisters with FAILED)
package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/yarn"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "testjob:", err)
		os.Exit(1)
	}
}

// checks returns what is wrong with the container deploy.Submit gave us.
func checks(env *yarn.AMEnv, args []string) []string {
	var bad []string
	if r := os.Getenv(deploy.EnvRole); r != deploy.RoleAM {
		bad = append(bad, fmt.Sprintf("%s=%q, want %q", deploy.EnvRole, r, deploy.RoleAM))
	}
	if s := env.Credentials.Secrets[deploy.SecretAlias]; len(s) == 0 {
		bad = append(bad, "no "+deploy.SecretAlias+" in the credentials")
	} else {
		// A digest, never the secret: the test compares it with the submitted one.
		fmt.Fprintf(os.Stderr, "testjob: secret sha256=%x\n", sha256.Sum256(s))
	}
	for _, kv := range os.Environ() {
		if s := env.Credentials.Secrets[deploy.SecretAlias]; len(s) > 0 && strings.Contains(kv, string(s)) {
			bad = append(bad, "the secret is in the environment")
		}
	}
	if st, err := os.Stat(deploy.JobResource); err != nil || st.Mode()&0o100 == 0 {
		bad = append(bad, fmt.Sprintf("no executable %s in the working directory: %v", deploy.JobResource, err))
	}
	var res map[string]yarn.LocalResource
	if err := json.Unmarshal([]byte(os.Getenv(deploy.EnvResources)), &res); err != nil {
		bad = append(bad, fmt.Sprintf("%s: %v", deploy.EnvResources, err))
	} else if _, ok := res[deploy.JobResource]; !ok {
		bad = append(bad, fmt.Sprintf("%s has no %s: %v", deploy.EnvResources, deploy.JobResource, res))
	}
	if os.Getenv(deploy.EnvAppID) != env.Attempt.App.String() {
		bad = append(bad, fmt.Sprintf("%s=%q in attempt %s", deploy.EnvAppID, os.Getenv(deploy.EnvAppID), env.Attempt))
	}
	var c map[string]string
	if err := json.Unmarshal([]byte(os.Getenv(deploy.EnvConf)), &c); err != nil || c["spindle.master"] != "yarn" {
		bad = append(bad, fmt.Sprintf("%s=%q: %v", deploy.EnvConf, os.Getenv(deploy.EnvConf), err))
	}
	for _, a := range args {
		if f, ok := strings.CutPrefix(a, "file="); ok {
			if b, err := os.ReadFile(f); err != nil || string(b) != "shipped\n" {
				bad = append(bad, fmt.Sprintf("shipped file %s: %q, %v", f, b, err))
			}
		}
	}
	return bad
}

func run(ctx context.Context, args []string) error {
	env, err := yarn.AMContext()
	if err != nil {
		return err
	}
	wd, _ := os.Getwd()
	fmt.Fprintf(os.Stderr, "testjob: role=%s app=%s args=%q wd=%s HADOOP_CONF_DIR=%s\n",
		os.Getenv(deploy.EnvRole), os.Getenv(deploy.EnvAppID), args, wd, os.Getenv("HADOOP_CONF_DIR"))
	// The Hadoop configuration comes from the archive deploy shipped.
	h, err := conf.HadoopFromEnv()
	if err != nil {
		return err
	}
	amrm, err := yarn.NewAMRMClient(h, env.AMRMToken)
	if err != nil {
		return err
	}
	defer amrm.Close()
	if _, err := amrm.Register(ctx, env.NMHost, -1, ""); err != nil {
		return err
	}
	if bad := checks(env, args); len(bad) > 0 {
		fmt.Fprintln(os.Stderr, "testjob: FAILED:", strings.Join(bad, "; "))
		return errors.Join(errors.New(strings.Join(bad, "; ")), amrm.Finish(ctx, yarn.Failed, "testjob: "+strings.Join(bad, "; "), ""))
	}
	if len(args) > 0 && args[0] == "fail" {
		return amrm.Finish(ctx, yarn.Failed, "testjob: failing on purpose", "")
	}
	if len(args) > 0 && args[0] == "hang" {
		for {
			if _, err := amrm.Allocate(ctx, &yarn.AllocateRequest{Progress: 0.5}); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	fmt.Fprintln(os.Stderr, "testjob: all checks passed")
	return amrm.Finish(ctx, yarn.Succeeded, fmt.Sprintf("testjob args=%q", args), "")
}
