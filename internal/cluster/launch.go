package cluster

import (
	"maps"

	"github.com/spindle-engine/spindle/am/allocator"
	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/yarn"
)

// Container is what YARN and `spindle submit` gave an ApplicationMaster's container,
// as the roles read it from the environment and the credentials file.
type Container struct {
	Env    *yarn.AMEnv
	Secret []byte
	// Resources are the staged files the AM's container got (deploy.EnvResources):
	// executors get the same.
	Resources map[string]yarn.LocalResource
	// StagingDir is the staging directory's URL, removed when the application ends.
	StagingDir string
	// ExecutorEnv is passed on to every executor: the explicit configuration, the
	// Hadoop user, the log level.
	ExecutorEnv map[string]string
}

// ExecutorLauncher builds executors' launch contexts in the AM: the AM's own files
// and configuration, the driver's address, and credentials holding the secret (and
// the AM's delegation tokens, but not its AMRMToken, which is the AM's alone).
func (ct *Container) ExecutorLauncher(driverAddr string) func(yarn.Container, string) (*yarn.LaunchContext, error) {
	creds := yarn.NewCredentials()
	for alias, t := range ct.Env.Credentials.Tokens {
		if t != ct.Env.AMRMToken {
			creds.Tokens[alias] = t
		}
	}
	creds.Secrets[deploy.SecretAlias] = ct.Secret
	tokens := creds.Bytes()
	base := maps.Clone(ct.ExecutorEnv)
	if base == nil {
		base = map[string]string{}
	}
	base[deploy.EnvRole] = deploy.RoleExecutor
	base[deploy.EnvAppID] = ct.Env.Attempt.App.String()
	base[deploy.EnvDriverAddr] = driverAddr
	// The configuration archive unpacks in each container's own directory.
	base["HADOOP_CONF_DIR"] = deploy.ConfResource
	return func(_ yarn.Container, id string) (*yarn.LaunchContext, error) {
		e := maps.Clone(base)
		e[deploy.EnvExecutorID] = id
		return &yarn.LaunchContext{
			LocalResources: ct.Resources, Env: deploy.EscapeEnv(e), Tokens: tokens,
			Commands: []string{"{{PWD}}/" + deploy.JobResource + " 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"},
		}, nil
	}
}

// AllocatorConfig sizes executor containers as deploy checked them before submit:
// memory plus overhead, and the executors' cores.
func AllocatorConfig(c *conf.Conf) allocator.Config {
	maxFailures := max(2*c.Int("spindle.executor.instances"), 3)
	if c.Get("spindle.executor.maxNumFailures") != "" {
		maxFailures = c.Int("spindle.executor.maxNumFailures")
	}
	return allocator.Config{
		ExecutorMemoryMB:    deploy.ContainerMemoryMB(c.Size("spindle.executor.memory"), c.Get("spindle.executor.memoryOverhead")),
		ExecutorVcores:      int32(c.Int("spindle.executor.cores")),
		MaxExecutorFailures: maxFailures,
		InitialInterval:     c.Duration("spindle.yarn.scheduler.initial-allocation.interval"),
		HeartbeatInterval:   c.Duration("spindle.yarn.scheduler.heartbeat.interval"),
	}
}

// MaxAttempts is spindle.yarn.maxAppAttempts, or 0 for YARN's maximum.
func MaxAttempts(c *conf.Conf) int {
	if c.Get("spindle.yarn.maxAppAttempts") == "" {
		return 0
	}
	return c.Int("spindle.yarn.maxAppAttempts")
}
