// Command hdfscp copies files between the local disk and the HDFS that
// HADOOP_CONF_DIR names, for the YARN benchmark's set-up:
//
//	hdfscp put <local file> <hdfs path>     (replaces the target)
//	hdfscp get <hdfs dir> <local dir>       (its part-* files)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/hdfs"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "hdfscp: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) (err error) {
	if len(args) != 3 {
		return fmt.Errorf("usage: hdfscp put <local> <hdfs path> | hdfscp get <hdfs dir> <local dir>")
	}
	h, err := conf.HadoopFromEnv()
	if err != nil {
		return err
	}
	defaultFS := h.GetDefault("fs.defaultFS", "")
	fss := hdfs.NewFileSystems(hdfs.Options{DefaultFS: defaultFS, User: deploy.HadoopUser()})
	defer func() { err = errors.Join(err, fss.Close()) }()
	fsys, _, err := fss.Resolve(ctx, defaultFS)
	if err != nil {
		return err
	}
	switch args[0] {
	case "put":
		return put(ctx, fsys, args[1], args[2])
	case "get":
		return get(ctx, fsys, args[1], args[2])
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func put(ctx context.Context, fsys hdfs.FS, local, dst string) error {
	if err := fsys.RemoveAll(ctx, dst); err != nil {
		return err
	}
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

func get(ctx context.Context, fsys hdfs.FS, dir, local string) error {
	infos, err := fsys.List(ctx, dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(local, 0o755); err != nil {
		return err
	}
	for _, fi := range infos {
		name := path.Base(fi.Path)
		if !strings.HasPrefix(name, "part-") {
			continue
		}
		if err := copyOut(ctx, fsys, path.Join(dir, name), filepath.Join(local, name)); err != nil {
			return err
		}
	}
	return nil
}

func copyOut(ctx context.Context, fsys hdfs.FS, src, dst string) error {
	r, err := fsys.Open(ctx, src)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
