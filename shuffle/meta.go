package shuffle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// AuxServiceName is the NodeManager auxiliary service that runs a node's external
// shuffle service: the key of its metadata in startContainers' response, and of the
// application secret in a container launch context's service data.
const AuxServiceName = "spindle_shuffle"

// ErrServiceDown is wrapped by *ServiceDownError.
var ErrServiceDown = errors.New("shuffle service down")

// ServiceDownError says a node's aux service runs but its daemon does not.
type ServiceDownError struct {
	Reason string // what the aux service logged, in short
}

func (e *ServiceDownError) Error() string {
	return fmt.Sprintf("%s: %s", ErrServiceDown, e.Reason)
}

// Unwrap returns ErrServiceDown.
func (e *ServiceDownError) Unwrap() error { return ErrServiceDown }

// ParseServiceMeta reads the spindle_shuffle aux service's metadata: the daemon's
// port as 4 bytes big-endian, as MapReduce's ShuffleHandler sends its port. A port
// of 0 means the daemon is down; the bytes after it then say why, and the error is
// a *ServiceDownError.
func ParseServiceMeta(meta []byte) (int, error) {
	if len(meta) < 4 {
		return 0, fmt.Errorf("%s metadata: %d bytes, want at least 4", AuxServiceName, len(meta))
	}
	port := binary.BigEndian.Uint32(meta)
	if port == 0 {
		reason := strings.TrimSpace(string(bytes.TrimRight(meta[4:], "\x00")))
		if reason == "" {
			reason = "no reason given"
		}
		return 0, &ServiceDownError{Reason: reason}
	}
	if port > 65535 {
		return 0, fmt.Errorf("%s metadata: port %d", AuxServiceName, port)
	}
	return int(port), nil
}
