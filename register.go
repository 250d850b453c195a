package spindle

import (
	"context"
	"fmt"
	"sync"

	"github.com/spindle-engine/spindle/codec"
	"github.com/spindle-engine/spindle/internal/engine"
)

// Job is a named plan builder with a typed argument. Registering jobs by name lets
// every process of an application rebuild the same plan: the driver ships the name and
// the encoded argument, and executors run the builder again, so closures in the plan
// work everywhere. The argument may be any encodable type; a struct carries several
// values.
type Job[A, R any] struct {
	name  string
	build func(*Session, A) Dataset[R]
	arg   codec.Codec[A]
}

// registry holds the registered jobs by name. Registration happens in package
// variable initializers, and lookups only after main starts, so the order in which
// packages initialize does not matter.
var (
	registryMu sync.Mutex
	registry   = map[string]rebuilder{}
)

// rebuilder is a registered job as an executor sees it: a builder taking its argument
// encoded.
type rebuilder interface {
	rebuild(s *Session, arg []byte) error
}

// Register names a job. Call it from a package-level variable initializer; a name used
// twice, or an argument or result type that cannot be encoded, panics at start-up, so
// the mistake never reaches a cluster.
func Register[A, R any](name string, build func(s *Session, arg A) Dataset[R]) *Job[A, R] {
	ac, err := codec.For[A]()
	if err != nil {
		panic(fmt.Sprintf("spindle: Register %q: argument type: %v", name, err))
	}
	if _, err := codec.For[R](); err != nil {
		panic(fmt.Sprintf("spindle: Register %q: result type: %v", name, err))
	}
	j := &Job[A, R]{name: name, build: build, arg: ac}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("spindle: job %q registered twice", name))
	}
	registry[name] = j
	return j
}

// Name returns the name the job was registered with.
func (j *Job[A, R]) Name() string { return j.name }

// Build builds the job's plan for arg without running it; ctx bounds what the builder
// reads from outside, such as listing its input files. The build is recorded, so that
// executors can rebuild the same plan from the job's name and the encoded arg.
func (j *Job[A, R]) Build(ctx context.Context, s *Session, arg A) Dataset[R] {
	b := s.g.BeginBuild(ctx, j.name, j.arg.Append(nil, arg))
	defer s.g.EndBuild(b)
	return j.build(s, arg)
}

// Run builds the job's plan for arg and collects its result on the driver.
func (j *Job[A, R]) Run(ctx context.Context, s *Session, arg A) ([]R, error) {
	return Collect(ctx, j.Build(ctx, s, arg))
}

// rebuild runs the builder on an executor with the driver's encoded argument.
func (j *Job[A, R]) rebuild(s *Session, arg []byte) error {
	a, err := decodeWhole(j.arg, arg)
	if err != nil {
		return fmt.Errorf("decode argument of job %q: %w", j.name, err)
	}
	j.build(s, a)
	return nil
}

// jobRegistry is the registered jobs as the engine's executors need them.
type jobRegistry struct{}

func (jobRegistry) Rebuild(g *engine.Graph, name string, arg []byte) error {
	registryMu.Lock()
	j, ok := registry[name]
	registryMu.Unlock()
	if !ok {
		return fmt.Errorf("%w: no job %q is registered in this binary", engine.ErrPlanMismatch, name)
	}
	return j.rebuild(&Session{g: g}, arg)
}
