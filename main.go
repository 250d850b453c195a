package spindle

import (
	"context"
	"os"

	"github.com/spindle-engine/spindle/internal/engine"
	"github.com/spindle-engine/spindle/internal/progress"
	"github.com/spindle-engine/spindle/internal/roles"
	"github.com/spindle-engine/spindle/scheduler"
)

// Main runs a Spindle program and exits: 0 when run returned nil, 1 when it failed,
// 2 when the configuration was bad. The same binary plays every part of an
// application, and Main picks the part from the environment `spindle submit` and
// YARN give the process: a driver (a plain run, or YARN client mode) gets a session
// built from the configuration submit passed (or the defaults), calls run, prints the
// job summary on stderr and, on YARN, ends the application with run's outcome; an
// ApplicationMaster (cluster mode) does the same inside its container; executors
// and client mode's ApplicationMaster never call run. SIGINT and SIGTERM cancel
// run's context. SPINDLE_LOG_LEVEL sets the log level and SPINDLE_CPUPROFILE names a
// file for a CPU profile of the driver process (the whole job in local mode).
func Main(run func(ctx context.Context, s *Session) error) {
	os.Exit(roles.Main(roles.Program{
		Jobs: jobRegistry{},
		Run:  func(ctx context.Context, d *engine.Driver) error { return run(ctx, newDriverSession(d)) },
	}))
}

// Summary is what a session's jobs did, printed at the end of a run.
type Summary = progress.Summary

// TaskPanicError is a panic in user code, with the stack of the goroutine that
// panicked, so that the job's error points at the user's line; errors.As finds it in
// the error of a job whose task panicked, locally or on an executor.
type TaskPanicError = scheduler.PanicError

// ErrPlanMismatch is returned by an executor whose rebuilt plan differs from the
// driver's: a builder that depends on something besides its argument (time, random
// numbers, the environment), or a different binary.
var ErrPlanMismatch = engine.ErrPlanMismatch
