package ipc

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels for the Hadoop-common exceptions every protocol may raise, which
// callers of any protocol act on: fail over, get a new token, give up. A
// *RemoteError matches them with errors.Is. Protocol-specific classes (YARN's,
// HDFS's) are mapped by the packages that speak those protocols.
var (
	// ErrStandby is org.apache.hadoop.ipc.StandbyException: fail over to
	// another ResourceManager or NameNode.
	ErrStandby = errors.New("ipc: server is in standby state")
	// ErrInvalidToken is SecretManager$InvalidToken: the token is unknown,
	// expired or its key rolled away.
	ErrInvalidToken = errors.New("ipc: invalid token")
	// ErrAccessControl is org.apache.hadoop.security.AccessControlException
	// or its subclass authorize.AuthorizationException: the server refused
	// the caller (SIMPLE not enabled, protocol ACL).
	ErrAccessControl = errors.New("ipc: access denied")
)

// sentinel returns the sentinel for a Java class, or nil.
func sentinel(class string) error {
	switch class {
	case "org.apache.hadoop.ipc.StandbyException":
		return ErrStandby
	case "org.apache.hadoop.security.token.SecretManager$InvalidToken":
		return ErrInvalidToken
	case "org.apache.hadoop.security.AccessControlException",
		"org.apache.hadoop.security.authorize.AuthorizationException":
		return ErrAccessControl
	}
	return nil
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
	s := sentinel(e.Class)
	return s != nil && s == target
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
