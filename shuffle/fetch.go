package shuffle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/status"

	"github.com/spindle-engine/spindle/security/handshake"
	"github.com/spindle-engine/spindle/shuffle/pb"
)

// Fetcher is a client of shuffle services for one application: one connection per
// service address, reused by every fetch.
type Fetcher struct {
	app     string
	secret  []byte
	encrypt bool
	retry   RetryPolicy
	sleep   func(context.Context, time.Duration) error // waits between attempts; tests record instead

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

// FetcherOption tunes a Fetcher.
type FetcherOption func(*Fetcher)

// WithEncryption encrypts the Fetcher's connections (spindle.network.crypto.enabled).
func WithEncryption(on bool) FetcherOption { return func(f *Fetcher) { f.encrypt = on } }

// NewFetcher returns a client acting for app with its secret.
func NewFetcher(appID string, secret []byte, opts ...FetcherOption) *Fetcher {
	f := &Fetcher{app: appID, secret: secret, conns: map[string]*grpc.ClientConn{}, sleep: sleepCtx}
	for _, o := range opts {
		o(f)
	}
	return f
}

// RetryPolicy is how a Fetcher retries a call whose connection failed (the service
// down, restarting or unreachable): up to MaxRetries more attempts, the first after
// Wait and each later one after twice the wait before it. A missing or corrupt map
// output is never retried.
type RetryPolicy struct {
	MaxRetries int
	Wait       time.Duration
}

// WithRetry sets how the Fetcher retries connection failures; without it, it does
// not retry. The engine passes spindle.shuffle.io.maxRetries and
// spindle.shuffle.io.retryWait.
func WithRetry(p RetryPolicy) FetcherOption {
	return func(f *Fetcher) { f.retry = p }
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// withRetry runs call until it succeeds, fails for a reason other than the
// connection, or the policy's attempts are spent.
func (f *Fetcher) withRetry(ctx context.Context, addr string, call func() error) error {
	wait := f.retry.Wait
	for attempt := 0; ; attempt++ {
		err := call()
		if err == nil || attempt >= f.retry.MaxRetries || !connectionFailure(ctx, err) || ctx.Err() != nil {
			return err
		}
		if serr := f.sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%w (retry after %v: %w)", err, wait, serr)
		}
		wait *= 2
		f.redial(addr)
	}
}

// connectionFailure reports whether err says the service could not be reached or
// its connection broke, which a later attempt may not meet. A call on a connection
// that redial closed under it ends Canceled though its own context lives on. A
// handshake the service refused (a wrong secret, an application it does not know)
// is not retried: gRPC reports it as Unavailable too, flattened to text, so it is
// told apart by handshake.ErrRefused's message; a handshake that got no reply may
// be a service restarting or at its limit of handshakes, and is retried.
func connectionFailure(ctx context.Context, err error) bool {
	switch status.Code(err) {
	case codes.Unavailable:
		msg := status.Convert(err).Message()
		return !strings.Contains(msg, handshake.ErrRefused.Error()) || strings.Contains(msg, "no reply")
	case codes.Canceled:
		return ctx.Err() == nil
	}
	return false
}

// redial drops the connection to addr if it is in TRANSIENT_FAILURE, so that the
// next attempt dials at once on a new one. gRPC would redial the old one only when
// its own backoff (up to two minutes) ends, and until then fails every call at
// once; a connection in that state carries no stream, so dropping it cuts none.
func (f *Fetcher) redial(addr string) {
	f.mu.Lock()
	c, ok := f.conns[addr]
	if ok && c.GetState() == connectivity.TransientFailure {
		delete(f.conns, addr)
	} else {
		ok = false
	}
	f.mu.Unlock()
	if ok {
		c.Close()
	}
}

// authContext is an outgoing call's context: the call needs no credentials of its
// own, since its connection's handshake proved the application's secret.
func authContext(ctx context.Context, _ string, _ []byte, _ string) (context.Context, error) {
	return ctx, nil
}

func (f *Fetcher) client(addr string) (pb.ShuffleServiceClient, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.conns[addr]
	if !ok {
		var err error
		creds := handshake.NewClientCredentials(f.app, handshake.PurposeShuffle, f.secret, f.encrypt)
		if c, err = grpc.NewClient(addr, grpc.WithTransportCredentials(creds),
			grpc.WithInitialWindowSize(streamWindow), grpc.WithInitialConnWindowSize(connWindow),
			grpc.WithReadBufferSize(1<<20), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(2*chunkSize)),
			experimental.WithBufferPool(chunkBufs)); err != nil {
			return nil, fmt.Errorf("shuffle service %s: %w", addr, err)
		}
		f.conns[addr] = c
	}
	return pb.NewShuffleServiceClient(c), nil
}

// Close closes the connections.
func (f *Fetcher) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for addr, c := range f.conns {
		errs = append(errs, c.Close())
		delete(f.conns, addr)
	}
	return errors.Join(errs...)
}

// RegisterExecutor tells the service at addr where an executor's map outputs are
// (in LayoutV1). Registering again replaces the earlier registration. Connection
// failures are retried as Open's are.
func (f *Fetcher) RegisterExecutor(ctx context.Context, addr, executorID string, dirs []string) error {
	req := &pb.RegisterExecutorRequest{AppId: f.app, ExecutorId: executorID, LocalDirs: dirs, Layout: LayoutV1}
	err := f.withRetry(ctx, addr, func() error {
		c, err := f.client(addr)
		if err != nil {
			return err
		}
		actx, err := authContext(ctx, f.app, f.secret, pb.ShuffleService_RegisterExecutor_FullMethodName)
		if err != nil {
			return err
		}
		_, err = c.RegisterExecutor(actx, req)
		return err
	})
	if err != nil {
		return fmt.Errorf("register executor %s with shuffle service %s: %w", executorID, addr, err)
	}
	return nil
}

// RemoveApplication asks the service at addr to delete the application's files.
func (f *Fetcher) RemoveApplication(ctx context.Context, addr string) (int, error) {
	c, err := f.client(addr)
	if err != nil {
		return 0, err
	}
	ctx, err = authContext(ctx, f.app, f.secret, pb.ShuffleService_RemoveApplication_FullMethodName)
	if err != nil {
		return 0, err
	}
	resp, err := c.RemoveApplication(ctx, &pb.RemoveApplicationRequest{AppId: f.app})
	if err != nil {
		return 0, fmt.Errorf("remove %s from shuffle service %s: %w", f.app, addr, err)
	}
	return int(resp.FilesRemoved), nil
}

// Open streams one reduce partition's segment of a map output held by executorID
// at addr. The bytes are the segment as on disk: read them with NewSegmentReader. A
// map output the service does not have is an error wrapping ErrMissingOutput, and a
// corrupt one wrapping ErrCorrupt, at once, so the scheduler recomputes it; a
// connection failure is retried by the Fetcher's RetryPolicy. Close ends the stream.
func (f *Fetcher) Open(ctx context.Context, addr, executorID string, shuffleID, mapID, reduceID int) (io.ReadCloser, error) {
	req := &pb.FetchRequest{AppId: f.app, ExecutorId: executorID,
		ShuffleId: int32(shuffleID), MapId: int32(mapID), ReduceIds: []int32{int32(reduceID)}}
	return f.open(ctx, addr, req, func(err error) error { return f.fetchErr(addr, shuffleID, mapID, reduceID, err) })
}

// open starts a Fetch and receives its first chunk, so that a missing output or a
// refused call fails here, retrying connection failures.
func (f *Fetcher) open(ctx context.Context, addr string, req *pb.FetchRequest, wrap func(error) error) (*chunkReader, error) {
	var r *chunkReader
	err := f.withRetry(ctx, addr, func() error {
		c, err := f.client(addr)
		if err != nil {
			return err
		}
		sctx, cancel := context.WithCancel(ctx)
		actx, err := authContext(sctx, f.app, f.secret, pb.ShuffleService_Fetch_FullMethodName)
		if err != nil {
			cancel()
			return err
		}
		stream, err := c.Fetch(actx, req, grpc.ForceCodecV2(&chunkCodec{}))
		if err != nil {
			cancel()
			return wrap(err)
		}
		r = &chunkReader{ctx: sctx, stream: stream, cancel: cancel, wrap: wrap}
		if err := r.next(); err != nil {
			cancel()
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (f *Fetcher) fetchErr(addr string, shuffleID, mapID, reduceID int, err error) error {
	// The engine acts on these two as it does on local files: recompute the map output.
	switch status.Code(err) {
	case codes.NotFound:
		return fmt.Errorf("fetch shuffle %d map %d reduce %d from %s: %s: %w", shuffleID, mapID, reduceID, addr, status.Convert(err).Message(), ErrMissingOutput)
	case codes.DataLoss:
		return fmt.Errorf("fetch shuffle %d map %d reduce %d from %s: %s: %w", shuffleID, mapID, reduceID, addr, status.Convert(err).Message(), ErrCorrupt)
	}
	return fmt.Errorf("fetch shuffle %d map %d reduce %d from %s: %w", shuffleID, mapID, reduceID, addr, err)
}

// chunkReader reads a segment from its stream of chunks, one chunk in memory.
type chunkReader struct {
	ctx     context.Context
	stream  pb.ShuffleService_FetchClient
	cancel  context.CancelFunc
	wrap    func(error) error
	buf     []byte
	last    bool
	started bool
	block   int32 // the current chunk's segment, as the request numbers them
	size    int64 // the current segment's length, from its first chunk
}

func (r *chunkReader) next() error {
	c, err := r.stream.Recv()
	if err == io.EOF {
		return r.wrap(io.ErrUnexpectedEOF) // the stream ended before the last chunk
	}
	if err != nil {
		return r.wrap(err)
	}
	if r.last || !r.started { // the first chunk of a segment
		r.size = c.Size
	}
	r.started = true
	r.buf, r.last, r.block = c.Data, c.Last, c.Block
	return nil
}

func (r *chunkReader) Read(p []byte) (int, error) {
	// Chunks gRPC already buffered must not outlive a cancelled fetch.
	if err := r.ctx.Err(); err != nil {
		return 0, r.wrap(err)
	}
	for len(r.buf) == 0 {
		if r.last {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// Close ends the stream.
func (r *chunkReader) Close() error {
	r.cancel()
	return nil
}
