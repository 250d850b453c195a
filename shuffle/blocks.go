package shuffle

import (
	"context"
	"fmt"
	"io"

	"github.com/spindle-engine/spindle/shuffle/pb"
)

// BlockID names one reduce partition's segment of one map output.
type BlockID struct {
	Shuffle, Map, Reduce int
}

func (b BlockID) String() string {
	return fmt.Sprintf("shuffle %d map %d reduce %d", b.Shuffle, b.Map, b.Reduce)
}

// BlockStream reads the segments of one OpenBlocks call in the order asked for.
// It is not safe for concurrent use.
type BlockStream struct {
	blocks []BlockID
	addr   string
	r      *chunkReader
	cur    int // index of the segment Next returned last; -1 before the first
}

// OpenBlocks streams many segments of executorID's map outputs at addr in one call
// (it needs a service of this version: older ones knew only Open's form). Read them
// with Next. As with Open, the call and its first chunk are retried on connection
// failures, and a missing or corrupt first segment fails here.
func (f *Fetcher) OpenBlocks(ctx context.Context, addr, executorID string, blocks []BlockID) (*BlockStream, error) {
	if len(blocks) == 0 {
		return nil, fmt.Errorf("fetch from %s: no blocks", addr)
	}
	req := &pb.FetchRequest{AppId: f.app, ExecutorId: executorID}
	for _, b := range blocks {
		req.Blocks = append(req.Blocks, &pb.BlockId{ShuffleId: int32(b.Shuffle), MapId: int32(b.Map), ReduceId: int32(b.Reduce)})
	}
	s := &BlockStream{blocks: blocks, addr: addr, cur: -1}
	wrap := func(err error) error {
		// A failure belongs to the segment after the last one that completed.
		i := 0
		if s.r != nil && s.r.started {
			i = int(s.r.block)
			if s.r.last {
				i++
			}
		}
		b := blocks[min(i, len(blocks)-1)]
		return f.fetchErr(addr, b.Shuffle, b.Map, b.Reduce, err)
	}
	r, err := f.open(ctx, addr, req, wrap)
	if err != nil {
		return nil, err
	}
	s.r = r
	return s, nil
}

// Next skips what is left of the current segment and returns the next one: its id,
// its length and a reader of its bytes (as on disk; read them with
// NewSegmentReader), valid until the following Next or Close. After the last
// segment it returns io.EOF; a segment the service does not have is an error
// wrapping ErrMissingOutput, a corrupt one ErrCorrupt.
func (s *BlockStream) Next() (BlockID, int64, io.Reader, error) {
	if s.cur >= 0 {
		// Drain the rest of the current segment.
		for !s.r.last {
			if err := s.r.next(); err != nil {
				return BlockID{}, 0, nil, err
			}
		}
		if s.cur+1 >= len(s.blocks) {
			return BlockID{}, 0, nil, io.EOF
		}
		if err := s.r.next(); err != nil {
			return BlockID{}, 0, nil, err
		}
	}
	s.cur++
	if int(s.r.block) != s.cur {
		return BlockID{}, 0, nil, s.r.wrap(fmt.Errorf("the service sent block %d where block %d was due", s.r.block, s.cur))
	}
	return s.blocks[s.cur], s.r.size, blockReader{s.r}, nil
}

// blockReader reads one segment's chunks, stopping at its last.
type blockReader struct{ r *chunkReader }

func (sr blockReader) Read(p []byte) (int, error) { return sr.r.Read(p) }

// Close ends the stream.
func (s *BlockStream) Close() error { return s.r.Close() }
