package spindle

import (
	"context"
	"errors"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/internal/engine"
	"github.com/spindle-engine/spindle/internal/roles"
)

// Session is where plans are built and run. On the driver it runs jobs on its
// executors and keeps what outlives one job (shuffle outputs, cached partitions). An
// executor rebuilding a registered job gives the builder a Session too, on which
// datasets can be built but no action runs.
type Session struct {
	g   *engine.Graph
	drv *engine.Driver // nil on an executor
}

// ErrNotDriver is returned by an action run on an executor's session, that is, from
// inside a job's builder while an executor rebuilds it: builders only build.
var ErrNotDriver = errors.New("spindle: actions run on the driver only, not inside a job's builder")

// NewSession starts a driver with the given configuration. The caller must Close it.
// Local masters (local, local[N], local[*]) run tasks in this process; the yarn
// master submits an application whose executors run in YARN containers, and needs
// the cluster's configuration (WithHadoop). Programs started by [Main] get their
// session from it instead.
func NewSession(ctx context.Context, c *conf.Conf, opts ...SessionOption) (*Session, error) {
	var o sessionOpts
	for _, f := range opts {
		f(&o)
	}
	d, err := roles.NewDriver(ctx, roles.DriverSpec{
		Conf: c, Hadoop: o.hadoop, Log: o.log, Jobs: jobRegistry{}, ShipInProcess: o.shipInProcess,
	})
	if err != nil {
		return nil, err
	}
	return newDriverSession(d), nil
}

func newDriverSession(d *engine.Driver) *Session { return &Session{g: d.Graph(), drv: d} }

// SessionOption tunes a session.
type SessionOption func(*sessionOpts)

type sessionOpts struct {
	log    zerolog.Logger
	hadoop *conf.Hadoop
	// shipInProcess runs local tasks from their payloads, as remote executors do.
	shipInProcess bool
}

// WithLogger sends the session's logs to l; without it the session does not log.
func WithLogger(l zerolog.Logger) SessionOption {
	return func(o *sessionOpts) { o.log = l }
}

// WithHadoop gives the session the cluster's configuration (conf.LoadHadoop of
// HADOOP_CONF_DIR): the yarn master needs it, and hdfs:/// paths resolve against its
// fs.defaultFS.
func WithHadoop(h *conf.Hadoop) SessionOption {
	return func(o *sessionOpts) { o.hadoop = h }
}

// Conf returns the session's configuration.
func (s *Session) Conf() *conf.Conf { return s.g.Conf() }

// Summary reports what the session's jobs did so far; an executor's session has
// none.
func (s *Session) Summary() Summary {
	if s.drv == nil {
		return Summary{}
	}
	return s.drv.Summary()
}

// Close stops the driver and removes the session's local files. On YARN it ends the
// application: succeeded, unless the program's outcome said otherwise (see [Main]).
func (s *Session) Close() error {
	if s.drv == nil {
		return nil
	}
	return s.drv.Close()
}

// driver returns the session's driver, for an action.
func (s *Session) driver() (*engine.Driver, error) {
	if s.drv == nil {
		return nil, ErrNotDriver
	}
	return s.drv, nil
}
