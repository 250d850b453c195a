package spindle

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/am"
	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/executor"
	"github.com/spindle-engine/spindle/shuffle"
	"github.com/spindle-engine/spindle/yarn"
)

// The job binary plays every part of an application; EnvRole says which.
const (
	// EnvRole selects the process's part: unset for a driver (local mode, or YARN
	// client mode), "am" for the ApplicationMaster that runs the driver (cluster
	// mode), "am-client" for the thin AM of client mode, "executor" for an executor.
	// deploy names the AM's roles and environment, which it sets at submit; the
	// executor's are the AM's to set.
	EnvRole      = deploy.EnvRole
	roleAM       = deploy.RoleAM
	roleClientAM = deploy.RoleClientAM
	roleExecutor = "executor"

	envAppID        = deploy.EnvAppID
	envDriverAMAddr = deploy.EnvDriverAMAddr
	envDriverAddr   = "SPINDLE_DRIVER_ADDR"
	envExecutorID   = "SPINDLE_EXECUTOR_ID"
)

// containerLogger logs JSON lines to stderr, which YARN keeps as the container's
// stderr log, in a form log tools can read.
func containerLogger(c *conf.Conf, fields map[string]string) zerolog.Logger {
	// Containers log at info unless told otherwise: their logs are read after the
	// fact, when the terminal's warn-level quiet does not help.
	level := zerolog.InfoLevel
	if v, ok := c.Explicit()["spindle.log.level"]; ok {
		if l, err := zerolog.ParseLevel(strings.ToLower(v)); err == nil {
			level = l
		}
	}
	if l, err := zerolog.ParseLevel(strings.ToLower(os.Getenv(EnvLogLevel))); err == nil && os.Getenv(EnvLogLevel) != "" {
		level = l
	}
	// Log times to the microsecond: tools line up containers' lines by them.
	zerolog.TimeFieldFormat = time.RFC3339Nano
	ctx := zerolog.New(os.Stderr).Level(level).With().Timestamp()
	for k, v := range fields {
		ctx = ctx.Str(k, v)
	}
	return ctx.Logger()
}

// runExecutor is an executor container's process: it serves its map outputs, dials
// the driver and runs tasks until the driver lets it go.
func runExecutor(ctx context.Context) int {
	c, err := confFromEnv(zerolog.New(os.Stderr))
	if err != nil {
		fmt.Fprintf(os.Stderr, "spindle executor: %v\n", err)
		return 2
	}
	id, appID := os.Getenv(envExecutorID), os.Getenv(envAppID)
	log := containerLogger(c, map[string]string{"role": "executor", "executor": id, "app": appID})
	if err := executorMain(ctx, c, id, appID, log); err != nil {
		log.Error().Err(err).Msg("executor failed")
		return 1
	}
	log.Info().Msg("executor done")
	return 0
}

func executorMain(ctx context.Context, c *conf.Conf, id, appID string, log zerolog.Logger) error {
	env, secret, err := containerIdentity()
	if err != nil {
		return err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(c.Size("spindle.executor.memory"))
	}
	// YARN's local dirs are the application's, shared by its containers on a node:
	// each executor keeps its files in a directory of its own.
	var dirs []string
	for _, d := range env.LocalDirs {
		dir := filepath.Join(d, "spindle-executor-"+id)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("local dir: %w", err)
		}
		dirs = append(dirs, dir)
	}
	if len(dirs) == 0 {
		return fmt.Errorf("container has no LOCAL_DIRS")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// This executor serves its own map outputs with the shuffle service's protocol.
	lis, err := net.Listen("tcp", ":0")
	if err != nil {
		return fmt.Errorf("shuffle listener: %w", err)
	}
	// The service names the application and executor in its own lines.
	svc := shuffle.NewService(appSecret{appID, secret}, containerLogger(c, map[string]string{"role": "executor", "component": "shuffle"}))
	served := make(chan error, 1)
	go func() { served <- svc.Serve(ctx, lis) }()
	defer func() { cancel(); <-served }()
	port := lis.Addr().(*net.TCPAddr).Port
	shuffleAddr := net.JoinHostPort(env.NMHost, fmt.Sprint(port))
	fetcher := shuffle.NewFetcher(appID, secret)
	defer fetcher.Close()
	if err := fetcher.RegisterExecutor(ctx, net.JoinHostPort("localhost", fmt.Sprint(port)), id, dirs); err != nil {
		return err
	}

	s := newSession(ctx, c, &log)
	s.remote, s.app = true, appID
	s.env = newExecEnv(c, dirs)
	s.env.executor, s.env.fetcher = id, fetcher
	if dir := os.Getenv("HADOOP_CONF_DIR"); dir != "" {
		if s.hadoop, err = conf.LoadHadoop(dir); err != nil {
			return fmt.Errorf("HADOOP_CONF_DIR: %w", err)
		}
	}
	log.Info().Str("driver", os.Getenv(envDriverAddr)).Str("shuffle", shuffleAddr).Strs("dirs", dirs).Msg("executor starting")
	return executor.Run(ctx, executor.Config{
		DriverAddr: os.Getenv(envDriverAddr), AppID: appID, ExecutorID: id,
		Host: env.NMHost, ShuffleAddr: shuffleAddr, Secret: secret,
		Cores: c.Int("spindle.executor.cores"), Memory: c.Size("spindle.executor.memory"),
		Log: log,
	}, s)
}

// appSecret is the shuffle service's view of the one application it serves.
type appSecret struct {
	app    string
	secret []byte
}

func (a appSecret) Secret(app string) ([]byte, bool) {
	if app != a.app {
		return nil, false
	}
	return a.secret, true
}

// runClientAM is client mode's ApplicationMaster: it allocates executors for the
// driver on the submitting machine and reports to it.
func runClientAM(ctx context.Context) int {
	c, err := confFromEnv(zerolog.New(os.Stderr))
	if err != nil {
		fmt.Fprintf(os.Stderr, "spindle am: %v\n", err)
		return 2
	}
	log := containerLogger(c, map[string]string{"role": "am", "app": os.Getenv(envAppID)})
	if err := clientAMMain(ctx, c, log); err != nil {
		log.Error().Err(err).Msg("ApplicationMaster failed")
		return 1
	}
	return 0
}

func clientAMMain(ctx context.Context, c *conf.Conf, log zerolog.Logger) error {
	env, secret, err := containerIdentity()
	if err != nil {
		return err
	}
	h, err := conf.LoadHadoop(os.Getenv("HADOOP_CONF_DIR"))
	if err != nil {
		return fmt.Errorf("HADOOP_CONF_DIR: %w", err)
	}
	launcher := func(driverAddr string) (func(yarn.Container, string) (*yarn.LaunchContext, error), error) {
		return executorLauncher(env, env.Attempt.App.String(), driverAddr, secret)
	}
	return am.RunClientAM(ctx, am.Config{
		Hadoop: h, Env: env, Allocator: allocatorConfig(c), Log: log, MaxAttempts: maxAttempts(c),
	}, os.Getenv(envDriverAMAddr), secret, launcher)
}

// containerIdentity reads what YARN gave this container and the application secret
// from its credentials.
func containerIdentity() (*yarn.AMEnv, []byte, error) {
	env, err := yarn.AMContext()
	if err != nil {
		return nil, nil, fmt.Errorf("container environment: %w", err)
	}
	if env.Credentials != nil {
		if s := env.Credentials.Secrets[deploy.SecretAlias]; len(s) > 0 {
			return env, s, nil
		}
	}
	return nil, nil, fmt.Errorf("container credentials have no %s secret", deploy.SecretAlias)
}
