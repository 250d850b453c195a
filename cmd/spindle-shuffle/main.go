// Command spindle-shuffle is Spindle's external shuffle service: one daemon per
// node that serves the map outputs of every application's executors on the node
// to reducers, over the shuffle fetch protocol, so that the outputs outlive the
// executors that wrote them.
//
// It runs supervised by the NodeManager aux service spindle_shuffle
// (shuffle/yarn-aux), which passes --control stdin and sends application start and
// stop events there, or standalone (scripts/spindle-shuffle.service), where a local
// supervisor sends the same events to --control unix:PATH.
//
//	spindle-shuffle --state-dir DIR [--listen HOST:PORT] [--metrics-listen HOST:PORT]
//	                [--local-dirs DIR,DIR] [--control stdin|unix:PATH|none]
//	                [--log-level debug|info|warn|error]
//
// Its first line on stdout is a JSON announcement with the bound port
// ({"event":"listening","addr":...,"port":...,"metrics":...}); the control
// protocol's acknowledgements follow. Logs go to stderr. SIGTERM or SIGINT stops
// it; so does the end of stdin under --control stdin.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/shuffle/external"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("spindle-shuffle", flag.ContinueOnError)
	stateDir := fs.String("state-dir", "", "directory of the registrations store (required; made mode 0700)")
	listen := fs.String("listen", ":7337", "host:port to serve fetches on; port 0 picks a free one")
	metricsListen := fs.String("metrics-listen", "", "host:port of the Prometheus metrics endpoint (/metrics); empty for none")
	localDirs := fs.String("local-dirs", "", "comma-separated NodeManager local dirs: applications may then register only dirs inside their own YARN application directories")
	control := fs.String("control", "none", "where application events come from: stdin (supervised; its end stops the daemon), unix:PATH (a socket, mode 0600), or none")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	lvl, err := zerolog.ParseLevel(strings.ToLower(*level))
	if err != nil || *stateDir == "" || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "spindle-shuffle: want --state-dir DIR and a --log-level of debug, info, warn or error")
		fs.Usage()
		return 2
	}
	log := zerolog.New(os.Stderr).Level(lvl).With().Timestamp().Str("component", "spindle-shuffle").Logger()
	cfg := external.Config{StateDir: *stateDir, Listen: *listen, MetricsListen: *metricsListen, Out: os.Stdout, Log: log}
	if *localDirs != "" {
		cfg.LocalDirs = strings.Split(*localDirs, ",")
	}
	switch c := *control; {
	case c == "stdin":
		// A non-blocking descriptor lets Run's Close interrupt a pending read when
		// the daemon stops for a signal.
		if err := syscall.SetNonblock(0, true); err != nil {
			fmt.Fprintf(os.Stderr, "spindle-shuffle: stdin: %v\n", err)
			return 2
		}
		cfg.Control = os.NewFile(0, "stdin")
	case strings.HasPrefix(c, "unix:"):
		cfg.ControlSocket = strings.TrimPrefix(c, "unix:")
	case c == "none":
	default:
		fmt.Fprintf(os.Stderr, "spindle-shuffle: --control %q: want stdin, unix:PATH or none\n", c)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := external.Run(ctx, cfg); err != nil {
		log.Error().Err(err).Msg("shuffle service failed")
		return 1
	}
	log.Info().Msg("shuffle service stopped")
	return 0
}
