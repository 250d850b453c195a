package history

import (
	"context"
	"errors"
	"fmt"

	"github.com/spindle-engine/spindle/history/yarnlogs"
	"github.com/spindle-engine/spindle/ui"
	"github.com/spindle-engine/spindle/yarn"
)

// ContainerLogs reads executors' logs for the UI's logs pages: from the
// executor's NodeManager while it runs, and from YARN's aggregated logs in HDFS
// once they are there, so that the links keep working after the application ends
// (the NodeManagers' own links die when their logs are aggregated).
type ContainerLogs struct {
	// FS and Hadoop find the aggregated logs; Live reads the NodeManagers'.
	FS     yarnlogs.FS
	Hadoop yarn.HadoopConfig
	Live   *yarnlogs.Live
}

// ContainerLog implements ui.LogSource.
func (c ContainerLogs) ContainerLog(ctx context.Context, app ui.App, x ui.Executor, file string) ([]byte, string, error) {
	var liveErr error
	if x.Active && x.NodeHTTP != "" && c.Live != nil {
		b, err := c.live(ctx, x, file)
		if err == nil {
			return b, "live from NodeManager " + x.Node, nil
		}
		liveErr = err
	}
	id, err := yarn.ParseAppID(app.ID)
	if err != nil {
		return nil, "", fmt.Errorf("application %q has no YARN logs: %w", app.ID, err)
	}
	var out []byte
	found := false
	err = yarnlogs.ReadAggregated(ctx, c.FS, c.Hadoop, app.User, id, func(f yarnlogs.LogFile, b []byte) error {
		if f.Container == x.Container && f.Name == file {
			out, found = append(out, b...), true
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, "", errors.Join(liveErr, err)
	case !found:
		return nil, "", errors.Join(liveErr, fmt.Errorf("the aggregated logs of %s hold no %s of container %s", app.ID, file, x.Container))
	}
	return out, "from YARN's aggregated logs", nil
}

func (c ContainerLogs) live(ctx context.Context, x ui.Executor, file string) ([]byte, error) {
	// A NodeManager must answer as itself (a MiniYARNCluster's do not all).
	id, err := c.Live.NodeID(ctx, x.NodeHTTP)
	if err != nil {
		return nil, err
	}
	if x.Node != "" && id != x.Node {
		return nil, fmt.Errorf("the NodeManager web services at %s answer as %s, not %s", x.NodeHTTP, id, x.Node)
	}
	return c.Live.Read(ctx, x.NodeHTTP, x.Container, file)
}
