package hdfs

import (
	"context"
	"fmt"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/hdfs/pb"
	"github.com/spindle-engine/spindle/ipc"
)

// clientProtocol is the NameNode's RPC protocol name and version, as its
// @ProtocolInfo declares them (ClientNamenodeProtocolPB).
const (
	clientProtocol        = "org.apache.hadoop.hdfs.protocol.ClientProtocol"
	clientProtocolVersion = 1
)

// nameNode is the NameNode client for the calls colinmarc/hdfs does not expose.
type nameNode struct {
	c *ipc.Client
}

// newNameNode is a client of the NameNode cfg names, authenticating as the
// colinmarc/hdfs connection beside it does.
func newNameNode(cfg ipc.Config) (*nameNode, error) {
	c, err := ipc.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("NameNode %s: %w", cfg.Addr, err)
	}
	return &nameNode{c: c}, nil
}

// call is hdfs's RPC boundary towards the NameNode: the error names op and
// path, as the os package's do, and matches the os error of the NameNode's
// exception (see classes).
func (n *nameNode) call(ctx context.Context, op, path, method string, req, resp proto.Message) error {
	if err := n.c.Call(ctx, method, req, resp); err != nil {
		return pathError(op, path, err)
	}
	return nil
}

// pathError is err from a NameNode call about path, mapped (see classes).
func pathError(op, path string, err error) error {
	return &os.PathError{Op: op, Path: path, Err: mapRemote(err)}
}

func (n *nameNode) close() error { return n.c.Close() }

// rename moves from to to unless to exists (fs.ErrExist), atomically: the
// NameNode checks and renames in one operation, where colinmarc/hdfs's Rename
// overwrites.
func (n *nameNode) rename(ctx context.Context, from, to string) error {
	req := &pb.Rename2RequestProto{Src: proto.String(from), Dst: proto.String(to), OverwriteDest: proto.Bool(false)}
	if err := n.c.Call(ctx, "rename2", req, &pb.Rename2ResponseProto{}); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: mapRemote(err)}
	}
	return nil
}

// blocks asks the NameNode where the bytes [start, start+length) of a file are.
func (n *nameNode) blocks(ctx context.Context, path string, start, length int64) ([]Block, error) {
	req := &pb.GetBlockLocationsRequestProto{Src: proto.String(path), Offset: proto.Uint64(uint64(start)), Length: proto.Uint64(uint64(length))}
	resp := &pb.GetBlockLocationsResponseProto{}
	if err := n.call(ctx, "blocks", path, "getBlockLocations", req, resp); err != nil {
		return nil, err
	}
	var out []Block
	for _, b := range resp.GetLocations().GetBlocks() {
		blk := Block{Offset: int64(b.GetOffset()), Length: int64(b.GetB().GetNumBytes())}
		for _, dn := range b.GetLocs() {
			host := dn.GetId().GetHostName()
			if host == "" {
				host = dn.GetId().GetIpAddr()
			}
			blk.Hosts = append(blk.Hosts, host)
			blk.Names = append(blk.Names, xferAddr(dn))
		}
		out = append(out, blk)
	}
	return out, nil
}
