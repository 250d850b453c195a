package spindle

import (
	"context"
	"fmt"

	"github.com/spindle-engine/spindle/internal/frame"
)

// frameJob is the name under which a frame's plan ships: the build's argument is
// the encoded plan, and executors compile it instead of running a builder.
const frameJob = "spindle.frame"

// The frame rebuilder joins the registered jobs at start-up, like any Register.
var _ = func() bool {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry[frameJob] = frameRebuilder{}
	return true
}()

// frameRebuilder compiles a shipped frame plan on an executor.
type frameRebuilder struct{}

func (frameRebuilder) rebuild(s *Session, arg []byte) error {
	p, err := frame.Decode(arg)
	if err != nil {
		return err
	}
	_, err = frame.Compile(s.g, nil, p)
	return err
}

// compile makes the frame's nodes for an action. Inside a registered job's builder
// they join its build (the builder makes the same frame on every executor); a
// frame plan that is all data becomes a build of its own, whose argument is the plan,
// so that it runs on executors without Register; a frame read from a row dataset
// (FrameOf) outside a builder runs on the driver's own slots only, as such a
// dataset does.
func (f Frame) compile(ctx context.Context, name string) (frame.Driver, *frame.Compiled, error) {
	if f.err != nil {
		return nil, nil, f.err
	}
	d, err := f.s.driver()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	if f.s.g.InBuild() || !f.p.Shippable() {
		cp, err := frame.Compile(f.s.g, d, f.p)
		return d, cp, err
	}
	data, err := f.p.Encode()
	if err != nil {
		return nil, nil, err
	}
	b := f.s.g.BeginBuild(ctx, frameJob, data)
	defer f.s.g.EndBuild(b)
	cp, err := frame.Compile(f.s.g, d, f.p)
	return d, cp, err
}
