package hdfs

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"time"
)

// StagingDirName is the directory under the staging root that holds one directory
// per application, as Spark's .sparkStaging does.
const StagingDirName = ".spindleStaging"

// StagingDir is where an application's files are staged: <root>/.spindleStaging/<app>.
func StagingDir(root, appID string) string { return path.Join(root, StagingDirName, appID) }

// Staged is a staged file, with what a YARN LocalResource must state: the NodeManager
// refuses a resource whose size or modification time differ from the file's.
type Staged struct {
	Name    string // the name it gets in the container's working directory
	Path    string // its path in the filesystem
	Size    int64
	ModTime time.Time
}

// Stage copies local files (container name → local path) into dir, which it creates
// readable by the owner only (0700): the files include the job binary and its
// configuration, which other users of a shared cluster must not read.
func Stage(ctx context.Context, fsys FS, dir string, files map[string]string) ([]Staged, error) {
	if err := fsys.MkdirAll(ctx, dir, 0o700); err != nil {
		return nil, fmt.Errorf("staging dir %s: %w", dir, err)
	}
	var out []Staged
	for name, local := range files {
		dst := path.Join(dir, name)
		if err := copyIn(ctx, fsys, local, dst); err != nil {
			return nil, fmt.Errorf("stage %s: %w", local, err)
		}
		st, err := fsys.Stat(ctx, dst)
		if err != nil {
			return nil, fmt.Errorf("stage %s: %w", local, err)
		}
		out = append(out, Staged{Name: name, Path: dst, Size: st.Size, ModTime: st.ModTime})
	}
	return out, nil
}

func copyIn(ctx context.Context, fsys FS, local, dst string) error {
	src, err := os.Open(local)
	if err != nil {
		return err
	}
	defer src.Close()
	w, err := fsys.Create(ctx, dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, src); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
