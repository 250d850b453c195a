package hdfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	hdfsclient "github.com/colinmarc/hdfs/v2"

	"github.com/spindle-engine/spindle/ipc"
)

// hdfsFS is HDFS through colinmarc/hdfs. That client takes no context, so calls are
// bounded by its own timeouts; ctx is checked before each call.
type hdfsFS struct {
	c  *hdfsclient.Client
	nn *nameNode
	// token is the delegation token both connections authenticated with; nil for
	// Kerberos or SIMPLE.
	token *ipc.Token
}

// connect opens the clients of one NameNode as opts say, with tok (nil: Kerberos
// if opts has a login, else SIMPLE). ctx bounds the first connection, which
// authenticates; colinmarc/hdfs takes no context, so its later reconnects are
// bound by the dial timeout only.
func connect(ctx context.Context, host string, opts Options, tok *ipc.Token) (*hdfsFS, error) {
	cfg, err := nnConfig(host, opts, tok)
	if err != nil {
		return nil, err
	}
	d := &dialer{ctx: ctx, cfg: cfg}
	user := opts.User
	if user == "" {
		user = "nobody" // colinmarc/hdfs wants one; TOKEN and KERBEROS do not send it
	}
	c, err := hdfsclient.NewClient(hdfsclient.ClientOptions{
		Addresses: []string{host}, User: user, NamenodeDialFunc: d.dial, DatanodeDialFunc: opts.Dial,
		DataTransferProtection: opts.Security.DataTransferProtection,
	})
	d.connected()
	if err != nil {
		// colinmarc/hdfs flattens the dial error into text: keep ctx's error and
		// ours (an *ipc.AuthError, say) matchable.
		if cerr := ctx.Err(); cerr != nil {
			return nil, fmt.Errorf("connect to NameNode %s: %w (%v)", host, cerr, err)
		}
		if derr := d.lastErr(); derr != nil {
			return nil, fmt.Errorf("connect to NameNode %s: %w", host, derr)
		}
		return nil, fmt.Errorf("connect to NameNode %s: %w", host, err)
	}
	nn, err := newNameNode(cfg)
	if err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return &hdfsFS{c: c, nn: nn, token: tok}, nil
}

// close closes both clients; it must be called once.
func (h *hdfsFS) close() error {
	return errors.Join(h.c.Close(), h.nn.close())
}

func (h *hdfsFS) Open(ctx context.Context, p string) (File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return h.c.Open(p)
}

func (h *hdfsFS) Create(ctx context.Context, p string) (io.WriteCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := h.c.MkdirAll(parent(p), 0o755); err != nil {
		return nil, err
	}
	w, err := h.c.Create(p)
	if err != nil {
		return nil, err
	}
	return &hdfsWriter{FileWriter: w}, nil
}

// hdfsWriter retries Close while the NameNode is still completing the file's last
// block, as colinmarc/hdfs asks callers to (IsErrReplicating): otherwise a freshly
// written output file fails to close now and then.
type hdfsWriter struct {
	*hdfsclient.FileWriter
}

// CloseWriter closes a colinmarc/hdfs writer the way this package's writers close:
// retrying while the NameNode completes the last block. For callers that write with
// the client directly (a chosen block size or replication).
func CloseWriter(w *hdfsclient.FileWriter) error { return (&hdfsWriter{FileWriter: w}).Close() }

// closeTimeout bounds how long Close waits for the last block's replication.
const closeTimeout = 60 * time.Second

func (w *hdfsWriter) Close() error {
	deadline := time.Now().Add(closeTimeout)
	delay := 10 * time.Millisecond
	for {
		err := w.FileWriter.Close()
		if !hdfsclient.IsErrReplicating(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay) // backoff against the NameNode, not a test wait
		delay = min(2*delay, time.Second)
	}
}

func parent(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "/"
}

func hdfsInfo(p string, st os.FileInfo) FileInfo {
	fi := FileInfo{Path: p, Size: st.Size(), ModTime: st.ModTime(), IsDir: st.IsDir()}
	if hs, ok := st.(*hdfsclient.FileInfo); ok {
		fi.BlockSize = int64(hs.Sys().(*hdfsclient.FileStatus).GetBlocksize())
	}
	return fi
}

func (h *hdfsFS) Stat(ctx context.Context, p string) (FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return FileInfo{}, err
	}
	st, err := h.c.Stat(p)
	if err != nil {
		return FileInfo{}, err
	}
	return hdfsInfo(p, st), nil
}

func (h *hdfsFS) List(ctx context.Context, dir string) ([]FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := h.c.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([]FileInfo, 0, len(entries))
	for _, e := range entries {
		out = append(out, hdfsInfo(join(dir, e.Name()), e))
	}
	return out, nil
}

func join(dir, name string) string {
	if len(dir) > 0 && dir[len(dir)-1] == '/' {
		return dir + name
	}
	return dir + "/" + name
}

// Rename refuses to overwrite, as the committer needs, in one NameNode operation
// (rename2 without OVERWRITE), so two attempts of a partition committing at the
// same instant cannot both win.
func (h *hdfsFS) Rename(ctx context.Context, from, to string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return h.nn.rename(ctx, from, to)
}

func (h *hdfsFS) MkdirAll(ctx context.Context, p string, perm os.FileMode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return h.c.MkdirAll(p, perm)
}

func (h *hdfsFS) RemoveAll(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := h.c.RemoveAll(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Blocks asks the NameNode through Spindle's own IPC client: colinmarc/hdfs keeps
// block locations internal.
func (h *hdfsFS) Blocks(ctx context.Context, p string, start, length int64) ([]Block, error) {
	return h.nn.blocks(ctx, p, start, length)
}
