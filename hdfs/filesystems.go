package hdfs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/spindle-engine/spindle/ipc"
)

// ErrClosed is returned by FileSystems.Resolve after Close.
var ErrClosed = errors.New("hdfs: file systems closed")

// FileSystems resolves paths to filesystems and owns the HDFS clients it opens
// for them: one per NameNode, shared by every caller that resolves a path
// there, until Close. It is safe for concurrent use.
type FileSystems struct {
	opts   Options
	tokens tokenSet

	mu      sync.Mutex
	closed  bool
	clients map[string]*nnSlot // by NameNode address and user
	// retired are clients whose token was replaced or expired: files opened
	// through them may still read, so they close with the FileSystems.
	retired []*hdfsFS
}

// nnSlot holds one NameNode's clients. sem is held while connecting, so that
// concurrent resolvers of one NameNode share a client while each waits only as
// long as its own context allows.
type nnSlot struct {
	sem     chan struct{}
	fs      *hdfsFS // nil until connected; guarded by sem
	service string  // the NameNode's token service, once resolved; guarded by sem
}

// NewFileSystems returns FileSystems reaching HDFS as opts say. It connects to
// nothing until a path needs it.
func NewFileSystems(opts Options) *FileSystems {
	f := &FileSystems{opts: opts, clients: map[string]*nnSlot{}}
	f.tokens.now = time.Now
	f.tokens.set(opts.Tokens)
	return f
}

// SetTokens replaces the HDFS delegation tokens, as an executor does when the
// driver sends renewed ones: later Resolve calls connect with the new token of
// their NameNode, while files already open finish on the connection they have.
// A connection is also replaced once its token passes its max date, after which
// the NameNode would refuse any reconnect with it.
func (f *FileSystems) SetTokens(tokens []*ipc.Token) { f.tokens.set(tokens) }

// Resolve picks the filesystem of path by its scheme and returns the path within
// it: no scheme or file:// is the local filesystem, hdfs://host:port/p is HDFS at
// that NameNode, and hdfs:///p is HDFS at Options.DefaultFS. ctx bounds
// connecting to a NameNode not yet connected. The FS stays usable until Close.
func (f *FileSystems) Resolve(ctx context.Context, path string) (FS, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("path %s: %w", path, err)
	}
	if f.isClosed() {
		return nil, "", fmt.Errorf("path %s: %w", path, ErrClosed)
	}
	switch {
	case strings.HasPrefix(path, "file:"):
		u, err := url.Parse(path)
		if err != nil {
			return nil, "", fmt.Errorf("path %s: %w", path, err)
		}
		return Local, u.Path, nil
	case strings.HasPrefix(path, "hdfs:"):
		u, err := url.Parse(path)
		if err != nil {
			return nil, "", fmt.Errorf("path %s: %w", path, err)
		}
		fsys, err := f.hdfs(ctx, u.Host)
		if err != nil {
			return nil, "", err
		}
		return fsys, u.Path, nil
	case strings.Contains(path, "://"):
		return nil, "", fmt.Errorf("path %s: unsupported scheme (use a local path, file:// or hdfs://)", path)
	}
	return Local, path, nil
}

// hdfs returns the clients of a NameNode, connecting on first use; an empty
// host means the one in fs.defaultFS.
func (f *FileSystems) hdfs(ctx context.Context, host string) (*hdfsFS, error) {
	opts := f.opts
	if host == "" {
		if opts.DefaultFS == "" {
			return nil, errors.New("hdfs path without a NameNode and no hdfs:// fs.defaultFS (is HADOOP_CONF_DIR set?)")
		}
		u, err := url.Parse(opts.DefaultFS)
		if err != nil {
			return nil, fmt.Errorf("fs.defaultFS %s: %w", opts.DefaultFS, err)
		}
		if u.Scheme != "hdfs" || u.Host == "" {
			return nil, fmt.Errorf("fs.defaultFS %s is not HDFS with a NameNode (hdfs://host:port)", opts.DefaultFS)
		}
		host = u.Host
	}
	slot, err := f.slot(host + "\x00" + opts.User)
	if err != nil {
		return nil, err
	}
	select {
	case slot.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("connect to NameNode %s: %w", host, ctx.Err())
	}
	defer func() { <-slot.sem }()
	if slot.service == "" {
		svc, err := ipc.TokenService(ctx, host, opts.Security.TokenServiceByName)
		if err != nil {
			return nil, fmt.Errorf("NameNode %s: %w", host, err)
		}
		slot.service = svc
	}
	if slot.fs != nil {
		if f.tokens.usable(slot.fs.token, slot.service) {
			return slot.fs, nil
		}
		f.retire(slot.fs)
		slot.fs = nil
	}
	// Close may have run while this caller waited: it found no client here.
	if f.isClosed() {
		return nil, ErrClosed
	}
	tok, expired := f.tokens.pick(slot.service)
	if tok == nil && !expired.IsZero() && opts.Kerberos == nil {
		return nil, &TokenExpiredError{Service: slot.service, At: expired}
	}
	h, err := connect(ctx, host, opts, tok)
	if err != nil {
		return nil, err
	}
	// Close may have started during connect; if it did not, it will wait on
	// sem and find the client here.
	if f.isClosed() {
		return nil, errors.Join(ErrClosed, h.close())
	}
	slot.fs = h
	return h, nil
}

// slot returns the slot for key, creating it.
func (f *FileSystems) slot(key string) (*nnSlot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	s, ok := f.clients[key]
	if !ok {
		s = &nnSlot{sem: make(chan struct{}, 1)}
		f.clients[key] = s
	}
	return s, nil
}

// retire keeps a replaced client until Close.
func (f *FileSystems) retire(h *hdfsFS) {
	f.mu.Lock()
	f.retired = append(f.retired, h)
	f.mu.Unlock()
}

func (f *FileSystems) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// Close closes every HDFS client the FileSystems opened, after any connect in
// progress ends; FSs it returned stop working. Later calls do nothing.
func (f *FileSystems) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	slots := f.clients
	f.clients = nil
	retired := f.retired
	f.retired = nil
	f.mu.Unlock()
	var errs []error
	for _, h := range retired {
		errs = append(errs, h.close())
	}
	for _, s := range slots {
		s.sem <- struct{}{}
		if s.fs != nil {
			errs = append(errs, s.fs.close())
			s.fs = nil
		}
		<-s.sem
	}
	return errors.Join(errs...)
}
