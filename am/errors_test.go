package am

import (
	"errors"
	"testing"
)

// TestErrorKindsSurviveTheWire checks that an *Error sent as the link sends it
// (kind and text) comes back with the same kind and text.
func TestErrorKindsSurviveTheWire(t *testing.T) {
	cause := errors.New("rpc timeout")
	for _, tt := range []struct {
		sent error
		kind error // nil: none survives
	}{
		{&Error{Kind: ErrExecutorFailures, Reason: "4 executor failures"}, ErrExecutorFailures},
		{&Error{Kind: ErrShutdown, Reason: "the ResourceManager ordered the ApplicationMaster to shut down"}, ErrShutdown},
		{&Error{Kind: ErrAllocate, Reason: "allocate failed 5 times in a row", Cause: cause}, ErrAllocate},
		{&Error{Kind: ErrDisconnected, Reason: "driver disconnected", Cause: cause}, ErrDisconnected},
		{errors.Join(&Error{Kind: ErrUnregister, Reason: "unregister", Cause: cause}, errors.New("close")), ErrUnregister},
		{errors.New("something else"), nil},
	} {
		got := fromWire(kindOf(tt.sent), tt.sent.Error())
		var e *Error
		if !errors.As(got, &e) || e.Kind != tt.kind || got.Error() != tt.sent.Error() {
			t.Errorf("%q came back as %#v, want kind %v", tt.sent, got, tt.kind)
		}
	}
	if err := (&Error{Kind: ErrAllocate, Reason: "allocate failed 5 times in a row", Cause: cause}); !errors.Is(err, ErrAllocate) || !errors.Is(err, cause) ||
		err.Error() != "allocate failed 5 times in a row: rpc timeout" {
		t.Errorf("%v: kind, cause or text lost", err)
	}
}
