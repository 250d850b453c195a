package roles

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/am"
	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/executor"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/internal/cluster"
	"github.com/spindle-engine/spindle/internal/engine"
	"github.com/spindle-engine/spindle/shuffle"
)

// runExecutor is an executor container's process: it serves its map outputs, dials
// the driver and runs tasks until the driver lets it go.
func runExecutor(ctx context.Context, jobs engine.Jobs) int {
	c, err := confFromEnv(zerolog.New(os.Stderr))
	if err != nil {
		fmt.Fprintf(os.Stderr, "spindle executor: %v\n", err)
		return 2
	}
	id, appID := os.Getenv(deploy.EnvExecutorID), os.Getenv(deploy.EnvAppID)
	log := containerLogger(c, map[string]string{"role": "executor", "executor": id, "app": appID})
	if err := executorMain(ctx, c, jobs, id, appID, log); err != nil {
		log.Error().Err(err).Msg("executor failed")
		return 1
	}
	log.Info().Msg("executor done")
	return 0
}

func executorMain(ctx context.Context, c *conf.Conf, jobs engine.Jobs, id, appID string, log zerolog.Logger) (err error) {
	env, secret, err := containerIdentity()
	if err != nil {
		return err
	}
	tuneGC(c, "spindle.executor.memory")
	h, err := hadoopFromEnv()
	if err != nil {
		return err
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

	encrypt := c.Bool("spindle.network.crypto.enabled")
	fetcher := shuffle.NewFetcher(appID, secret, shuffle.WithEncryption(encrypt), shuffle.WithRetry(shuffle.RetryPolicy{MaxRetries: c.Int("spindle.shuffle.io.maxRetries"), Wait: c.Duration("spindle.shuffle.io.retryWait")}))
	defer fetcher.Close()
	// With the node's shuffle service, map outputs outlive this executor: it
	// registers its directories there once the driver names the service.
	// Without, it serves them itself, on its container's host only.
	external := c.Bool("spindle.shuffle.service.enabled")
	shuffleAddr := ""
	registered := func(ctx context.Context, service string) error {
		if !external {
			return nil
		}
		if service == "" {
			return errors.New("spindle.shuffle.service.enabled is set, but the driver names no shuffle service on this node")
		}
		return fetcher.RegisterExecutor(ctx, service, id, dirs)
	}
	if !external {
		lis, err := net.Listen("tcp", net.JoinHostPort(env.NMHost, "0"))
		if err != nil {
			return fmt.Errorf("shuffle listener: %w", err)
		}
		// The service names the application and executor in its own lines.
		svc := shuffle.NewService(appSecret{appID, secret}, containerLogger(c, map[string]string{"role": "executor", "component": "shuffle"}))
		served := make(chan error, 1)
		go func() { served <- svc.Serve(ctx, lis) }()
		defer func() { cancel(); <-served }()
		shuffleAddr = net.JoinHostPort(env.NMHost, fmt.Sprint(lis.Addr().(*net.TCPAddr).Port))
		if err := fetcher.RegisterExecutor(ctx, shuffleAddr, id, dirs); err != nil {
			return err
		}
	}
	cred := env.Credentials.Secrets[cluster.CredentialAlias]
	if len(cred) == 0 {
		return fmt.Errorf("container credentials have no %s: was this executor launched by the ApplicationMaster?", cluster.CredentialAlias)
	}

	// Executors authenticate to HDFS with the application's delegation tokens only;
	// the driver sends renewed ones (executorTokens).
	fsOpts, err := fsOptions(h, deploy.HadoopUser(), containerTokens(env.Credentials), nil)
	if err != nil {
		return err
	}
	fs := hdfs.NewFileSystems(fsOpts)
	defer func() { err = errors.Join(err, fs.Close()) }()
	tenv := engine.NewEnv(c, dirs)
	tenv.ExecutorID, tenv.Fetcher = id, fetcher
	runner := engine.NewExecutor(engine.ExecutorConfig{Conf: c, Log: log, FS: fs, Env: tenv, Jobs: jobs})
	driverAddr := os.Getenv(deploy.EnvDriverAddr)
	log.Info().Str("driver", driverAddr).Str("shuffle", shuffleAddr).Strs("dirs", dirs).Msg("executor starting")
	return executor.Run(ctx, executor.Config{
		DriverAddr: driverAddr, AppID: appID, ExecutorID: id,
		Host: env.NMHost, ShuffleAddr: shuffleAddr, Secret: secret,
		NodeID: net.JoinHostPort(env.NMHost, strconv.Itoa(env.NMPort)), NodeHTTPAddress: net.JoinHostPort(env.NMHost, strconv.Itoa(env.NMHTTPPort)),
		ContainerID: env.Container.String(), Credential: cred, Encrypt: encrypt, Registered: registered,
		Cores: c.Int("spindle.executor.cores"), Memory: c.Size("spindle.executor.memory"),
		Tokens: executorTokens(fs, log), Log: log,
	}, runner)
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
	log := containerLogger(c, map[string]string{"role": "am", "app": os.Getenv(deploy.EnvAppID)})
	if err := clientAMMain(ctx, c, log); err != nil {
		log.Error().Err(err).Msg("ApplicationMaster failed")
		return 1
	}
	return 0
}

func clientAMMain(ctx context.Context, c *conf.Conf, log zerolog.Logger) error {
	ct, err := amContainer(c)
	if err != nil {
		return err
	}
	h, err := conf.LoadHadoop(os.Getenv("HADOOP_CONF_DIR"))
	if err != nil {
		return fmt.Errorf("HADOOP_CONF_DIR: %w", err)
	}
	launcher := func(driverAddr string) (am.LaunchFunc, error) { return ct.ExecutorLauncher(driverAddr), nil }
	err = am.RunClientAM(ctx, am.Config{
		Hadoop: h, Env: ct.Env, Allocator: cluster.AllocatorConfig(c), Log: log, MaxAttempts: cluster.MaxAttempts(c),
		RequireShuffleService: c.Bool("spindle.shuffle.service.enabled"),
		// The driver's UI, on the submitting machine, is the tracking URL; once the
		// application ends, the history server's page of it.
		TrackingURL: c.Get("spindle.driver.appUIAddress"), FinalTrackingURL: cluster.HistoryURL(c, ct.Env.Attempt.App.String(), ""),
	}, am.ClientLink{Addr: os.Getenv(deploy.EnvDriverAMAddr), Secret: ct.Secret, Encrypt: c.Bool("spindle.network.crypto.enabled")}, launcher)
	if errors.Is(err, am.ErrShutdown) || ctx.Err() != nil {
		// YARN stopped this container (the application was killed): whoever
		// killed it cleans up, as in cluster mode.
		return err
	}
	// The application has ended (the thin AM unregistered, whether the driver
	// finished or went away). The driver removes the staging dir when it ends
	// well, but a driver killed with SIGKILL, or on a lost machine, never does:
	// this AM, which holds the application's delegation tokens, removes it.
	return errors.Join(err, removeStaging(ctx, c, h, ct, log))
}

// removeStaging removes the application's staging directory from inside YARN,
// unless spindle.yarn.preserveStagingFiles keeps it.
func removeStaging(ctx context.Context, c *conf.Conf, h *conf.Hadoop, ct *cluster.Container, log zerolog.Logger) error {
	if ct.StagingDir == "" || c.Bool("spindle.yarn.preserveStagingFiles") {
		return nil
	}
	opts, err := fsOptions(h, deploy.HadoopUser(), containerTokens(ct.Env.Credentials), nil)
	if err != nil {
		return fmt.Errorf("remove staging dir: %w", err)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := deploy.RemoveStagingURL(rctx, ct.StagingDir, opts); err != nil {
		return err // it names the directory
	}
	log.Info().Str("dir", ct.StagingDir).Msg("staging dir removed")
	return nil
}
