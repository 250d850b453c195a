package yarnlogs

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/yarn"
)

// LogFile is one log file of one container.
type LogFile struct {
	Container string
	// Node is the NodeManager as YARN names the log's source: host_port for an
	// aggregated file (the name of the node's file), host:port for a live one.
	Node     string
	Name     string
	Length   int64
	Modified time.Time
	// Aggregated says it was read from HDFS; else live from the NodeManager.
	Aggregated bool
}

// FS opens the aggregated logs' filesystem; *hdfs.FileSystems is one.
type FS interface {
	Resolve(ctx context.Context, path string) (hdfs.FS, string, error)
}

// ErrNoAggregatedLogs says an application has no aggregated logs (yet): log
// aggregation is off, or still running, or the application is unknown.
var ErrNoAggregatedLogs = errors.New("no aggregated logs")

// The special keys of an aggregated log file (AggregatedLogFormat), which are not
// containers.
var specialKeys = map[string]bool{"VERSION": true, "APPLICATION_ACL": true, "APPLICATION_OWNER": true}

// AppLogDirs are the directories where an application's aggregated TFile logs may
// be, newest Hadoop layout first: 3.3 and later bucket them
// (<root>/<user>/bucket-<suffix>-tfile/<nnnn>/<app>), older releases do not.
func AppLogDirs(h yarn.HadoopConfig, user string, app yarn.AppID) []string {
	get := func(def string, keys ...string) string {
		for _, k := range keys {
			if v, ok := h.Get(k); ok && v != "" {
				return v
			}
		}
		return def
	}
	root := get("/tmp/logs", "yarn.log-aggregation.file-controller.TFile.remote-app-log-dir", "yarn.nodemanager.remote-app-log-dir")
	suffix := get("logs", "yarn.log-aggregation.file-controller.TFile.remote-app-log-dir-suffix", "yarn.nodemanager.remote-app-log-dir-suffix")
	if !strings.Contains(root, "://") {
		// A path without a scheme is on the default filesystem, as in Hadoop.
		root = strings.TrimSuffix(get("file:///", "fs.defaultFS"), "/") + root
	}
	base := strings.TrimSuffix(root, "/") + "/" + user + "/"
	return []string{
		base + "bucket-" + suffix + "-tfile/" + fmt.Sprintf("%04d", app.ID%10000) + "/" + app.String(),
		base + suffix + "-tfile/" + app.String(),
		base + suffix + "/" + app.String(),
	}
}

// ReadAggregated reads the aggregated logs of an application, node file by node
// file (sorted by name, as `yarn logs` lists them), calling fn with each log file
// and its content in the order the NodeManager wrote them.
func ReadAggregated(ctx context.Context, fsys FS, h yarn.HadoopConfig, user string, app yarn.AppID, fn func(LogFile, []byte) error) error {
	var tried []string
	for _, dir := range AppLogDirs(h, user, app) {
		f, p, err := fsys.Resolve(ctx, dir)
		if err != nil {
			return err
		}
		nodes, err := f.List(ctx, p)
		if errors.Is(err, fs.ErrNotExist) {
			tried = append(tried, dir)
			continue
		}
		if err != nil {
			return fmt.Errorf("aggregated logs of %s: %w", app, err)
		}
		slices.SortFunc(nodes, func(a, b hdfs.FileInfo) int { return strings.Compare(a.Path, b.Path) })
		for _, n := range nodes {
			name := n.Path[strings.LastIndexByte(n.Path, '/')+1:]
			if n.IsDir || strings.HasSuffix(name, ".tmp") {
				continue // a node still uploading writes a .tmp file first
			}
			if err := readNodeFile(ctx, f, n, name, fn); err != nil {
				return fmt.Errorf("aggregated log %s: %w", dir+"/"+name, err)
			}
		}
		return nil
	}
	return fmt.Errorf("%w for %s of user %s (looked in %s)", ErrNoAggregatedLogs, app, user, strings.Join(tried, ", "))
}

func readNodeFile(ctx context.Context, f hdfs.FS, info hdfs.FileInfo, node string, fn func(LogFile, []byte) error) error {
	r, err := f.Open(ctx, info.Path)
	if err != nil {
		return err
	}
	defer r.Close()
	t, err := openTFile(r, info.Size)
	if err != nil {
		return err
	}
	return t.records(func(key, value []byte) error {
		container, _, err := readUTF(key)
		if err != nil {
			return fmt.Errorf("key: %w", err)
		}
		if specialKeys[container] {
			return nil
		}
		return containerLogs(value, func(name string, content []byte) error {
			return fn(LogFile{Container: container, Node: node, Name: name, Length: int64(len(content)),
				Modified: info.ModTime, Aggregated: true}, content)
		})
	})
}

// containerLogs splits a container's value (AggregatedLogFormat.LogValue): for
// each file its name and its length as Java UTF strings, then its bytes.
func containerLogs(value []byte, fn func(name string, content []byte) error) error {
	for len(value) > 0 {
		name, rest, err := readUTF(value)
		if err != nil {
			return fmt.Errorf("log file name: %w", err)
		}
		lenStr, rest, err := readUTF(rest)
		if err != nil {
			return fmt.Errorf("length of %s: %w", name, err)
		}
		n, err := strconv.ParseInt(lenStr, 10, 64)
		if err != nil || n < 0 || n > int64(len(rest)) {
			return fmt.Errorf("length of %s: %q with %d bytes left", name, lenStr, len(rest))
		}
		if err := fn(name, rest[:n]); err != nil {
			return err
		}
		value = rest[n:]
	}
	return nil
}

// readUTF reads a Java DataOutput.writeUTF string: a big-endian uint16 length and
// that many bytes (modified UTF-8, which is UTF-8 for the names YARN writes).
func readUTF(b []byte) (string, []byte, error) {
	if len(b) < 2 {
		return "", nil, errShort
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n {
		return "", nil, errShort
	}
	return string(b[2 : 2+n]), b[2+n:], nil
}
