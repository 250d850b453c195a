// Command faultjob holds the jobs of the fault-injection suite. Each mode lives in
// its own file and registers itself in modes from an init function:
//
//	faultjob <mode> args...
package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spindle-engine/spindle"
)

// mode is one of faultjob's jobs: run gets the arguments after the mode's name.
type mode struct {
	usage string
	run   func(ctx context.Context, s *spindle.Session, args []string) error
}

var modes = map[string]mode{}

func main() {
	spindle.Main(func(ctx context.Context, s *spindle.Session) error {
		if len(os.Args) < 2 {
			return fmt.Errorf("usage: faultjob <mode> args...; modes:\n%s", usage())
		}
		m, ok := modes[os.Args[1]]
		if !ok {
			return fmt.Errorf("unknown mode %q; modes:\n%s", os.Args[1], usage())
		}
		return m.run(ctx, s, os.Args[2:])
	})
}

func usage() string {
	var lines []string
	for name, m := range modes {
		lines = append(lines, "  "+name+" "+m.usage)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
