// Package external is the node's external shuffle service: the daemon
// (cmd/spindle-shuffle) that serves the map outputs of every application's
// executors on its node over the shuffle fetch protocol, so that the outputs outlive
// the executors that wrote them.
//
// It keeps its registrations in a Store under its state directory, learns
// applications and their secrets from its supervisor (the NodeManager aux service
// spindle_shuffle, shuffle/yarn-aux) over the control protocol (Event, Ack), and
// serves metrics in Prometheus' text format.
package external

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/shuffle"
)

// Config is a daemon's configuration.
type Config struct {
	StateDir      string // the store's directory (mode 0700)
	Listen        string // host:port of the fetch service; port 0 picks one
	MetricsListen string // host:port of the metrics endpoint; empty for none
	// LocalDirs, when set, are the NodeManager's local directories: an application
	// may then register only directories inside its own YARN application
	// directories under them (YARNAppDirs).
	LocalDirs []string
	// Control carries the supervisor's events (its stdin); nil for none. When it
	// ends, the supervisor is gone and the daemon stops. Run closes it, if it is
	// an io.Closer, to stop reading when ctx ends.
	Control io.Reader
	// ControlSocket, when set, is a Unix socket path (created mode 0600) where a
	// supervisor of a standalone daemon connects to send events; each connection
	// speaks the protocol of Control.
	ControlSocket string
	// Out receives the announcement (one Announcement line, first) and the
	// control events' acks.
	Out io.Writer
	Log zerolog.Logger
}

// Announcement is the daemon's first line on Out, once it serves: what a
// supervisor parses to learn the bound port, e.g.
//
//	{"event":"listening","addr":"0.0.0.0:41235","port":41235,"metrics":"127.0.0.1:41236"}
type Announcement struct {
	Event   string `json:"event"`
	Addr    string `json:"addr"`
	Port    int    `json:"port"`
	Metrics string `json:"metrics,omitempty"`
}

// Daemon is a running external shuffle service.
type Daemon struct {
	store   *Store
	svc     *shuffle.Service
	metrics *metrics
	log     zerolog.Logger
}

// Run serves until ctx ends or the control input ends, then stops and closes the
// store. It returns an error if the daemon cannot start or stops abnormally.
func Run(ctx context.Context, cfg Config) (err error) {
	if cfg.StateDir == "" {
		return errors.New("shuffle service: no state dir")
	}
	store, err := OpenStore(cfg.StateDir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	opts := []shuffle.ServiceOption{shuffle.WithRegistrations(store)}
	if len(cfg.LocalDirs) > 0 {
		opts = append(opts, shuffle.WithDirPolicy(YARNAppDirs(cfg.LocalDirs)))
	}
	d := &Daemon{store: store, svc: shuffle.NewService(store, cfg.Log, opts...), log: cfg.Log}
	d.metrics = &metrics{svc: d.svc, store: store}

	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("shuffle service listen %s: %w", cfg.Listen, err)
	}
	defer lis.Close()
	var mlis net.Listener
	if cfg.MetricsListen != "" {
		if mlis, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			return fmt.Errorf("metrics listen %s: %w", cfg.MetricsListen, err)
		}
		defer mlis.Close()
	}
	var clis net.Listener
	if cfg.ControlSocket != "" {
		if clis, err = listenUnix(cfg.ControlSocket); err != nil {
			return err
		}
		defer clis.Close()
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := &lineWriter{w: cfg.Out}
	if cfg.Out == nil {
		out.w = io.Discard
	}
	ann := Announcement{Event: "listening", Addr: lis.Addr().String(), Port: lis.Addr().(*net.TCPAddr).Port}
	if mlis != nil {
		ann.Metrics = mlis.Addr().String()
	}

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	run := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	run("fetch service", func() error { return d.svc.Serve(ctx, lis) })
	if mlis != nil {
		hs := &http.Server{Handler: d.metrics, ReadHeaderTimeout: 10 * time.Second}
		run("metrics", func() error { return serveHTTP(ctx, hs, mlis) })
	}
	if clis != nil {
		run("control socket", func() error { return d.controlSocket(ctx, clis, &wg) })
	}
	// Announce only once everything listens, so that a supervisor that reads the
	// port can use it at once.
	if err := out.writeJSON(ann); err != nil {
		cancel()
		wg.Wait()
		return fmt.Errorf("announce: %w", err)
	}
	apps, execs := store.Counts()
	cfg.Log.Info().Str("addr", ann.Addr).Str("metrics", ann.Metrics).Int("apps", apps).Int("executors", execs).Msg("shuffle service serving")
	if cfg.Control != nil {
		run("control", func() error {
			stop := context.AfterFunc(ctx, func() {
				if c, ok := cfg.Control.(io.Closer); ok {
					c.Close()
				}
			})
			defer stop()
			err := d.control(ctx, cfg.Control, out)
			if ctx.Err() == nil {
				// The supervisor closed our input: it is gone, and so are we.
				cfg.Log.Info().Err(err).Msg("control input ended; stopping")
				cancel()
			}
			return nil
		})
	}
	<-ctx.Done()
	wg.Wait()
	close(errs)
	var all []error
	for e := range errs {
		all = append(all, e)
	}
	return errors.Join(all...)
}

func serveHTTP(ctx context.Context, hs *http.Server, lis net.Listener) error {
	done := make(chan error, 1)
	go func() { done <- hs.Serve(lis) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	<-done
	return err
}

// listenUnix listens on a Unix socket only its owner may use (mode 0600). Its
// directory should be private too (the unit in scripts/ makes it 0700): between
// creating the socket and changing its mode, the umask's mode applies.
func listenUnix(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	lis, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		lis.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return lis, nil
}

// controlSocket serves the control protocol on each connection to lis; wg owns
// the connections' goroutines.
func (d *Daemon) controlSocket(ctx context.Context, lis net.Listener, wg *sync.WaitGroup) error {
	stop := context.AfterFunc(ctx, func() { lis.Close() })
	defer stop()
	for {
		c, err := lis.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			cstop := context.AfterFunc(ctx, func() { c.Close() })
			defer cstop()
			if err := d.control(ctx, c, &lineWriter{w: c}); err != nil && ctx.Err() == nil {
				d.log.Warn().Err(err).Msg("control connection")
			}
		}()
	}
}
