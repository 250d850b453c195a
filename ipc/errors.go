package ipc

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels for well-known Java exceptions; a *RemoteError matches them
// with errors.Is.
var (
	// ErrStandby is org.apache.hadoop.ipc.StandbyException: fail over to
	// another ResourceManager or NameNode.
	ErrStandby = errors.New("ipc: server is in standby state")
	// ErrInvalidToken is SecretManager$InvalidToken: the token is unknown,
	// expired or its key rolled away.
	ErrInvalidToken = errors.New("ipc: invalid token")
	// ErrAppNotFound is YARN's ApplicationNotFoundException.
	ErrAppNotFound = errors.New("ipc: application not found")
	// ErrInvalidResourceRequest is YARN's InvalidResourceRequestException.
	ErrInvalidResourceRequest = errors.New("ipc: invalid resource request")
	// ErrAMNotRegistered is YARN's ApplicationMasterNotRegisteredException:
	// the AM must register again (RM restart or failover).
	ErrAMNotRegistered = errors.New("ipc: application master not registered")
	// ErrAccessControl is AccessControlException or AuthorizationException.
	ErrAccessControl = errors.New("ipc: access denied")
)

// wellKnown maps Java class names to sentinels.
var wellKnown = map[string]error{
	"org.apache.hadoop.ipc.StandbyException":                                    ErrStandby,
	"org.apache.hadoop.security.token.SecretManager$InvalidToken":               ErrInvalidToken,
	"org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException":            ErrAppNotFound,
	"org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException":         ErrInvalidResourceRequest,
	"org.apache.hadoop.yarn.exceptions.ApplicationMasterNotRegisteredException": ErrAMNotRegistered,
	"org.apache.hadoop.security.AccessControlException":                         ErrAccessControl,
	"org.apache.hadoop.security.authorize.AuthorizationException":               ErrAccessControl,
	"org.apache.hadoop.hdfs.protocol.AccessControlException":                    ErrAccessControl,
}

// RemoteError is an exception thrown by the Java server, as carried in
// RpcResponseHeaderProto. Class is the fully qualified Java class name.
type RemoteError struct {
	Class   string
	Message string
	// Detail is the RpcErrorCodeProto value (1 = application error,
	// 10 and above are fatal).
	Detail int32
	// Fatal is true when the server closed the connection after the error.
	Fatal bool
}

// Error returns "<ShortClass>: <Message>".
func (e *RemoteError) Error() string {
	short := e.Class
	if i := strings.LastIndexAny(short, ".$"); i >= 0 {
		short = short[i+1:]
	}
	if e.Message == "" {
		return short
	}
	return short + ": " + e.Message
}

// Is reports whether target is the sentinel for e's Java class.
func (e *RemoteError) Is(target error) bool {
	s, ok := wellKnown[e.Class]
	return ok && s == target
}

// ConnectError reports that no connection could be made to Addr after
// Attempts tries; Err is the last failure.
type ConnectError struct {
	Addr     string
	Attempts int
	Err      error
}

// Error names the address and the number of attempts.
func (e *ConnectError) Error() string {
	return fmt.Sprintf("connect to %s: %d attempts: %v", e.Addr, e.Attempts, e.Err)
}

// Unwrap returns the last dial or handshake error.
func (e *ConnectError) Unwrap() error { return e.Err }
