package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ProcessEnv is the environment of process pid, as the kernel shows it.
func ProcessEnv(pid int) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for v := range strings.SplitSeq(string(b), "\x00") {
		if k, val, ok := strings.Cut(v, "="); ok {
			env[k] = val
		}
	}
	return env, nil
}

// NodeOf is the NodeManager a container process runs under, as YARN's scheduler
// names it on the test cluster (yarn.scheduler.include-port-in-node-name):
// NM_HOST:NM_PORT, which the NodeManager sets in every container.
func NodeOf(pid int) (string, error) {
	env, err := ProcessEnv(pid)
	if err != nil {
		return "", err
	}
	if env["NM_HOST"] == "" || env["NM_PORT"] == "" {
		return "", fmt.Errorf("process %d has no NM_HOST and NM_PORT: not a container", pid)
	}
	return env["NM_HOST"] + ":" + env["NM_PORT"], nil
}

// BlockFilesSince counts, for each DataNode of the faults cluster by its index, the
// block files it stored since t. The test cluster's DataNodes all run on this host,
// so block locations (by host) cannot tell them apart; their storage can:
// MiniDFSCluster gives DataNode i the directories data<2i+1> and data<2i+2> under
// work/dfs/data beside the configuration directory.
func (e *Env) BlockFilesSince(t time.Time) (map[int]int, error) {
	root := filepath.Join(filepath.Dir(e.C.ConfDir), "work", "dfs", "data")
	out := map[int]int{}
	for i := range e.C.Info.DataNodes {
		for _, d := range []int{2*i + 1, 2*i + 2} {
			dir := filepath.Join(root, "data"+strconv.Itoa(d))
			err := filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				name := de.Name()
				if de.IsDir() || !strings.HasPrefix(name, "blk_") || strings.HasSuffix(name, ".meta") {
					return nil
				}
				fi, err := de.Info()
				if err != nil {
					return err
				}
				if !fi.ModTime().Before(t) {
					out[i]++
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("DataNode %d's storage %s: %w", i, dir, err)
			}
		}
	}
	return out, nil
}
