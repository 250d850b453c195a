package am

import (
	"errors"
	"net"
	"strconv"

	"github.com/spindle-engine/spindle/shuffle"
	"github.com/spindle-engine/spindle/yarn"
)

// ShuffleServiceName is the NodeManager auxiliary service that serves Spindle's
// shuffle files; its metadata in startContainers' answer is its port.
const ShuffleServiceName = shuffle.AuxServiceName

// ErrNoShuffleService is the error of an executor launch on a node whose
// NodeManager reports no running shuffle service.
var ErrNoShuffleService = errors.New("no spindle_shuffle service")

// Launched is the AM's record of an executor whose container started: the driver
// admits an executor only in the container it was launched in, holding that
// container's credential, once.
type Launched struct {
	ExecutorID, ContainerID, Host string
	// Node is the RM scheduler's name of the container's node, as NodeOf gives it:
	// the driver's exclusion on failure counts by it in either mode.
	Node       string
	Credential []byte
	// ShuffleService is the node's shuffle service (host:port) when its NodeManager
	// runs one, else "".
	ShuffleService string
}

// shuffleService reads the node's shuffle service from the NodeManager's auxiliary
// service metadata: "" when the node runs none, an error when it runs one whose
// daemon is down.
func shuffleService(meta map[string][]byte, host string) (string, error) {
	b, ok := meta[ShuffleServiceName]
	if !ok {
		return "", nil
	}
	port, err := shuffle.ParseServiceMeta(b)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// LaunchFunc builds the launch context of an executor in a container, and the
// per-container credential it put in the context's credentials.
type LaunchFunc func(c yarn.Container, executorID string) (*yarn.LaunchContext, []byte, error)

// ClientLink is where a client-mode AM reaches its driver, and how.
type ClientLink struct {
	Addr   string
	Secret []byte
	// Encrypt asks for an encrypted link (spindle.network.crypto.enabled).
	Encrypt bool
}
