package shuffle

import (
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/spindle-engine/spindle/shuffle/pb"
)

// chunkSize bounds the data of one streamed message. Each Fetch holds one buffer of
// this size, whatever the size of its segments: the service never holds a whole
// segment, and gRPC's flow control stops Send while the reader is behind.
const chunkSize = 1 << 20

// Window sizes of the service's HTTP/2 connections. gRPC's defaults (64 KiB
// windows, grown by its bandwidth estimate) stall a fast reader for a round trip
// every few chunks; a fixed window of a few chunks keeps the pipe full while still
// bounding what a slow reader leaves buffered at the service (per stream and per
// connection).
const (
	streamWindow = 8 * chunkSize
	connWindow   = 32 * chunkSize
)

func (s *Service) serverOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.StatsHandler(&s.stats),
		grpc.ForceServerCodecV2(serverCodec{}),
		grpc.InitialWindowSize(streamWindow),
		grpc.InitialConnWindowSize(connWindow),
		grpc.WriteBufferSize(1 << 20), // fewer, larger writes: a frame is at most 16 KiB
		grpc.ReadBufferSize(64 << 10),
	}
}

// Fetch streams the requested segments in order, each in chunks of at most 1 MiB.
func (s *Service) Fetch(req *pb.FetchRequest, stream pb.ShuffleService_FetchServer) error {
	if err := callerApp(stream.Context(), req.AppId); err != nil {
		return err
	}
	e, ok := s.reg.Executor(req.AppId, req.ExecutorId)
	if !ok {
		return status.Errorf(codes.NotFound, "shuffle service: executor %s of %s is not registered", req.ExecutorId, req.AppId)
	}
	blocks := req.Blocks
	if len(blocks) == 0 {
		for _, r := range req.ReduceIds {
			blocks = append(blocks, &pb.BlockId{ShuffleId: req.ShuffleId, MapId: req.MapId, ReduceId: r})
		}
	}
	for i, b := range blocks {
		if err := s.sendSegment(stream, e.Dirs, req.AppId, i, b); err != nil {
			return err
		}
	}
	return nil
}

// sendSegment streams one segment, each chunk in a buffer of chunkBufs that the
// transport owns from SendMsg on (see serverCodec).
func (s *Service) sendSegment(stream pb.ShuffleService_FetchServer, dirs []string, app string, index int, b *pb.BlockId) error {
	shuffleID, mapID, reduceID := int(b.ShuffleId), int(b.MapId), int(b.ReduceId)
	where := fmt.Sprintf("shuffle %d map %d reduce %d of %s (block %d of the request)", shuffleID, mapID, reduceID, app, index)
	rc, size, err := OpenSegment(dirs, shuffleID, mapID, reduceID)
	switch {
	case errors.Is(err, ErrMissingOutput):
		return status.Errorf(codes.NotFound, "%s: %v", where, err)
	case errors.Is(err, ErrCorrupt):
		return status.Errorf(codes.DataLoss, "%s: %v", where, err)
	case err != nil:
		return status.Errorf(codes.Internal, "%s: %v", where, err)
	}
	defer rc.Close()
	for remaining, first := size, true; ; first = false {
		n := int(min(chunkSize, remaining))
		bp := chunkBufs.Get(n)
		if _, err := io.ReadFull(rc, *bp); err != nil {
			chunkBufs.Put(bp)
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				// The data file is shorter than its index says.
				return status.Errorf(codes.DataLoss, "%s: truncated data file: %v", where, err)
			}
			return status.Errorf(codes.Internal, "read %s: %v", where, err)
		}
		remaining -= int64(n)
		c := &outChunk{reduceID: int32(reduceID), block: int32(index), last: remaining == 0, data: mem.NewBuffer(bp, chunkBufs)}
		if first {
			c.size = size
		}
		if err := stream.SendMsg(c); err != nil {
			return err
		}
		s.stats.bytes.Add(int64(n))
		if c.last {
			s.stats.blocks.Add(1)
			return nil
		}
	}
}
