package cluster

import (
	"maps"
	"sync"

	"github.com/spindle-engine/spindle/am"
	"github.com/spindle-engine/spindle/am/allocator"
	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/executor"
	"github.com/spindle-engine/spindle/ipc"
	"github.com/spindle-engine/spindle/shuffle"
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
	// ShuffleService says executors use their node's shuffle service
	// (spindle.shuffle.service.enabled): their launch contexts carry the secret
	// for it.
	ShuffleService bool

	mu      sync.Mutex
	renewed map[string]*ipc.Token // by alias; nil until SetTokens
}

// CredentialAlias names an executor's per-container credential in its container's
// credentials: the executor proves it to the driver, which admits each launched
// executor once.
const CredentialAlias = "spindle.executor.credential"

// ExecutorLauncher builds executors' launch contexts in the AM: the AM's own files
// and configuration, the driver's address, and credentials holding the secret, a
// credential of the container's own (and the AM's delegation tokens, but not its
// AMRMToken, which is the AM's alone).
func (ct *Container) ExecutorLauncher(driverAddr string) am.LaunchFunc {
	base := maps.Clone(ct.ExecutorEnv)
	if base == nil {
		base = map[string]string{}
	}
	maps.Copy(base, deploy.ProcessEnv)
	base[deploy.EnvRole] = deploy.RoleExecutor
	base[deploy.EnvAppID] = ct.Env.Attempt.App.String()
	base[deploy.EnvDriverAddr] = driverAddr
	// The configuration archive unpacks in each container's own directory.
	base["HADOOP_CONF_DIR"] = deploy.ConfResource
	return func(_ yarn.Container, id string) (*yarn.LaunchContext, []byte, error) {
		cred, err := executor.NewCredential()
		if err != nil {
			return nil, nil, err
		}
		creds := yarn.NewCredentials()
		for alias, t := range ct.delegationTokens() {
			creds.Tokens[alias] = t
		}
		creds.Secrets[deploy.SecretAlias] = ct.Secret
		creds.Secrets[CredentialAlias] = cred
		e := maps.Clone(base)
		e[deploy.EnvExecutorID] = id
		lc := &yarn.LaunchContext{
			LocalResources: ct.Resources, Env: deploy.EscapeEnv(e), Tokens: creds.Bytes(),
			Commands: []string{"{{PWD}}/" + deploy.JobResource + " 1><LOG_DIR>/stdout 2><LOG_DIR>/stderr"},
		}
		if ct.ShuffleService {
			// The node's shuffle service learns the application's secret from the
			// first container of the application it sees there.
			lc.ServiceData = map[string][]byte{shuffle.AuxServiceName: ct.Secret}
		}
		return lc, cred, nil
	}
}

// expect admits a launched executor at the driver's endpoint.
func expect(b *executor.Backend, l am.Launched) {
	b.Expect(executor.Launch{ExecutorID: l.ExecutorID, ContainerID: l.ContainerID, Host: l.Host,
		Credential: l.Credential, ShuffleService: l.ShuffleService})
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
