package external

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spindle-engine/spindle/shuffle"
)

// YARNAppDirs is the directory policy of a daemon beside a NodeManager whose local
// directories are roots: an application may register only directories inside its
// own application directories, <root>/usercache/<user>/appcache/<app id>/, which the
// NodeManager creates for it and removes when it ends. Paths are compared after
// resolving symbolic links, so a link inside one's own directory cannot point into
// another application's.
func YARNAppDirs(roots []string) shuffle.DirPolicy {
	resolved := make([]string, 0, len(roots))
	for _, r := range roots {
		if rr, err := filepath.EvalSymlinks(r); err == nil {
			r = rr
		}
		resolved = append(resolved, filepath.Clean(r))
	}
	return func(app string, dirs []string) error {
		for _, d := range dirs {
			real, err := filepath.EvalSymlinks(d)
			if err != nil {
				return fmt.Errorf("local dir %s: %w", d, err)
			}
			if !inAppDir(resolved, app, real) {
				return fmt.Errorf("local dir %s is not inside %s's YARN application directories: %w", d, app, shuffle.ErrBadRegistration)
			}
		}
		return nil
	}
}

func inAppDir(roots []string, app, dir string) bool {
	for _, root := range roots {
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			continue
		}
		p := strings.Split(rel, string(filepath.Separator))
		if len(p) >= 4 && p[0] == "usercache" && p[1] != ".." && p[2] == "appcache" && p[3] == app {
			return true
		}
	}
	return false
}
