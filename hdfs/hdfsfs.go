package hdfs

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"sync"
	"time"

	hdfsclient "github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/hdfs/pb"
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
	// protection is dfs.data.transfer.protection, the SASL the writer speaks
	// to DataNodes ("" for none).
	protection string
	// aes says the client's configuration asks DataNodes for AES/CTR under
	// privacy (dfs.encrypt.data.transfer.cipher.suites).
	aes  bool
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// client names this filesystem's leases at the NameNode, as a DFSClient's
	// clientName does.
	client string

	mu       sync.Mutex
	defaults *pb.FsServerDefaultsProto // the NameNode's, once asked
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
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, errors.Join(err, c.Close(), nn.close())
	}
	return &hdfsFS{c: c, nn: nn, token: tok, protection: opts.Security.DataTransferProtection, aes: opts.Security.AESDataTransfer, dial: opts.Dial,
		client: "DFSClient_NONMAPREDUCE_spindle_" + hex.EncodeToString(id[:])}, nil
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

// Create writes with Spindle's writer, which recovers from failed DataNodes.
// ctx bounds the creation, as the FS contract has it (callers such as the event
// log pass a creation deadline); Write and Close, which take no context, are
// bounded by HDFS's timeouts (writer.go).
func (h *hdfsFS) Create(ctx context.Context, p string) (io.WriteCloser, error) {
	return h.create(ctx, p, CreateOptions{})
}

// CreateOptions choose a new HDFS file's layout; zero fields take the
// NameNode's defaults (dfs.blocksize, dfs.replication).
type CreateOptions struct {
	BlockSize   int64
	Replication int
}

// CreateFile creates the file p of fsys, an HDFS filesystem from
// FileSystems.Resolve, with o's block size and replication, and its parents;
// it fails if the file exists. ctx bounds the creation, as with Create.
func CreateFile(ctx context.Context, fsys FS, p string, o CreateOptions) (io.WriteCloser, error) {
	h, ok := fsys.(*hdfsFS)
	if !ok {
		return nil, fmt.Errorf("create %s: not an HDFS filesystem", p)
	}
	return h.create(ctx, p, o)
}

func (h *hdfsFS) create(ctx context.Context, p string, o CreateOptions) (io.WriteCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := h.c.MkdirAll(parent(p), 0o755); err != nil {
		return nil, err
	}
	d, err := h.serverDefaults(ctx)
	if err != nil {
		return nil, err
	}
	if d.GetEncryptDataTransfer() || h.protection == "integrity" || (h.protection == "privacy" && !h.aes) {
		// dfs.encrypt.data.transfer authenticates DataNode connections with the
		// NameNode's data encryption keys (getDataEncryptionKey), and integrity,
		// or privacy without AES/CTR (Hadoop's default cipher suites are none),
		// wraps every packet in DIGEST-MD5 (SaslOutputStream): Spindle's writer
		// does neither, colinmarc/hdfs's writer does (without pipeline
		// recovery). Authentication and privacy with AES/CTR are Spindle's.
		w, err := h.c.CreateFile(p, cmp.Or(o.Replication, int(d.GetReplication())), cmp.Or(o.BlockSize, int64(d.GetBlockSize())), 0o644)
		if err != nil {
			return nil, err
		}
		return &hdfsWriter{FileWriter: w}, nil
	}
	sum, err := newChecksum(d.GetChecksumType(), int(d.GetBytesPerChecksum()))
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", p, err)
	}
	blockSize := cmp.Or(o.BlockSize, int64(d.GetBlockSize()))
	req := &pb.CreateRequestProto{
		Src: proto.String(p), Masked: &pb.FsPermissionProto{Perm: proto.Uint32(0o644)},
		ClientName: proto.String(h.client), CreateFlag: proto.Uint32(createFlagCreate), CreateParent: proto.Bool(true),
		Replication: proto.Uint32(uint32(cmp.Or(o.Replication, int(d.GetReplication())))), BlockSize: proto.Uint64(uint64(blockSize)),
	}
	resp := &pb.CreateResponseProto{}
	if err := h.nn.call(ctx, "create", p, "create", req, resp); err != nil {
		return nil, err
	}
	if f := resp.GetFs().GetFlags(); f&(flagEncrypted|flagErasureCoded) != 0 {
		// Neither an encryption zone's nor a striped file's blocks are written
		// this way: remove the empty file rather than leave it.
		return nil, errors.Join(fmt.Errorf("create %s: encrypted or erasure-coded files are not supported (status flags %#x)", p, f), h.c.Remove(p))
	}
	cfg := writerConfig{nn: h.nn, dial: h.dial, client: h.client, sum: sum, protection: h.protection}
	return newFileWriter(context.WithoutCancel(ctx), cfg, p, resp.GetFs().GetFileId(), blockSize), nil
}

// createFlagCreate is CreateFlagProto.CREATE alone: the NameNode refuses to
// overwrite. flagEncrypted and flagErasureCoded are HdfsFileStatusProto.Flags.
const (
	createFlagCreate = 0x01
	flagEncrypted    = 0x02
	flagErasureCoded = 0x04
)

// serverDefaults are the NameNode's defaults (block size, replication,
// checksum), asked once.
func (h *hdfsFS) serverDefaults(ctx context.Context) (*pb.FsServerDefaultsProto, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.defaults != nil {
		return h.defaults, nil
	}
	resp := &pb.GetServerDefaultsResponseProto{}
	if err := h.nn.call(ctx, "server defaults", "/", "getServerDefaults", &pb.GetServerDefaultsRequestProto{}, resp); err != nil {
		return nil, err
	}
	h.defaults = resp.GetServerDefaults()
	return h.defaults, nil
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
