// Command hdfscp copies files between the local disk and the HDFS that
// HADOOP_CONF_DIR names, for the YARN benchmark's set-up:
//
//	hdfscp put <local file> <hdfs path>     (replaces the target)
//	hdfscp get <hdfs dir> <local dir>       (its part-* files)
package main

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	hdfsclient "github.com/colinmarc/hdfs/v2"

	"github.com/spindle-engine/spindle/conf"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "hdfscp: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: hdfscp put <local> <hdfs path> | hdfscp get <hdfs dir> <local dir>")
	}
	h, err := conf.HadoopFromEnv()
	if err != nil {
		return err
	}
	nn := strings.TrimPrefix(h.GetDefault("fs.defaultFS", ""), "hdfs://")
	user := os.Getenv("HADOOP_USER_NAME")
	if user == "" {
		user = os.Getenv("USER")
	}
	c, err := hdfsclient.NewClient(hdfsclient.ClientOptions{Addresses: []string{nn}, User: user})
	if err != nil {
		return err
	}
	defer c.Close()
	switch args[0] {
	case "put":
		return put(c, args[1], args[2])
	case "get":
		return get(c, args[1], args[2])
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func put(c *hdfsclient.Client, local, dst string) error {
	if err := c.MkdirAll(path.Dir(dst), 0o755); err != nil {
		return err
	}
	_ = c.Remove(dst)
	src, err := os.Open(local)
	if err != nil {
		return err
	}
	defer src.Close()
	w, err := c.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, src); err != nil {
		return err
	}
	// The NameNode may still wait for the last block's replicas: retry the close.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		err = w.Close()
		if err == nil || time.Now().After(deadline) || !strings.Contains(err.Error(), "replicat") {
			return err
		}
	}
}

func get(c *hdfsclient.Client, dir, local string) error {
	infos, err := c.ReadDir(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(local, 0o755); err != nil {
		return err
	}
	for _, fi := range infos {
		if !strings.HasPrefix(fi.Name(), "part-") {
			continue
		}
		data, err := c.ReadFile(path.Join(dir, fi.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(local, fi.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
