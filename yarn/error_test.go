package yarn

import (
	"errors"
	"fmt"
	"testing"

	"github.com/spindle-engine/spindle/ipc"
)

// TestErrorClasses: a Java class arriving from the RM or an NM matches its
// sentinel (and no other), keeps the *ipc.RemoteError reachable, and reads as
// ipc wrote it.
func TestErrorClasses(t *testing.T) {
	all := []error{
		ErrAppNotFound, ErrAttemptNotFound, ErrContainerNotFound, ErrInvalidResourceRequest,
		ErrInvalidBlacklistRequest, ErrInvalidContainerRelease, ErrAMNotRegistered, ErrInvalidAMRequest,
		ErrNMNotReady, ErrInvalidAuxService, ipc.ErrInvalidToken, ipc.ErrStandby, ipc.ErrAccessControl,
	}
	tests := []struct {
		class string
		want  error // nil: matches none of all
	}{
		{exceptions + "ApplicationNotFoundException", ErrAppNotFound},
		{exceptions + "ApplicationAttemptNotFoundException", ErrAttemptNotFound},
		{exceptions + "ContainerNotFoundException", ErrContainerNotFound},
		{exceptions + "InvalidResourceRequestException", ErrInvalidResourceRequest},
		{exceptions + "InvalidLabelResourceRequestException", ErrInvalidResourceRequest},
		{exceptions + "SchedulerInvalidResoureRequestException", ErrInvalidResourceRequest},
		{exceptions + "InvalidResourceBlacklistRequestException", ErrInvalidBlacklistRequest},
		{exceptions + "InvalidContainerReleaseException", ErrInvalidContainerRelease},
		{exceptions + "ApplicationMasterNotRegisteredException", ErrAMNotRegistered},
		{exceptions + "InvalidApplicationMasterRequestException", ErrInvalidAMRequest},
		{exceptions + "NMNotYetReadyException", ErrNMNotReady},
		{exceptions + "InvalidAuxServiceException", ErrInvalidAuxService},
		// Hadoop-common classes keep matching ipc's sentinels through the mapping.
		{"org.apache.hadoop.security.token.SecretManager$InvalidToken", ErrInvalidToken},
		{"org.apache.hadoop.ipc.StandbyException", ipc.ErrStandby},
		{"org.apache.hadoop.security.AccessControlException", ipc.ErrAccessControl},
		{exceptions + "YarnException", nil},
		{"java.io.IOException", nil},
	}
	for _, tt := range tests {
		t.Run(tt.class, func(t *testing.T) {
			re := &ipc.RemoteError{Class: tt.class, Message: "it went wrong", Detail: 1}
			// As ipc.Client.Call returns it: wrapped with the method and address.
			raw := fmt.Errorf("ApplicationClientProtocolPB.getApplicationReport on rm:8032: %w", re)
			err := mapRemote(raw)
			for _, s := range all {
				if got := errors.Is(err, s); got != (s == tt.want) {
					t.Errorf("errors.Is(err, %v) = %v", s, got)
				}
			}
			var got *ipc.RemoteError
			if !errors.As(err, &got) || got != re {
				t.Errorf("errors.As(err, *ipc.RemoteError) = %v, want the original", got)
			}
			if err.Error() != raw.Error() {
				t.Errorf("Error() = %q, want %q", err.Error(), raw.Error())
			}
			ce := &ContainerError{Class: tt.class, Message: "it went wrong"}
			if _, yarnClass := classes[tt.class]; yarnClass && !errors.Is(fmt.Errorf("start: %w", ce), tt.want) {
				t.Errorf("ContainerError with %s does not match %v", tt.class, tt.want)
			}
		})
	}
	if err := mapRemote(nil); err != nil {
		t.Errorf("mapRemote(nil) = %v", err)
	}
	if plain := errors.New("refused"); mapRemote(plain) != plain {
		t.Error("mapRemote changed an error without a RemoteError")
	}
}
