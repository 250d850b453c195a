package spindle

import (
	"context"
	"fmt"
	"sync"

	"github.com/spindle-engine/spindle/codec"
)

// Job is a named plan builder with a typed argument. Registering jobs by name lets
// every process of an application rebuild the same plan: the driver ships the name and
// the encoded argument, and executors run the builder again, so closures in the plan
// work everywhere.
type Job[A, R any] struct {
	name  string
	build func(*Session, A) Dataset[R]
	arg   codec.Codec[A]
}

var (
	registryMu sync.Mutex
	registry   = map[string]rebuilder{}
)

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

// Build builds the job's plan for arg without running it. The build is recorded, so
// that executors can rebuild the same plan from the job's name and the encoded arg.
func (j *Job[A, R]) Build(s *Session, arg A) Dataset[R] {
	b := s.beginBuild(j.name, j.arg.Append(nil, arg))
	defer s.endBuild(b)
	return j.build(s, arg)
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

// rebuilder is a registered job as the executor sees it: a builder taking its
// argument encoded.
type rebuilder interface {
	rebuild(s *Session, arg []byte) error
}

func lookupJob(name string) (rebuilder, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	j, ok := registry[name]
	if !ok {
		return nil, false
	}
	return j, ok
}

// Run builds the job's plan for arg and collects its result on the driver.
func (j *Job[A, R]) Run(ctx context.Context, s *Session, arg A) ([]R, error) {
	return Collect(ctx, j.Build(s, arg))
}
