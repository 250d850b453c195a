package ipc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/ipc/pb"
)

// errIdle closes a connection that had no calls for IdleTimeout.
var errIdle = errors.New("ipc: connection idle")

// result is what the reader hands a waiting call.
type result struct {
	body []byte
	err  error
}

// conn is one TCP connection, after the handshake, shared by many calls.
// Its reader goroutine delivers replies by call id; its keeper goroutine
// pings and closes it when idle. Both end when the connection closes.
type conn struct {
	cfg      *Config
	log      zerolog.Logger
	nc       net.Conn
	clientID []byte
	// in yields plaintext frames: the socket itself, or an unwrapping
	// reader when a SASL security layer is active.
	in    io.Reader
	layer securityLayer // nil under QOP auth

	wmu sync.Mutex // serialises frame writes (and the layer's sequence numbers)

	mu       sync.Mutex
	calls    map[int32]chan result
	nextID   int32
	lastRead time.Time
	lastUse  time.Time
	lastPing time.Time
	err      error         // why the connection closed
	done     chan struct{} // closed by close
	wg       sync.WaitGroup
}

// dial connects with retries and backoff, then runs the handshake.
func dial(ctx context.Context, cfg *Config) (*conn, error) {
	backoff := 100 * time.Millisecond
	var last error
	attempts := 0
	for attempt := 0; attempt <= cfg.MaxRetries; attempt++ {
		if attempt > 0 {
			cfg.Logger.Debug().Err(last).Str("addr", cfg.Addr).Int("attempt", attempt).Msg("ipc: retrying connect")
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, &ConnectError{Addr: cfg.Addr, Attempts: attempts, Err: ctx.Err()}
			case <-t.C:
			}
			backoff = min(backoff*2, 5*time.Second)
		}
		attempts++
		c, err := dialOnce(ctx, cfg)
		if err == nil {
			return c, nil
		}
		last = err
		var re *RemoteError
		var ae *AuthError
		var pe *PrincipalError
		if errors.As(err, &re) || errors.As(err, &ae) || errors.As(err, &pe) || ctx.Err() != nil {
			// The server spoke and refused (bad token, SIMPLE disabled), or we
			// hold nothing it accepts: retrying cannot help.
			break
		}
	}
	return nil, &ConnectError{Addr: cfg.Addr, Attempts: attempts, Err: last}
}

func dialOnce(ctx context.Context, cfg *Config) (*conn, error) {
	nc, err := cfg.dial(ctx)
	if err != nil {
		return nil, err
	}
	c, err := handshake(ctx, cfg, nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// handshake writes the preamble, authenticates and sends the connection
// context, then starts the connection's goroutines.
func handshake(ctx context.Context, cfg *Config, nc net.Conn) (*conn, error) {
	hctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	stop := context.AfterFunc(hctx, func() { nc.SetDeadline(time.Now()) })
	defer stop()

	sess, err := authenticate(hctx, cfg, nc)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	c := &conn{
		cfg:      cfg,
		log:      cfg.Logger.With().Str("addr", cfg.Addr).Str("protocol", shortName(cfg.Protocol)).Logger(),
		nc:       nc,
		clientID: sess.clientID,
		in:       sess.in,
		layer:    sess.layer,
		calls:    make(map[int32]chan result),
		lastRead: now,
		lastUse:  now,
		lastPing: now,
		done:     make(chan struct{}),
	}
	if err := hctx.Err(); err != nil {
		return nil, err
	}
	if !stop() {
		return nil, hctx.Err()
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	c.wg.Add(2)
	go c.readLoop()
	go c.keepLoop()
	return c, nil
}

// writeFrame marshals msgs into a frame and writes it, wrapped when a
// security layer is active.
func (c *conn) writeFrame(msgs ...proto.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return writeFrameTo(c.nc, c.layer, msgs...)
}

// writeFrameTo marshals msgs into a frame and writes it to w, wrapped with
// layer unless it is nil.
func writeFrameTo(w io.Writer, layer securityLayer, msgs ...proto.Message) error {
	frame, err := marshalFrame(msgs...)
	if err != nil {
		return err
	}
	if layer != nil {
		if frame, err = wrapFrame(layer, frame); err != nil {
			return err
		}
	}
	_, err = w.Write(frame)
	return err
}

// usable reports whether new calls may use the connection.
func (c *conn) usable() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// close shuts the connection down with err and fails every waiting call.
// It does not wait for the goroutines; closeWait does.
func (c *conn) close(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	calls := c.calls
	c.calls = nil
	close(c.done)
	c.mu.Unlock()
	c.nc.Close()
	for _, ch := range calls {
		ch <- result{err: err}
	}
	if !errors.Is(err, errIdle) && !errors.Is(err, errConnReleased) {
		c.log.Debug().Err(err).Msg("ipc: connection closed")
	}
}

// call sends one request and waits for its reply or ctx.
func (c *conn) call(ctx context.Context, rh *pb.RequestHeaderProto, req proto.Message) ([]byte, error) {
	ch := make(chan result, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	id := c.nextID
	if c.nextID == math.MaxInt32 {
		c.nextID = 0
	} else {
		c.nextID++
	}
	c.calls[id] = ch
	c.lastUse = time.Now()
	c.mu.Unlock()

	stop := context.AfterFunc(ctx, func() { c.nc.SetWriteDeadline(time.Now()) })
	err := c.writeFrame(requestHeader(id, 0, c.clientID), rh, req)
	if !stop() {
		// The deadline may have cut the frame short; the stream is lost.
		c.close(fmt.Errorf("write interrupted: %w", ctx.Err()))
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, c.writeFailed(ctx, fmt.Errorf("write request: %w", err))
	}
	select {
	case r := <-ch:
		return r.body, r.err
	case <-ctx.Done():
		c.mu.Lock()
		if c.calls != nil {
			delete(c.calls, id)
		}
		c.lastUse = time.Now()
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

// writeFailedGrace bounds how long a failed write waits for the reader to
// surface the server's reason.
const writeFailedGrace = 2 * time.Second

// writeFailed handles a broken write. A server that refuses a connection
// (SIMPLE not enabled, bad token) sends a FATAL reply and closes, so our
// write may fail before the reader has read that reply: give the reader a
// moment and prefer its *RemoteError over the bare socket error.
func (c *conn) writeFailed(ctx context.Context, werr error) error {
	t := time.NewTimer(writeFailedGrace)
	defer t.Stop()
	select {
	case <-c.done:
	case <-ctx.Done():
	case <-t.C:
	}
	c.close(werr)
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	var re *RemoteError
	if errors.As(err, &re) {
		return err
	}
	return werr
}

// readLoop delivers replies until the connection fails or closes.
func (c *conn) readLoop() {
	defer c.wg.Done()
	for {
		b, err := readFrame(c.in)
		if err != nil {
			c.close(fmt.Errorf("read response: %w", err))
			return
		}
		r, err := parseResponse(b)
		if err != nil {
			c.close(err)
			return
		}
		id := r.callID()
		rerr := r.remoteError()
		if r.header.GetStatus() == pb.RpcResponseHeaderProto_FATAL || id < 0 {
			if rerr == nil {
				rerr = fmt.Errorf("ipc: unexpected frame with call id %d", id)
			}
			c.close(rerr)
			return
		}
		c.mu.Lock()
		ch := c.calls[id]
		delete(c.calls, id)
		now := time.Now()
		c.lastRead = now
		c.lastUse = now
		c.mu.Unlock()
		if ch == nil {
			continue // the caller gave up; drop the late reply
		}
		ch <- result{body: r.body, err: rerr}
	}
}

// keepLoop pings a connection with calls outstanding and no reply for
// PingInterval, and closes it after IdleTimeout with no calls.
func (c *conn) keepLoop() {
	defer c.wg.Done()
	tick := min(c.cfg.PingInterval, c.cfg.IdleTimeout) / 4
	t := time.NewTicker(max(tick, time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case now := <-t.C:
			c.mu.Lock()
			busy := len(c.calls) > 0
			idle := !busy && now.Sub(c.lastUse) >= c.cfg.IdleTimeout
			ping := busy && now.Sub(c.lastRead) >= c.cfg.PingInterval && now.Sub(c.lastPing) >= c.cfg.PingInterval
			if ping {
				c.lastPing = now
			}
			c.mu.Unlock()
			if idle {
				c.close(errIdle)
				return
			}
			if ping {
				if err := c.writeFrame(requestHeader(callIDPing, -1, c.clientID)); err != nil {
					c.close(fmt.Errorf("write ping: %w", err))
					return
				}
			}
		}
	}
}
