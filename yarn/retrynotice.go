package yarn

import (
	"context"
	"net"
	"sync"
)

// defaultConnectRetries is ipc.Config's MaxRetries default, which applies when
// neither ipc.client.connect.max.retries nor WithMaxRetries sets one.
const defaultConnectRetries = 3

// RetryNotice hears that a client could not connect to a server and is going to
// retry: its address, how many retries it has left at most, and why the connect
// failed. A client tells it once, at its first failed connect.
type RetryNotice func(addr string, retries int, err error)

// WithRetryNotice makes the ResourceManager client tell n, once, when a connect
// to an RM failed and is being retried, so that a person waiting for the retries
// to run out knows why nothing happens (with the default ten retries of Hadoop's
// configuration, about half a minute).
func WithRetryNotice(n RetryNotice) Option { return func(o *options) { o.retryNotice = n } }

// connectRetries is how often ipc retries a failed connect given its
// Config.MaxRetries.
func connectRetries(maxRetries int) int {
	switch {
	case maxRetries == 0:
		return defaultConnectRetries
	case maxRetries < 0:
		return 0
	}
	return maxRetries
}

// noticeDial is the ipc dialer that tells the options' notice of the first failed
// connect of a client whose ipc.Config.MaxRetries is maxRetries; nil (ipc's own
// dialer) without a notice, or without retries.
func (o *options) noticeDial(maxRetries int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	notice, retries := o.retryNotice, connectRetries(maxRetries)
	if notice == nil || retries == 0 {
		return nil
	}
	var once sync.Once
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil && ctx.Err() == nil {
			once.Do(func() { notice(addr, retries, err) })
		}
		return c, err
	}
}
