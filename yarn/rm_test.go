package yarn

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/ipc"
)

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestUnreachableRM(t *testing.T) {
	a, b := deadAddr(t), deadAddr(t)
	tests := []struct {
		name string
		conf mapConf
		want []string
	}{
		{"single", mapConf{"yarn.resourcemanager.address": a, "ipc.client.connect.max.retries": "1"}, []string{a}},
		{"ha", mapConf{
			"yarn.resourcemanager.ha.enabled": "true", "yarn.resourcemanager.ha.rm-ids": "rm1,rm2",
			"yarn.resourcemanager.address.rm1": a, "yarn.resourcemanager.address.rm2": b,
			"ipc.client.connect.max.retries": "0", "yarn.client.failover-max-attempts": "3",
		}, []string{a, b}},
		{"ha failovers exhausted", mapConf{
			"yarn.resourcemanager.ha.enabled": "true", "yarn.resourcemanager.ha.rm-ids": "rm1,rm2",
			"yarn.resourcemanager.address.rm1": a, "yarn.resourcemanager.address.rm2": b,
			"ipc.client.connect.max.retries": "0", "yarn.client.failover-max-attempts": "3",
			"yarn.client.failover-sleep-base-ms": "1", "yarn.client.failover-sleep-max-ms": "5",
		}, []string{a, b, "after 3 failovers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rm, err := NewResourceManager(tt.conf, WithUser("tester"), WithDialTimeout(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			defer rm.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // below the default failover sleeps (15 s and more)
			defer cancel()
			_, _, err = rm.NewApplication(ctx)
			var ce *ipc.ConnectError
			if !errors.As(err, &ce) {
				t.Fatalf("want *ipc.ConnectError, got %v", err)
			}
			for _, addr := range tt.want {
				if !strings.Contains(err.Error(), addr) {
					t.Errorf("error %q does not name %s", err, addr)
				}
			}
		})
	}
}

func TestShouldFailover(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&ipc.RemoteError{Class: "org.apache.hadoop.ipc.StandbyException"}, true},
		{&ipc.ConnectError{Addr: "x:1", Attempts: 1, Err: errors.New("refused")}, true},
		{&ipc.RemoteError{Class: "org.apache.hadoop.yarn.exceptions.InvalidResourceRequestException"}, false},
		{context.Canceled, false},
	}
	for _, tt := range tests {
		if got := shouldFailover(tt.err); got != tt.want {
			t.Errorf("shouldFailover(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
