package yarn

import (
	"errors"
	"fmt"

	"github.com/spindle-engine/spindle/ipc"
)

// Errors callers act on. The RM's and NMs' Java exceptions match these with
// errors.Is (see classes); errors.As still finds the *ipc.RemoteError with the
// class and message.
var (
	// ErrAppNotFound: the RM does not know the application.
	ErrAppNotFound = errors.New("yarn: application not found")
	// ErrAttemptNotFound: the RM does not know the application attempt.
	ErrAttemptNotFound = errors.New("yarn: application attempt not found")
	// ErrContainerNotFound: the RM or NM does not know the container.
	ErrContainerNotFound = errors.New("yarn: container not found")
	// ErrInvalidResourceRequest: an ask or AM resource the scheduler refuses,
	// e.g. above the cluster's maximum allocation or with a label the queue
	// may not use.
	ErrInvalidResourceRequest = errors.New("yarn: invalid resource request")
	// ErrInvalidBlacklistRequest: a blacklist change the RM refuses, such as
	// blacklisting AnyHost.
	ErrInvalidBlacklistRequest = errors.New("yarn: invalid blacklist request")
	// ErrInvalidContainerRelease: the AM released a container it does not own.
	ErrInvalidContainerRelease = errors.New("yarn: invalid container release")
	// ErrAMNotRegistered: the RM lost the AM's registration (restart or
	// failover); AMRMClient.Allocate re-registers by itself.
	ErrAMNotRegistered = errors.New("yarn: application master not registered")
	// ErrInvalidAMRequest: the AM registered twice, or called the RM out of
	// order; unlike ErrAMNotRegistered, registering again does not help.
	ErrInvalidAMRequest = errors.New("yarn: invalid application master request")
	// ErrNMNotReady: a NodeManager that restarted has not yet rejoined the RM;
	// the same start may succeed a moment later.
	ErrNMNotReady = errors.New("yarn: node manager not yet ready")
	// ErrInvalidAuxService: the launch context names an auxiliary service
	// (e.g. a shuffle service) the NodeManager does not run.
	ErrInvalidAuxService = errors.New("yarn: no such auxiliary service on the node manager")
	// ErrInvalidToken: a token was refused (expired, or its key rolled away).
	// It is ipc.ErrInvalidToken: the class is Hadoop-common's, raised by any
	// protocol.
	ErrInvalidToken = ipc.ErrInvalidToken
	// ErrNoNMToken: the AMRM client has no NMToken for the container's node.
	ErrNoNMToken = errors.New("yarn: no NMToken for node")
	// ErrShutdown: the RM ordered the AM to shut down (AM_SHUTDOWN).
	ErrShutdown = errors.New("yarn: resource manager ordered the application master to shut down")
)

// exceptions is the package of YARN's exception classes.
const exceptions = "org.apache.hadoop.yarn.exceptions."

// classes maps YARN's Java exception classes to sentinels. The server sends
// the concrete class, so subclasses are listed with their parent's sentinel.
var classes = map[string]error{
	exceptions + "ApplicationNotFoundException":             ErrAppNotFound,
	exceptions + "ApplicationAttemptNotFoundException":      ErrAttemptNotFound,
	exceptions + "ContainerNotFoundException":               ErrContainerNotFound,
	exceptions + "InvalidResourceRequestException":          ErrInvalidResourceRequest,
	exceptions + "InvalidLabelResourceRequestException":     ErrInvalidResourceRequest,
	exceptions + "SchedulerInvalidResoureRequestException":  ErrInvalidResourceRequest, // sic
	exceptions + "InvalidResourceBlacklistRequestException": ErrInvalidBlacklistRequest,
	exceptions + "InvalidContainerReleaseException":         ErrInvalidContainerRelease,
	exceptions + "ApplicationMasterNotRegisteredException":  ErrAMNotRegistered,
	exceptions + "InvalidApplicationMasterRequestException": ErrInvalidAMRequest,
	exceptions + "NMNotYetReadyException":                   ErrNMNotReady,
	exceptions + "InvalidAuxServiceException":               ErrInvalidAuxService,
}

// remoteError is a YARN exception as a call returned it: errors.Is matches
// the sentinel of its class, and Unwrap keeps the chain ipc built (the
// *ipc.RemoteError, and ipc's own sentinels through it).
type remoteError struct {
	err      error
	sentinel error
}

func (e *remoteError) Error() string        { return e.err.Error() }
func (e *remoteError) Is(target error) bool { return target == e.sentinel }
func (e *remoteError) Unwrap() error        { return e.err }

// mapRemote gives an error from an RM or NM call the sentinel of the YARN
// exception it carries; other errors (nil included) pass unchanged.
func mapRemote(err error) error {
	var re *ipc.RemoteError
	if !errors.As(err, &re) {
		return err
	}
	s, ok := classes[re.Class]
	if !ok {
		return err
	}
	return &remoteError{err: err, sentinel: s}
}

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

// Is reports whether target is the sentinel for e's Java class: the
// NodeManager reports per-container failures (e.g. an unknown aux service)
// in the reply, not as an RPC exception.
func (e *ContainerError) Is(target error) bool {
	s, ok := classes[e.Class]
	return ok && s == target
}
