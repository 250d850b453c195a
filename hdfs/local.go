package hdfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// localBlockSize is the block size reported for local files, as Hadoop's local
// filesystem reports fs.local.block.size.
const localBlockSize = 32 << 20

// Local is the local filesystem.
var Local FS = localFS{}

type localFS struct{}

func (localFS) Open(_ context.Context, path string) (File, error) { return os.Open(path) }

func (localFS) Create(_ context.Context, path string) (io.WriteCloser, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}

func (localFS) Stat(_ context.Context, path string) (FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return FileInfo{}, err
	}
	return localInfo(path, st), nil
}

func localInfo(path string, st fs.FileInfo) FileInfo {
	return FileInfo{Path: path, Size: st.Size(), ModTime: st.ModTime(), IsDir: st.IsDir(), BlockSize: localBlockSize}
}

func (localFS) List(_ context.Context, dir string) ([]FileInfo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([]FileInfo, 0, len(entries))
	for _, e := range entries {
		st, err := e.Info()
		if err != nil {
			return nil, err
		}
		out = append(out, localInfo(filepath.Join(dir, e.Name()), st))
	}
	return out, nil
}

func (localFS) Rename(_ context.Context, from, to string) error {
	st, err := os.Stat(from)
	if err != nil {
		return err
	}
	if st.IsDir() {
		if _, err := os.Lstat(to); err == nil {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: fs.ErrExist}
		}
		return os.Rename(from, to)
	}
	// A hard link fails if the target exists, which os.Rename would overwrite.
	if err := os.Link(from, to); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: fs.ErrExist}
		}
		return err
	}
	return os.Remove(from)
}

func (localFS) MkdirAll(_ context.Context, path string, perm os.FileMode) error {
	return os.MkdirAll(path, perm)
}

func (localFS) RemoveAll(_ context.Context, path string) error { return os.RemoveAll(path) }

func (localFS) Blocks(_ context.Context, path string, start, length int64) ([]Block, error) {
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("blocks of %s: %w", path, err)
	}
	var out []Block
	for off := start - start%localBlockSize; off < start+length; off += localBlockSize {
		out = append(out, Block{Offset: off, Length: localBlockSize, Hosts: []string{host}})
	}
	return out, nil
}
