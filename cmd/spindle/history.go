package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/history"
	"github.com/spindle-engine/spindle/history/yarnlogs"
	"github.com/spindle-engine/spindle/ui"
)

// historyArgs is a parsed `spindle history` command line.
type historyArgs struct {
	conf              *conf.Conf
	bind, host        string
	principal, keytab string
}

func parseHistoryArgs(args []string, stderr io.Writer) (historyArgs, error) {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var a historyArgs
	var confs confList
	dir := fs.String("dir", "", "the event log directory (spindle.history.fs.logDirectory; unset means spindle.eventLog.dir)")
	port := fs.Int("port", -1, "the port (spindle.history.ui.port, default 18080; 0 means any free one)")
	props := fs.String("properties-file", "", "a file of key=value (or key value) configuration lines")
	fs.Var(&confs, "conf", "a configuration key=value (repeatable)")
	fs.StringVar(&a.bind, "bind", "", "the address to listen on; unset means every interface, as Spark's history server")
	fs.StringVar(&a.host, "host", "", "the host name the printed URL names; unset means this machine's name")
	fs.StringVar(&a.principal, "principal", "", "Kerberos principal to log in as (with --keytab)")
	fs.StringVar(&a.keytab, "keytab", "", "keytab of --principal")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: spindle history [--dir DIR] [--port N] [--bind ADDR] [--conf K=V]...")
		fmt.Fprintln(stderr, "Serves the web UI and Spark's monitoring API of the applications whose event logs are in DIR.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	if fs.NArg() > 0 {
		return a, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c := conf.New()
	if *props != "" {
		if err := c.LoadProperties(*props); err != nil {
			return a, fmt.Errorf("--properties-file: %w", err)
		}
	}
	for _, kv := range confs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return a, fmt.Errorf("--conf %q: want key=value", kv)
		}
		if err := c.Set(k, v); err != nil {
			return a, fmt.Errorf("--conf %s: %w", k, err)
		}
	}
	if *dir != "" {
		if err := c.Set("spindle.history.fs.logDirectory", *dir); err != nil {
			return a, err
		}
	}
	if *port >= 0 {
		if err := c.Set("spindle.history.ui.port", fmt.Sprint(*port)); err != nil {
			return a, err
		}
	}
	a.conf = c
	return a, nil
}

// historyCmd is `spindle history`: it serves the event logs' applications until
// it is interrupted.
func historyCmd(args []string, stdout, stderr io.Writer) int {
	a, err := parseHistoryArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "spindle history: %v\n", err)
		return 2
	}
	c := a.conf
	dir := c.Get("spindle.history.fs.logDirectory")
	if dir == "" {
		dir = c.String("spindle.eventLog.dir")
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: stderr, NoColor: true}).With().Timestamp().Logger()
	// A cluster's configuration is needed only for hdfs:// logs and for executors'
	// logs; a local directory serves without one.
	var opts hdfs.Options
	var logs ui.LogSource
	if os.Getenv("HADOOP_CONF_DIR") != "" || os.Getenv("YARN_CONF_DIR") != "" {
		s, err := newSession(appArgs{principal: a.principal, keytab: a.keytab})
		if err != nil {
			fmt.Fprintf(stderr, "spindle history: %v\n", err)
			return 2
		}
		defer s.close()
		if opts, err = hdfs.OptionsFrom(s.hadoop, deployUser(s)); err != nil {
			fmt.Fprintf(stderr, "spindle history: %v\n", err)
			return 2
		}
		if s.login != nil {
			opts.Kerberos = s.login.Client()
		}
		fsys := hdfs.NewFileSystems(opts)
		defer fsys.Close()
		https := strings.EqualFold(s.hadoop.GetDefault("yarn.http.policy", "HTTP_ONLY"), "HTTPS_ONLY")
		logs = history.ContainerLogs{FS: fsys, Hadoop: s.hadoop, Live: &yarnlogs.Live{HTTPS: https}}
		return serveHistory(c, dir, a, fsys, logs, log, stdout, stderr)
	}
	fsys := hdfs.NewFileSystems(opts)
	defer fsys.Close()
	return serveHistory(c, dir, a, fsys, nil, log, stdout, stderr)
}

func serveHistory(c *conf.Conf, dir string, a historyArgs, fsys *hdfs.FileSystems, logs ui.LogSource, log zerolog.Logger, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Reading the directory once at start says at once when it is wrong.
	if _, err := history.List(ctx, fsys, dir); err != nil {
		fmt.Fprintf(stderr, "spindle history: %v\n", err)
		return 1
	}
	host := a.host
	if host == "" {
		if h, err := os.Hostname(); err == nil {
			host = h
		} else {
			host = "localhost"
		}
	}
	srv, err := ui.Listen(a.bind, host, c.Int("spindle.history.ui.port"), 0)
	if err != nil {
		fmt.Fprintf(stderr, "spindle history: %v\n", err)
		return 1
	}
	srv.SetHandler(history.NewServer(history.ServerConfig{FS: fsys, Dir: dir, Retained: c.Int("spindle.history.retainedApplications"),
		Limits: ui.Limits{Jobs: c.Int("spindle.ui.retainedJobs"), Stages: c.Int("spindle.ui.retainedStages"),
			TasksPerStage: c.Int("spindle.ui.retainedTasks"), DeadExecutors: c.Int("spindle.ui.retainedDeadExecutors")},
		Logs: logs, Log: log}))
	fmt.Fprintf(stdout, "spindle history: serving the event logs in %s at %s\n", dir, srv.URL())
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		fmt.Fprintf(stderr, "spindle history: %v\n", err)
		return 1
	}
	return 0
}
