package yarn

import (
	"errors"
	"fmt"

	"github.com/spindle-engine/spindle/ipc"
)

// Errors callers act on. The RM's and NM's Java exceptions arrive as
// *ipc.RemoteError and match these with errors.Is.
var (
	// ErrInvalidResourceRequest: an ask or AM resource the scheduler refuses,
	// e.g. above the cluster's maximum allocation.
	ErrInvalidResourceRequest = ipc.ErrInvalidResourceRequest
	// ErrAppNotFound: the RM does not know the application.
	ErrAppNotFound = ipc.ErrAppNotFound
	// ErrAMNotRegistered: the RM lost the AM's registration (restart or
	// failover); AMRMClient.Allocate re-registers by itself.
	ErrAMNotRegistered = ipc.ErrAMNotRegistered
	// ErrInvalidToken: a token was refused (expired, or its key rolled away).
	ErrInvalidToken = ipc.ErrInvalidToken
	// ErrNoNMToken: the AMRM client has no NMToken for the container's node.
	ErrNoNMToken = errors.New("yarn: no NMToken for node")
	// ErrShutdown: the RM ordered the AM to shut down (AM_SHUTDOWN).
	ErrShutdown = errors.New("yarn: resource manager ordered the application master to shut down")
)

// ContainerError is a per-container failure a NodeManager reported in a
// bulk start/stop/status reply.
type ContainerError struct {
	Container ContainerID
	Class     string // Java exception class, e.g. org.apache.hadoop.yarn.exceptions.YarnException
	Message   string
}

// Error names the container and the NodeManager's message.
func (e *ContainerError) Error() string {
	return fmt.Sprintf("container %s: %s: %s", e.Container, e.Class, e.Message)
}
