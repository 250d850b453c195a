package hdfs

import (
	"errors"
	"os"
	"syscall"

	"github.com/spindle-engine/spindle/ipc"
)

// ErrSafeMode is the NameNode's SafeModeException: it is starting up, or an
// operator put it in safe mode, and it refuses to change the namespace; the
// same call may succeed later.
var ErrSafeMode = errors.New("hdfs: NameNode is in safe mode")

// classes maps the NameNode's Java exception classes to the errors they match
// with errors.Is, os errors where one fits, as colinmarc/hdfs does for the
// calls it makes. The server sends the concrete class, so subclasses are
// listed with their parent's error.
var classes = map[string]error{
	"java.io.FileNotFoundException":                                       os.ErrNotExist,
	"org.apache.hadoop.fs.FileAlreadyExistsException":                     os.ErrExist,
	"org.apache.hadoop.security.AccessControlException":                   os.ErrPermission,
	"org.apache.hadoop.security.authorize.AuthorizationException":         os.ErrPermission,
	"org.apache.hadoop.hdfs.protocol.AccessControlException":              os.ErrPermission,
	"org.apache.hadoop.fs.ParentNotDirectoryException":                    syscall.ENOTDIR,
	"org.apache.hadoop.fs.PathIsNotEmptyDirectoryException":               syscall.ENOTEMPTY,
	"org.apache.hadoop.fs.InvalidPathException":                           os.ErrInvalid,
	"org.apache.hadoop.HadoopIllegalArgumentException":                    os.ErrInvalid,
	"org.apache.hadoop.hdfs.protocol.DSQuotaExceededException":            syscall.EDQUOT,
	"org.apache.hadoop.hdfs.protocol.NSQuotaExceededException":            syscall.EDQUOT,
	"org.apache.hadoop.hdfs.protocol.QuotaExceededException":              syscall.EDQUOT,
	"org.apache.hadoop.hdfs.protocol.QuotaByStorageTypeExceededException": syscall.EDQUOT,
	"org.apache.hadoop.hdfs.server.namenode.SafeModeException":            ErrSafeMode,
}

// remoteError is a NameNode exception as a call returned it: errors.Is
// matches the error of its class, and Unwrap keeps the chain ipc built (the
// *ipc.RemoteError, and ipc's own sentinels through it).
type remoteError struct {
	err    error
	target error
}

func (e *remoteError) Error() string        { return e.err.Error() }
func (e *remoteError) Is(target error) bool { return target == e.target }
func (e *remoteError) Unwrap() error        { return e.err }

// mapRemote gives an error from a NameNode call the error of the exception it
// carries; other errors (nil included) pass unchanged.
func mapRemote(err error) error {
	var re *ipc.RemoteError
	if !errors.As(err, &re) {
		return err
	}
	target, ok := classes[re.Class]
	if !ok {
		return err
	}
	return &remoteError{err: err, target: target}
}
