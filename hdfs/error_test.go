package hdfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"

	"github.com/spindle-engine/spindle/ipc"
)

// TestErrorClasses: a NameNode exception becomes an *os.PathError naming the
// path, matches its os error (and no other), and keeps the *ipc.RemoteError
// reachable.
func TestErrorClasses(t *testing.T) {
	all := []error{
		fs.ErrNotExist, fs.ErrExist, fs.ErrPermission, fs.ErrInvalid, syscall.ENOTDIR, syscall.ENOTEMPTY,
		syscall.EDQUOT, ErrSafeMode, ipc.ErrAccessControl, ipc.ErrStandby, ipc.ErrInvalidToken,
	}
	tests := []struct {
		class string
		want  []error // what errors.Is matches among all
	}{
		{"java.io.FileNotFoundException", []error{fs.ErrNotExist}},
		{"org.apache.hadoop.fs.FileAlreadyExistsException", []error{fs.ErrExist}},
		// Hadoop-common's class matches ipc's sentinel too, through the RemoteError.
		{"org.apache.hadoop.security.AccessControlException", []error{fs.ErrPermission, ipc.ErrAccessControl}},
		{"org.apache.hadoop.security.authorize.AuthorizationException", []error{fs.ErrPermission, ipc.ErrAccessControl}},
		{"org.apache.hadoop.hdfs.protocol.AccessControlException", []error{fs.ErrPermission}},
		{"org.apache.hadoop.fs.ParentNotDirectoryException", []error{syscall.ENOTDIR}},
		{"org.apache.hadoop.fs.PathIsNotEmptyDirectoryException", []error{syscall.ENOTEMPTY}},
		{"org.apache.hadoop.fs.InvalidPathException", []error{fs.ErrInvalid}},
		{"org.apache.hadoop.HadoopIllegalArgumentException", []error{fs.ErrInvalid}},
		{"org.apache.hadoop.hdfs.protocol.DSQuotaExceededException", []error{syscall.EDQUOT}},
		{"org.apache.hadoop.hdfs.protocol.NSQuotaExceededException", []error{syscall.EDQUOT}},
		{"org.apache.hadoop.hdfs.protocol.QuotaExceededException", []error{syscall.EDQUOT}},
		{"org.apache.hadoop.hdfs.protocol.QuotaByStorageTypeExceededException", []error{syscall.EDQUOT}},
		{"org.apache.hadoop.hdfs.server.namenode.SafeModeException", []error{ErrSafeMode}},
		{"org.apache.hadoop.ipc.StandbyException", []error{ipc.ErrStandby}},
		{"org.apache.hadoop.security.token.SecretManager$InvalidToken", []error{ipc.ErrInvalidToken}},
		{"java.io.IOException", nil},
	}
	for _, tt := range tests {
		t.Run(tt.class, func(t *testing.T) {
			re := &ipc.RemoteError{Class: tt.class, Message: "it went wrong", Detail: 1}
			// As ipc.Client.Call returns it: wrapped with the method and address.
			raw := fmt.Errorf("ClientProtocol.getBlockLocations on nn:8020: %w", re)
			err := pathError("blocks", "/data/in", raw)
			for _, s := range all {
				want := false
				for _, w := range tt.want {
					want = want || w == s
				}
				if got := errors.Is(err, s); got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v", s, got, want)
				}
			}
			var got *ipc.RemoteError
			if !errors.As(err, &got) || got != re {
				t.Errorf("errors.As(err, *ipc.RemoteError) = %v, want the original", got)
			}
			var pe *os.PathError
			if !errors.As(err, &pe) || pe.Op != "blocks" || pe.Path != "/data/in" {
				t.Errorf("errors.As(err, *os.PathError) = %+v, want blocks /data/in", pe)
			}
			if want := "blocks /data/in: " + raw.Error(); err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}
