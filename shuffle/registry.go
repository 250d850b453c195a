package shuffle

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// LayoutV1 is the one layout of map outputs Spindle writes: shuffle_<shuffle>_<map>
// .data and .index in dirs[(shuffle*31+map) % len(dirs)] (see DataPath).
const LayoutV1 = "spindle-v1"

var (
	// ErrDirOwned is returned for a registration naming a directory that is, holds
	// or lies inside one of another application's: serving it would let one
	// application read, and remove, another's files.
	ErrDirOwned = errors.New("local dir belongs to another application")
	// ErrBadRegistration is returned for a registration a service cannot use: no
	// executor id or directories, a relative directory, an unknown layout, or a
	// directory outside what the service's policy allows.
	ErrBadRegistration = errors.New("bad executor registration")
)

// Executor is where a registered executor keeps its map outputs.
type Executor struct {
	Dirs   []string
	Layout string
}

// Registrations is where a Service keeps its executors: in memory for an executor
// serving its own outputs (NewMemRegistrations), persistently for the node's
// external shuffle service. Implementations are safe for concurrent use.
type Registrations interface {
	// RegisterExecutor records (or replaces) an executor of app. It refuses, with
	// an error wrapping ErrDirOwned, directories another application registered.
	RegisterExecutor(app, executor string, e Executor) error
	// Executor returns a registered executor.
	Executor(app, executor string) (Executor, bool)
	// RemoveApplication forgets app's executors and returns them.
	RemoveApplication(app string) (map[string]Executor, error)
}

// CleanRegistration checks and normalizes a registration: an id, absolute
// directories (cleaned), and a known layout (empty means LayoutV1).
func CleanRegistration(executor string, e Executor) (Executor, error) {
	if executor == "" || len(e.Dirs) == 0 {
		return e, fmt.Errorf("an executor needs an id and local dirs: %w", ErrBadRegistration)
	}
	if e.Layout == "" {
		e.Layout = LayoutV1
	}
	if e.Layout != LayoutV1 {
		return e, fmt.Errorf("layout %q is not %s: %w", e.Layout, LayoutV1, ErrBadRegistration)
	}
	dirs := make([]string, len(e.Dirs))
	for i, d := range e.Dirs {
		if !filepath.IsAbs(d) {
			return e, fmt.Errorf("local dir %q is not absolute: %w", d, ErrBadRegistration)
		}
		dirs[i] = filepath.Clean(d)
	}
	e.Dirs = dirs
	return e, nil
}

// CheckOwnership refuses dirs for app when any of them is, holds or lies inside a
// directory of another application; all lists every registered application's
// executors.
func CheckOwnership(app string, dirs []string, all map[string]map[string]Executor) error {
	for other, execs := range all {
		if other == app {
			continue
		}
		for _, theirs := range execs {
			for _, d := range dirs {
				if slices.ContainsFunc(theirs.Dirs, func(t string) bool { return nested(d, t) }) {
					return fmt.Errorf("%s: %w", d, ErrDirOwned)
				}
			}
		}
	}
	return nil
}

// nested reports whether one of two clean absolute paths is the other or inside it.
func nested(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return a == b || strings.HasPrefix(b, a) && (strings.HasSuffix(a, string(filepath.Separator)) || b[len(a)] == filepath.Separator)
}

// memRegistrations keeps registrations in memory.
type memRegistrations struct {
	mu    sync.Mutex
	execs map[string]map[string]Executor // app → executor id → executor
}

// NewMemRegistrations returns registrations kept in memory only: what an executor
// serving its own map outputs needs, and lost when the process ends.
func NewMemRegistrations() Registrations {
	return &memRegistrations{execs: map[string]map[string]Executor{}}
}

func (m *memRegistrations) RegisterExecutor(app, executor string, e Executor) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := CheckOwnership(app, e.Dirs, m.execs); err != nil {
		return err
	}
	if m.execs[app] == nil {
		m.execs[app] = map[string]Executor{}
	}
	m.execs[app][executor] = e
	return nil
}

func (m *memRegistrations) Executor(app, executor string) (Executor, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.execs[app][executor]
	return e, ok
}

func (m *memRegistrations) RemoveApplication(app string) (map[string]Executor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	execs := m.execs[app]
	delete(m.execs, app)
	return execs, nil
}
