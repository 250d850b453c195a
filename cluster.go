package spindle

import (
	"context"
	"errors"

	"github.com/spindle-engine/spindle/scheduler"
)

// clusterOpts configure a session whose executors run in YARN containers.
type clusterOpts struct{}

// clusterState is a YARN session's link to its ApplicationMaster and executors.
type clusterState struct{}

func (c *clusterState) close(error) error { return nil }

// startCluster connects the session to executors in YARN containers.
func (s *Session) startCluster(ctx context.Context, o clusterOpts) (scheduler.Backend, error) {
	return nil, errors.New("conf spindle.master=yarn: the YARN backend is not wired into sessions yet")
}
