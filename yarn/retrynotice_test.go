package yarn

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/ipc"
)

// TestRetryNoticeOnce: a ResourceManager that does not answer is retried as often
// as configured, and the client says so once, naming the address, before the
// retries run out.
func TestRetryNoticeOnce(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now: every connect is refused
	type notice struct {
		addr    string
		retries int
		err     error
	}
	var got []notice
	rm, err := NewResourceManager(mapConf{"yarn.resourcemanager.address": addr},
		WithMaxRetries(2), WithRetryNotice(func(a string, n int, err error) { got = append(got, notice{a, n, err}) }))
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, _ := ParseAppID("application_1_0001")
	_, err = rm.Report(ctx, id)
	var ce *ipc.ConnectError
	if !errors.As(err, &ce) || ce.Attempts != 3 {
		t.Fatalf("Report: %v; want a connect error after 3 attempts", err)
	}
	if len(got) != 1 || got[0].addr != addr || got[0].retries != 2 || got[0].err == nil {
		t.Fatalf("notices %+v; want one for %s with 2 retries", got, addr)
	}
}

func TestConnectRetries(t *testing.T) {
	for _, tt := range []struct {
		conf mapConf
		opts []Option
		want int
	}{
		{mapConf{}, nil, defaultConnectRetries},
		{mapConf{"ipc.client.connect.max.retries": "10"}, nil, 10},
		{mapConf{"ipc.client.connect.max.retries": "0"}, nil, 0},
		{mapConf{"ipc.client.connect.max.retries": "10"}, []Option{WithMaxRetries(1)}, 1},
	} {
		o := buildOptions(tt.conf, tt.opts)
		if got := connectRetries(o.maxRetries); got != tt.want {
			t.Errorf("connectRetries(%v) = %d, want %d", tt.conf, got, tt.want)
		}
	}
}
