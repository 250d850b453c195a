package spindle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
)

// Environment variables through which `spindle submit` configures a job process.
const (
	// EnvConf holds the explicitly set configuration as a JSON object of key → value.
	EnvConf = deploy.EnvConf
	// EnvLogLevel sets the log level: debug, info, warn (the default) or error.
	EnvLogLevel = deploy.EnvLogLevel
	// EnvCPUProfile names a file for a CPU profile of the driver process (in local
	// mode, the whole job), for `go tool pprof`.
	EnvCPUProfile = "SPINDLE_CPUPROFILE"
)

// Main runs a Spindle program: it reads the configuration that `spindle submit` passed
// (or the defaults, for a plain run), starts a session, calls run, prints the job
// summary on stderr and exits: 0 when run returned nil, 1 otherwise. SIGINT and
// SIGTERM cancel run's context.
func Main(run func(ctx context.Context, s *Session) error) {
	os.Exit(runMain(run))
}

func runMain(run func(ctx context.Context, s *Session) error) int {
	switch os.Getenv(EnvRole) {
	case roleExecutor, roleClientAM:
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if os.Getenv(EnvRole) == roleExecutor {
			return runExecutor(ctx)
		}
		return runClientAM(ctx)
	}
	log := newLogger("")
	c, err := confFromEnv(log)
	if err != nil {
		fmt.Fprintf(os.Stderr, "spindle: %v\n", err)
		return 2
	}
	inAM := os.Getenv(EnvRole) == roleAM
	if inAM {
		log = containerLogger(c, map[string]string{"role": "driver", "app": os.Getenv(envAppID)})
	} else {
		log = newLogger(c.String("spindle.log.level"))
	}
	// The garbage collector works with the memory accounting: it collects harder as
	// the process nears the memory it was given, unless the user set GOMEMLIMIT.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(c.Size("spindle.driver.memory"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := []SessionOption{WithLogger(log)}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		opts = append(opts, func(o *sessionOpts) { o.progress = newProgressBar(os.Stderr) })
	}
	s, err := NewSession(ctx, c, opts...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "spindle: %v\n", err)
		return 2
	}
	if p := os.Getenv(EnvCPUProfile); p != "" {
		stopProfile, perr := startCPUProfile(p)
		if perr != nil {
			fmt.Fprintf(os.Stderr, "spindle: %s: %v\n", EnvCPUProfile, perr)
			return 2
		}
		defer stopProfile()
	}
	start := time.Now()
	err = run(ctx, s)
	s.setOutcome(err)
	sum := s.Summary()
	if cerr := s.Close(); cerr != nil {
		log.Warn().Err(cerr).Msg("close session")
	}
	fmt.Fprintf(os.Stderr, "spindle: %s\n", strings.ReplaceAll(sum.String(), "\n", "\nspindle: "))
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(os.Stderr, "spindle: interrupted after %s\n", time.Since(start).Round(time.Millisecond))
		} else {
			fmt.Fprintf(os.Stderr, "spindle: job failed: %v\n", err)
		}
		return 1
	}
	return 0
}

// newLogger logs to stderr at SPINDLE_LOG_LEVEL, else at the configured level.
func newLogger(configured string) zerolog.Logger {
	level := zerolog.WarnLevel
	if l, err := zerolog.ParseLevel(strings.ToLower(configured)); err == nil && configured != "" {
		level = l
	}
	if v := os.Getenv(EnvLogLevel); v != "" {
		if l, err := zerolog.ParseLevel(strings.ToLower(v)); err == nil {
			level = l
		}
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly}).Level(level).With().Timestamp().Logger()
}

// confFromEnv builds the configuration from SPINDLE_CONF. Unknown keys are warnings
// naming the nearest known key; bad values are errors.
func confFromEnv(log zerolog.Logger) (*conf.Conf, error) {
	c := conf.New()
	raw := os.Getenv(EnvConf)
	if raw == "" {
		return c, nil
	}
	var kv map[string]string
	if err := json.Unmarshal([]byte(raw), &kv); err != nil {
		return nil, fmt.Errorf("%s: %w", EnvConf, err)
	}
	for _, err := range c.SetAll(kv) {
		var unknown *conf.UnknownKeyError
		if errors.As(err, &unknown) {
			log.Warn().Msg(err.Error())
			continue
		}
		return nil, err
	}
	return c, nil
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
