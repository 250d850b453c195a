package roles

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/internal/cluster"
	"github.com/spindle-engine/spindle/yarn"
)

// confFromEnv builds the configuration from SPINDLE_CONF. Bad values are errors.
// Unknown keys are kept, and logged at debug level only: `spindle submit`, which
// wrote SPINDLE_CONF, warned about each already, where the user looks.
func confFromEnv(log zerolog.Logger) (*conf.Conf, error) {
	c := conf.New()
	raw := os.Getenv(deploy.EnvConf)
	if raw == "" {
		return c, nil
	}
	var kv map[string]string
	if err := json.Unmarshal([]byte(raw), &kv); err != nil {
		return nil, fmt.Errorf("%s: %w", deploy.EnvConf, err)
	}
	for _, err := range c.SetAll(kv) {
		var unknown *conf.UnknownKeyError
		if errors.As(err, &unknown) {
			log.Debug().Msg(err.Error())
			continue
		}
		return nil, err
	}
	return c, nil
}

// consoleLogger logs to stderr for a person: at SPINDLE_LOG_LEVEL, else at the
// configured level, else warn; in colour only when stderr is a terminal.
func consoleLogger(configured string) zerolog.Logger {
	return newConsoleLogger(os.Stderr, term.IsTerminal(int(os.Stderr.Fd())), configured)
}

// newConsoleLogger is consoleLogger writing to w, which is a terminal or not.
func newConsoleLogger(w io.Writer, terminal bool, configured string) zerolog.Logger {
	level := zerolog.WarnLevel
	if l, err := zerolog.ParseLevel(strings.ToLower(configured)); err == nil && configured != "" {
		level = l
	}
	if l, ok := levelFromEnv(); ok {
		level = l
	}
	out := zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: !terminal}
	return zerolog.New(out).Level(level).With().Timestamp().Logger()
}

func levelFromEnv() (zerolog.Level, bool) {
	v := os.Getenv(deploy.EnvLogLevel)
	if v == "" {
		return 0, false
	}
	l, err := zerolog.ParseLevel(strings.ToLower(v))
	return l, err == nil
}

// containerLogger logs JSON lines to stderr, which YARN keeps as the container's
// stderr log, in a form log tools can read. Containers log at info unless told
// otherwise: their logs are read after the fact, when the terminal's warn-level
// quiet does not help.
func containerLogger(c *conf.Conf, fields map[string]string) zerolog.Logger {
	level := zerolog.InfoLevel
	if v, ok := c.Explicit()["spindle.log.level"]; ok {
		if l, err := zerolog.ParseLevel(strings.ToLower(v)); err == nil {
			level = l
		}
	}
	if l, ok := levelFromEnv(); ok {
		level = l
	}
	ctx := zerolog.New(os.Stderr).Level(level).Hook(nanoTime{}).With()
	for k, v := range fields {
		ctx = ctx.Str(k, v)
	}
	return ctx.Logger()
}

// nanoTime stamps each line with its time to the nanosecond, so that tools can
// order lines across containers; zerolog's own timestamp would need its global
// time format changed.
type nanoTime struct{}

func (nanoTime) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str(zerolog.TimestampFieldName, time.Now().Format(time.RFC3339Nano))
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

// amContainer reads what an ApplicationMaster's container got from YARN and from
// `spindle submit`: its identity and secret, the staged files its executors get too,
// the staging directory, and what executors' environments inherit.
func amContainer(c *conf.Conf) (*cluster.Container, error) {
	env, secret, err := containerIdentity()
	if err != nil {
		return nil, err
	}
	ct := &cluster.Container{Env: env, Secret: secret, StagingDir: os.Getenv(deploy.EnvStagingDir), ExecutorEnv: map[string]string{},
		ShuffleService: c.Bool("spindle.shuffle.service.enabled")}
	if err := json.Unmarshal([]byte(os.Getenv(deploy.EnvResources)), &ct.Resources); err != nil {
		return nil, fmt.Errorf("%s: %w", deploy.EnvResources, err)
	}
	for _, k := range []string{deploy.EnvConf, "HADOOP_USER_NAME", deploy.EnvLogLevel} {
		if v := os.Getenv(k); v != "" {
			ct.ExecutorEnv[k] = v
		}
	}
	return ct, nil
}
