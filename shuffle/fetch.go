package shuffle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/spindle-engine/spindle/shuffle/pb"
)

// Fetcher is a client of shuffle services for one application: one connection per
// service address, reused by every fetch.
type Fetcher struct {
	app    string
	secret []byte

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

// NewFetcher returns a client acting for app with its secret.
func NewFetcher(appID string, secret []byte) *Fetcher {
	return &Fetcher{app: appID, secret: secret, conns: map[string]*grpc.ClientConn{}}
}

// authContext adds the credentials of app to an outgoing call of method.
func authContext(ctx context.Context, app string, secret []byte, method string) (context.Context, error) {
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	nonce := hex.EncodeToString(n[:])
	return metadata.AppendToOutgoingContext(ctx, mdApp, app, mdNonce, nonce, mdAuth, callMAC(secret, app, method, nonce)), nil
}

func (f *Fetcher) client(addr string) (pb.ShuffleServiceClient, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.conns[addr]
	if !ok {
		var err error
		if c, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
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

// RegisterExecutor tells the service at addr where an executor's map outputs are.
func (f *Fetcher) RegisterExecutor(ctx context.Context, addr, executorID string, dirs []string) error {
	c, err := f.client(addr)
	if err != nil {
		return err
	}
	ctx, err = authContext(ctx, f.app, f.secret, pb.ShuffleService_RegisterExecutor_FullMethodName)
	if err != nil {
		return err
	}
	_, err = c.RegisterExecutor(ctx, &pb.RegisterExecutorRequest{AppId: f.app, ExecutorId: executorID, LocalDirs: dirs})
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
// map output the service does not have is an error wrapping ErrMissingOutput, so the
// scheduler recomputes it. Close ends the stream.
func (f *Fetcher) Open(ctx context.Context, addr, executorID string, shuffleID, mapID, reduceID int) (io.ReadCloser, error) {
	c, err := f.client(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	actx, err := authContext(ctx, f.app, f.secret, pb.ShuffleService_Fetch_FullMethodName)
	if err != nil {
		cancel()
		return nil, err
	}
	stream, err := c.Fetch(actx, &pb.FetchRequest{AppId: f.app, ExecutorId: executorID,
		ShuffleId: int32(shuffleID), MapId: int32(mapID), ReduceIds: []int32{int32(reduceID)}})
	if err != nil {
		cancel()
		return nil, f.fetchErr(addr, shuffleID, mapID, reduceID, err)
	}
	r := &chunkReader{ctx: ctx, stream: stream, cancel: cancel, wrap: func(err error) error { return f.fetchErr(addr, shuffleID, mapID, reduceID, err) }}
	// Receive the first chunk now, so that a missing output fails Open itself.
	if err := r.next(); err != nil {
		cancel()
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
	ctx    context.Context
	stream pb.ShuffleService_FetchClient
	cancel context.CancelFunc
	wrap   func(error) error
	buf    []byte
	last   bool
}

func (r *chunkReader) next() error {
	c, err := r.stream.Recv()
	if err == io.EOF {
		return r.wrap(io.ErrUnexpectedEOF) // the stream ended before the last chunk
	}
	if err != nil {
		return r.wrap(err)
	}
	r.buf, r.last = c.Data, c.Last
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
