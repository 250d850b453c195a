// Package hdfs is the filesystem the engine sees: local files and HDFS behind one
// small interface, input splits with block locations, line reading across split
// boundaries, and the output committer.
//
// FileSystems resolves paths to filesystems and owns the NameNode clients it opens
// for them; the caller closes it. On a Kerberized cluster they authenticate with
// the HDFS delegation token of each NameNode, else a Kerberos login (see
// security.go and docs/kerberos.md), and FileSystems obtains, renews and cancels
// delegation tokens.
//
// HDFS files are read through colinmarc/hdfs and written by this package's own
// writer (writer.go, docs/hdfs-writes.md), which, as Hadoop's DFSOutputStream,
// routes around a DataNode that fails while a block is written, with SASL to
// DataNodes for dfs.data.transfer.protection authentication or privacy
// (AES/CTR); with integrity or dfs.encrypt.data.transfer, colinmarc/hdfs's
// writer still writes, without that recovery.
//
// Errors follow the os package: errors.Is(err, fs.ErrNotExist) and fs.ErrExist work
// whatever the filesystem, as in colinmarc/hdfs; the NameNode's Java exceptions on
// this package's own calls are mapped in error.go.
package hdfs

import (
	"context"
	"io"
	"net"
	"os"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"

	"github.com/spindle-engine/spindle/ipc"
)

// FileInfo describes a file or directory.
type FileInfo struct {
	Path      string
	Size      int64
	ModTime   time.Time
	IsDir     bool
	BlockSize int64
}

// Block is a range of a file and the hosts that hold it.
type Block struct {
	Offset, Length int64
	Hosts          []string
	// Names are the DataNodes' transfer addresses (ip:port), as Hadoop's
	// BlockLocation.getNames: on one host, they tell DataNodes apart. Empty
	// for local files.
	Names []string
}

// File is an open file for reading.
type File interface {
	io.ReadCloser
	io.Seeker
}

// FS is a filesystem the engine reads input from and writes output to.
type FS interface {
	Open(ctx context.Context, path string) (File, error)
	// Create creates a file and its parents; it fails if the file exists.
	Create(ctx context.Context, path string) (io.WriteCloser, error)
	Stat(ctx context.Context, path string) (FileInfo, error)
	List(ctx context.Context, dir string) ([]FileInfo, error)
	// Rename fails with fs.ErrExist if to exists: it never overwrites, which is what
	// makes "first committer wins" safe.
	Rename(ctx context.Context, from, to string) error
	MkdirAll(ctx context.Context, path string, perm os.FileMode) error
	RemoveAll(ctx context.Context, path string) error
	// Blocks reports where the bytes [start, start+length) of a file are stored.
	Blocks(ctx context.Context, path string, start, length int64) ([]Block, error)
}

// Options tell FileSystems how to reach HDFS.
type Options struct {
	DefaultFS string // fs.defaultFS, the NameNode of hdfs:///p paths (paths without a scheme stay local)
	User      string // the HDFS user for SIMPLE authentication
	// Security is the cluster's (SecurityFrom); zero for an open cluster.
	Security Security
	// Kerberos, a logged-in client (the submitting user's), authenticates to
	// NameNodes for which no delegation token is held.
	Kerberos *client.Client
	// Tokens are HDFS delegation tokens (from the container's credentials): a
	// NameNode connection authenticates with the one whose service names that
	// NameNode. FileSystems.SetTokens replaces them.
	Tokens []*ipc.Token
	// Dial, when set, opens every connection, to NameNodes and DataNodes alike: a
	// proxy's, or a test's tap on the wire.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}
