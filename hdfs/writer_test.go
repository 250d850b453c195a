package hdfs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/hdfs/pb"
	"github.com/spindle-engine/spindle/ipc"
	ipcpb "github.com/spindle-engine/spindle/ipc/pb"
)

// The writer's recovery, against a fake NameNode and fake DataNodes over
// net.Pipe that check what Hadoop's would: block and generation stamp, stage,
// minBytesRcvd, packet offsets and sequence numbers, checksums. The real thing
// is integration/faults/hdfswrite_test.go.

// fakeDN is one fake DataNode and the replicas it holds.
type fakeDN struct {
	addr     string
	down     bool
	dieAfter int // packets it takes before it fails; 0: never
	got      int
	replicas map[uint64][]byte
	final    map[uint64]bool
}

// fakeHDFS is a fake NameNode (nnCaller) and its DataNodes (dial).
type fakeHDFS struct {
	t           *testing.T
	replication int
	mu          sync.Mutex
	dns         []*fakeDN
	gs          map[uint64]uint64   // block id -> generation stamp
	nodes       map[uint64][]string // block id -> pipeline the NameNode knows
	order       []uint64
	last        *pb.ExtendedBlockProto // of the last block, as addBlock/complete name it
	abandons    int
	updates     int
	heartbeats  int
	renewals    int
	completes   int
	completed   *pb.ExtendedBlockProto
	errs        []error
	wg          sync.WaitGroup
}

func newFakeHDFS(t *testing.T, dataNodes, replication int) *fakeHDFS {
	f := &fakeHDFS{t: t, replication: replication, gs: map[uint64]uint64{}, nodes: map[uint64][]string{}}
	for i := range dataNodes {
		f.dns = append(f.dns, &fakeDN{addr: "10.0.0." + strconv.Itoa(i+1) + ":9866", replicas: map[uint64][]byte{}, final: map[uint64]bool{}})
	}
	t.Cleanup(func() {
		f.wg.Wait()
		for _, err := range f.errs {
			t.Error(err)
		}
	})
	return f
}

func (f *fakeHDFS) dn(addr string) *fakeDN {
	for _, d := range f.dns {
		if d.addr == addr {
			return d
		}
	}
	return nil
}

// protocol records a protocol violation; the test fails with it.
func (f *fakeHDFS) protocol(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	f.errs = append(f.errs, err)
	return err
}

func dnInfo(addr string) *pb.DatanodeInfoProto {
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	return &pb.DatanodeInfoProto{Id: &pb.DatanodeIDProto{IpAddr: proto.String(host), HostName: proto.String("dn-" + host),
		DatanodeUuid: proto.String("uuid-" + host), XferPort: proto.Uint32(uint32(p))}}
}

func (f *fakeHDFS) locatedBlock(id uint64, nodes []string) *pb.LocatedBlockProto {
	lb := &pb.LocatedBlockProto{B: &pb.ExtendedBlockProto{PoolId: proto.String("BP-test"), BlockId: proto.Uint64(id), GenerationStamp: proto.Uint64(f.gs[id]), NumBytes: proto.Uint64(0)},
		BlockToken: &ipcpb.TokenProto{Identifier: []byte("id"), Password: []byte("pw"), Kind: proto.String("HDFS_BLOCK_TOKEN"), Service: proto.String("")}}
	for _, n := range nodes {
		lb.Locs = append(lb.Locs, dnInfo(n))
		lb.StorageIDs = append(lb.StorageIDs, "DS-"+n)
	}
	return lb
}

func sameBlock(a, b *pb.ExtendedBlockProto) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.GetBlockId() == b.GetBlockId() && a.GetGenerationStamp() == b.GetGenerationStamp() && a.GetNumBytes() == b.GetNumBytes()
}

func (f *fakeHDFS) call(_ context.Context, _, path, method string, req, resp proto.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch method {
	case "addBlock":
		r := req.(*pb.AddBlockRequestProto)
		if !sameBlock(r.GetPrevious(), f.last) {
			return f.protocol("addBlock previous %v, want %v", r.GetPrevious(), f.last)
		}
		var nodes []string
		for _, d := range f.dns {
			if len(nodes) < f.replication && !slices.ContainsFunc(r.GetExcludeNodes(), func(n *pb.DatanodeInfoProto) bool { return xferAddr(n) == d.addr }) {
				nodes = append(nodes, d.addr)
			}
		}
		if len(nodes) == 0 {
			return &ipc.RemoteError{Class: "java.io.IOException", Message: "File " + path + " could only be written to 0 of the 1 minReplication nodes"}
		}
		id := uint64(1073741825 + len(f.order))
		f.order = append(f.order, id)
		f.gs[id] = 1001
		f.nodes[id] = nodes
		resp.(*pb.AddBlockResponseProto).Block = f.locatedBlock(id, nodes)
	case "abandonBlock":
		r := req.(*pb.AbandonBlockRequestProto)
		id := r.GetB().GetBlockId()
		if len(f.order) == 0 || f.order[len(f.order)-1] != id {
			return f.protocol("abandonBlock of %d, not the last block", id)
		}
		f.order = f.order[:len(f.order)-1]
		f.abandons++
	case "updateBlockForPipeline":
		r := req.(*pb.UpdateBlockForPipelineRequestProto)
		id := r.GetBlock().GetBlockId()
		if r.GetBlock().GetGenerationStamp() != f.gs[id] {
			return f.protocol("updateBlockForPipeline with stamp %d, NameNode has %d", r.GetBlock().GetGenerationStamp(), f.gs[id])
		}
		lb := f.locatedBlock(id, nil)
		lb.B.GenerationStamp = proto.Uint64(f.gs[id] + 100 + uint64(f.updates)) // a fresh one each time
		resp.(*pb.UpdateBlockForPipelineResponseProto).Block = lb
	case "updatePipeline":
		r := req.(*pb.UpdatePipelineRequestProto)
		id := r.GetOldBlock().GetBlockId()
		if r.GetOldBlock().GetGenerationStamp() != f.gs[id] || r.GetNewBlock().GetGenerationStamp() <= f.gs[id] {
			return f.protocol("updatePipeline from stamp %d to %d, NameNode has %d", r.GetOldBlock().GetGenerationStamp(), r.GetNewBlock().GetGenerationStamp(), f.gs[id])
		}
		if len(r.GetStorageIDs()) != len(r.GetNewNodes()) {
			return f.protocol("updatePipeline with %d storages for %d nodes", len(r.GetStorageIDs()), len(r.GetNewNodes()))
		}
		var nodes []string
		for _, n := range r.GetNewNodes() {
			nodes = append(nodes, xferAddr(&pb.DatanodeInfoProto{Id: n}))
		}
		f.gs[id] = r.GetNewBlock().GetGenerationStamp()
		f.nodes[id] = nodes
		f.updates++
	case "complete":
		r := req.(*pb.CompleteRequestProto)
		f.completes++
		f.completed = r.GetLast()
		// The first answer is "not yet", as while the last block's replicas are
		// still being reported.
		resp.(*pb.CompleteResponseProto).Result = proto.Bool(f.completes > 1)
	case "renewLease":
		if c := req.(*pb.RenewLeaseRequestProto).GetClientName(); c != "DFSClient_test" {
			return f.protocol("renewLease of %q", c)
		}
		f.renewals++
	default:
		return f.protocol("unexpected NameNode call %s", method)
	}
	return nil
}

// finish records the block a finished pipeline closed, for the next addBlock.
// A close recovery finalizes the block at gs before the NameNode learns it.
func (f *fakeHDFS) finish(id, gs uint64, n int64) {
	f.last = &pb.ExtendedBlockProto{PoolId: proto.String("BP-test"), BlockId: proto.Uint64(id), GenerationStamp: proto.Uint64(gs), NumBytes: proto.Uint64(uint64(n))}
}

func (f *fakeHDFS) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	f.mu.Lock()
	d := f.dn(addr)
	down := d == nil || d.down
	f.mu.Unlock()
	if down {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
	}
	client, server := net.Pipe()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer server.Close()
		f.serve(d, server)
	}()
	return client, nil
}

// serve is the pipeline whose first DataNode is first, as one fake: each
// DataNode of it stores each packet, or fails when its dieAfter is reached.
func (f *fakeHDFS) serve(first *fakeDN, conn net.Conn) {
	br := bufio.NewReader(conn)
	var head [3]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return
	}
	f.mu.Lock()
	if head != [3]byte{0, 28, 80} {
		f.protocol("request starts %x, want 001c50", head)
		f.mu.Unlock()
		return
	}
	f.mu.Unlock()
	op := &pb.OpWriteBlockProto{}
	if err := readDelimited(br, op); err != nil {
		return
	}
	reply := func(m proto.Message) bool {
		b, _ := proto.Marshal(m)
		_, err := conn.Write(append(binary.AppendUvarint(nil, uint64(len(b))), b...))
		return err == nil
	}
	f.mu.Lock()
	pipe := []*fakeDN{first}
	for _, tgt := range op.GetTargets() {
		pipe = append(pipe, f.dn(xferAddr(tgt)))
	}
	blk := op.GetHeader().GetBaseHeader().GetBlock()
	id := blk.GetBlockId()
	stage := op.GetStage()
	if blk.GetGenerationStamp() != f.gs[id] {
		f.protocol("WRITE_BLOCK of stamp %d, NameNode has %d", blk.GetGenerationStamp(), f.gs[id])
	}
	if int(op.GetPipelineSize()) != len(pipe) || op.GetHeader().GetBaseHeader().GetToken() == nil {
		f.protocol("WRITE_BLOCK pipeline size %d for %d DataNodes, token %v", op.GetPipelineSize(), len(pipe), op.GetHeader().GetBaseHeader().GetToken())
	}
	for _, d := range pipe[1:] {
		if d == nil || d.down {
			addr := ""
			if d != nil {
				addr = d.addr
			}
			f.mu.Unlock()
			reply(&pb.BlockOpResponseProto{Status: pb.Status_ERROR.Enum(), FirstBadLink: proto.String(addr)})
			return
		}
	}
	minB := int(op.GetMinBytesRcvd())
	switch stage {
	case pb.OpWriteBlockProto_PIPELINE_SETUP_CREATE:
		for _, d := range pipe {
			d.replicas[id] = []byte{}
		}
	case pb.OpWriteBlockProto_PIPELINE_SETUP_STREAMING_RECOVERY, pb.OpWriteBlockProto_PIPELINE_CLOSE_RECOVERY:
		if op.GetLatestGenerationStamp() <= blk.GetGenerationStamp() {
			f.protocol("recovery to stamp %d from %d", op.GetLatestGenerationStamp(), blk.GetGenerationStamp())
		}
		for _, d := range pipe {
			r, ok := d.replicas[id]
			if !ok || len(r) < minB || minB > int(op.GetMaxBytesRcvd()) {
				f.protocol("recovery of %s at %s: replica of %d bytes, minBytesRcvd %d, maxBytesRcvd %d", blockName(blk), d.addr, len(r), minB, op.GetMaxBytesRcvd())
			}
			if stage == pb.OpWriteBlockProto_PIPELINE_CLOSE_RECOVERY {
				d.replicas[id] = r[:min(len(r), minB)]
				d.final[id] = true
			}
		}
		if stage == pb.OpWriteBlockProto_PIPELINE_CLOSE_RECOVERY {
			f.finish(id, op.GetLatestGenerationStamp(), int64(minB))
		}
	default:
		f.protocol("stage %v", stage)
	}
	f.mu.Unlock()
	if !reply(&pb.BlockOpResponseProto{Status: pb.Status_SUCCESS.Enum()}) || stage == pb.OpWriteBlockProto_PIPELINE_CLOSE_RECOVERY {
		return
	}
	// Acks go out from their own goroutine, as a DataNode's PacketResponder
	// sends them: packets keep coming meanwhile, so many are unacknowledged
	// when a DataNode fails, and all of them must be sent again.
	acks := make(chan *pb.PipelineAckProto, 1024)
	ackerDone := make(chan struct{})
	go func() {
		defer close(ackerDone)
		for a := range acks {
			if !reply(a) {
				return
			}
		}
	}()
	defer func() { close(acks); <-ackerDone }()
	for {
		var lens [6]byte
		if _, err := io.ReadFull(br, lens[:]); err != nil {
			return
		}
		payload := int(binary.BigEndian.Uint32(lens[:]))
		hdr := make([]byte, binary.BigEndian.Uint16(lens[4:]))
		if _, err := io.ReadFull(br, hdr); err != nil {
			return
		}
		body := make([]byte, payload-4)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		h := &pb.PacketHeaderProto{}
		f.mu.Lock()
		if err := proto.Unmarshal(hdr, h); err != nil {
			f.protocol("packet header: %v", err)
			f.mu.Unlock()
			return
		}
		data := body[len(body)-int(h.GetDataLen()):]
		sums := body[:len(body)-len(data)]
		for i, off := 0, 0; off < len(data); i, off = i+1, off+512 {
			if crc32.Checksum(data[off:min(off+512, len(data))], castagnoli) != binary.BigEndian.Uint32(sums[4*i:]) {
				f.protocol("packet %d: checksum of chunk %d", h.GetSeqno(), i)
			}
		}
		ack := &pb.PipelineAckProto{Seqno: proto.Int64(h.GetSeqno())}
		if h.GetSeqno() == heartbeatSeqno {
			f.heartbeats++
		}
		died := -1
		for i, d := range pipe {
			if h.GetSeqno() == heartbeatSeqno {
				ack.Reply = append(ack.Reply, pb.Status_SUCCESS)
				continue
			}
			d.got++
			if d.dieAfter > 0 && d.got > d.dieAfter {
				d.down, died = true, i
				break
			}
			r := d.replicas[id]
			off := int(h.GetOffsetInBlock())
			if off > len(r) {
				f.protocol("packet %d at offset %d of %s, %s has %d bytes", h.GetSeqno(), off, blockName(blk), d.addr, len(r))
			} else {
				d.replicas[id] = append(r[:off:off], data...)
			}
			if h.GetLastPacketInBlock() {
				if len(data) != 0 {
					f.protocol("end-of-block packet with %d bytes", len(data))
				}
				d.final[id] = true
			}
			ack.Reply = append(ack.Reply, pb.Status_SUCCESS)
		}
		if died == 0 {
			f.mu.Unlock()
			conn.Close() // the first DataNode is gone: the connection breaks
			return
		}
		if died > 0 {
			ack.Reply = append(ack.Reply, pb.Status_ERROR) // its upstream reports the lost link
		}
		for _, r := range ack.Reply {
			ack.Flag = append(ack.Flag, uint32(r))
		}
		if h.GetLastPacketInBlock() && died < 0 {
			f.finish(id, f.gs[id], h.GetOffsetInBlock())
		}
		f.mu.Unlock()
		acks <- ack
		if died > 0 || h.GetLastPacketInBlock() {
			return
		}
	}
}

// TestWriterRecovery writes files of several blocks while fake DataNodes fail
// at setup, mid-block and at the block's end, and checks what the DataNodes
// hold, what the NameNode was told, and the errors when nothing is left.
func TestWriterRecovery(t *testing.T) {
	const blockSize = 400 * 512 // 4 packets: 3 full, one of 11264 bytes
	tests := []struct {
		name        string
		dataNodes   int
		replication int
		setup       func(dns []*fakeDN)
		want        [][]int // per block, the DataNodes holding it
		abandons    int
		updates     int
		failAt      int // index of the DataNode the error names, or -1 for success
	}{
		{"clean", 3, 3, func([]*fakeDN) {}, [][]int{{0, 1, 2}, {0, 1, 2}, {0, 1, 2}}, 0, 0, -1},
		{"middle DataNode fails mid-block", 3, 3, func(d []*fakeDN) { d[1].dieAfter = 2 }, [][]int{{0, 2}, {0, 2}, {0, 2}}, 0, 1, -1},
		{"last DataNode fails mid-block", 3, 3, func(d []*fakeDN) { d[2].dieAfter = 6 }, [][]int{{0, 1, 2}, {0, 1}, {0, 1}}, 0, 1, -1},
		{"first DataNode fails mid-block", 3, 3, func(d []*fakeDN) { d[0].dieAfter = 2 }, [][]int{{1, 2}, {1, 2}, {1, 2}}, 0, 1, -1},
		{"DataNode fails at the end of a block", 3, 3, func(d []*fakeDN) { d[1].dieAfter = 4 }, [][]int{{0, 2}, {0, 2}, {0, 2}}, 0, 1, -1},
		{"first DataNode fails while packets are sent again", 3, 3, func(d []*fakeDN) { d[1].dieAfter, d[0].dieAfter = 2, 4 }, [][]int{{2}, {2}, {2}}, 0, 2, -1},
		{"two DataNodes fail", 3, 3, func(d []*fakeDN) { d[1].dieAfter, d[2].dieAfter = 1, 2 }, [][]int{{0}, {0}, {0}}, 0, 2, -1},
		{"DataNode down before the write", 3, 3, func(d []*fakeDN) { d[1].down = true }, [][]int{{0, 2}, {0, 2}, {0, 2}}, 1, 0, -1},
		{"first DataNode down before the write", 3, 3, func(d []*fakeDN) { d[0].down = true }, [][]int{{1, 2}, {1, 2}, {1, 2}}, 1, 0, -1},
		{"spare DataNode after one down", 4, 2, func(d []*fakeDN) { d[0].down = true }, [][]int{{1, 2}, {1, 2}, {1, 2}}, 1, 0, -1},
		{"the only DataNode fails", 1, 1, func(d []*fakeDN) { d[0].dieAfter = 2 }, nil, 0, 0, 0},
		{"every DataNode down", 2, 2, func(d []*fakeDN) { d[0].down, d[1].down = true, true }, nil, 2, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeHDFS(t, tt.dataNodes, tt.replication)
			tt.setup(f.dns)
			data := make([]byte, 2*blockSize+70000)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			w := newTestWriter(t, f, blockSize)
			// Writes of odd sizes cross packet and block boundaries.
			var werr error
			for rest := data; len(rest) > 0 && werr == nil; {
				n := min(len(rest), 10007)
				_, werr = w.Write(rest[:n])
				rest = rest[n:]
			}
			cerr := w.Close()
			if tt.failAt >= 0 {
				err := errors.Join(werr, cerr)
				var de *DataNodeError
				if !errors.As(err, &de) || de.Path != "/out/part-0" || de.DataNode != f.dns[tt.failAt].addr || de.Block == "" {
					t.Fatalf("error %v (%#v), want a DataNodeError of /out/part-0 at %s", err, de, f.dns[tt.failAt].addr)
				}
				return
			}
			if werr != nil || cerr != nil {
				t.Fatalf("write: %v, close: %v", werr, cerr)
			}
			f.wg.Wait()
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.abandons != tt.abandons || f.updates != tt.updates {
				t.Errorf("%d abandonBlock, %d updatePipeline; want %d, %d", f.abandons, f.updates, tt.abandons, tt.updates)
			}
			if len(f.order) != len(tt.want) {
				t.Fatalf("%d blocks, want %d", len(f.order), len(tt.want))
			}
			var whole []byte
			for i, id := range f.order {
				var holders []int
				for j, d := range f.dns {
					if d.final[id] {
						holders = append(holders, j)
					}
				}
				if !slices.Equal(holders, tt.want[i]) {
					t.Errorf("block %d finalized on DataNodes %v, want %v", i, holders, tt.want[i])
				}
				var nnNodes []string
				for _, j := range tt.want[i] {
					nnNodes = append(nnNodes, f.dns[j].addr)
				}
				if !slices.Equal(f.nodes[id], nnNodes) {
					t.Errorf("block %d: NameNode's pipeline %v, want %v", i, f.nodes[id], nnNodes)
				}
				blk := f.dns[tt.want[i][0]].replicas[id]
				for _, j := range tt.want[i][1:] {
					if !bytes.Equal(f.dns[j].replicas[id], blk) {
						t.Errorf("block %d differs between DataNodes %d and %d", i, tt.want[i][0], j)
					}
				}
				whole = append(whole, blk...)
			}
			if !bytes.Equal(whole, data) {
				t.Errorf("the blocks hold %d bytes, not the %d written", len(whole), len(data))
			}
			if !sameBlock(f.completed, f.last) || f.completes != 2 {
				t.Errorf("complete with %v (%d calls), want %v, asked again once", f.completed, f.completes, f.last)
			}
		})
	}
}

func newTestWriter(t *testing.T, f *fakeHDFS, blockSize int64) *fileWriter {
	t.Helper()
	sum, err := newChecksum(pb.ChecksumTypeProto_CHECKSUM_CRC32C, 512)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writerConfig{nn: f, dial: f.dial, client: "DFSClient_test", sum: sum}
	return newFileWriter(context.Background(), cfg, "/out/part-0", 16386, blockSize)
}

// TestWriterHeartbeat: a writer with nothing to send keeps its pipeline alive
// with heartbeat packets, which the DataNodes acknowledge, and renews its lease.
func TestWriterHeartbeat(t *testing.T) {
	f := newFakeHDFS(t, 3, 3)
	w := newTestWriter(t, f, 1<<20)
	w.cfg.heartbeat, w.cfg.renew, w.cfg.tick = 20*time.Millisecond, 20*time.Millisecond, 5*time.Millisecond
	if _, err := w.Write(make([]byte, w.cfg.sum.packetData(writePacketSize))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		f.mu.Lock()
		n, r := f.heartbeats, f.renewals
		f.mu.Unlock()
		if n >= 2 && r >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d heartbeats and %d lease renewals in 30 s of idling", n, r)
		}
		time.Sleep(5 * time.Millisecond) // polling the fake's counter
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWriterCancel: cancelling the write's context ends it with ctx's error,
// even while it waits for acks.
func TestWriterCancel(t *testing.T) {
	f := newFakeHDFS(t, 3, 3)
	w := newTestWriter(t, f, 1<<20)
	ctx, cancel := context.WithCancel(context.Background())
	w.ctx = ctx
	if _, err := w.Write(make([]byte, 100000)); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, werr := w.Write(make([]byte, 100000))
	err := errors.Join(werr, w.Close())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

// TestResendKeepsEveryPacket: when the connection breaks while a recovery sends
// the unacknowledged packets again, all of them stay queued for the next
// recovery, those not yet written included.
func TestResendKeepsEveryPacket(t *testing.T) {
	f := newFakeHDFS(t, 1, 1)
	w := newTestWriter(t, f, 1<<20)
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The DataNode takes the first packet, then fails.
		b := make([]byte, 100)
		io.ReadFull(server, b)
		server.Close()
	}()
	p := w.startPipeline(client, bufio.NewReader(client), time.Minute)
	var pkts []*packet
	for i := range 4 {
		wire, err := encodePacket(packetHeader{offset: int64(i) * 100, seqno: int64(i)}, make([]byte, 100), w.cfg.sum)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, &packet{seqno: int64(i), end: int64(i+1) * 100, wire: wire})
	}
	p.resend(pkts)
	<-done
	p.close()
	unacked, acked, _, cause := p.result()
	if cause == nil || acked != 0 || len(unacked) != len(pkts) {
		t.Fatalf("after a failed resend: %d packets queued, %d bytes acked, failure %v; want all %d queued and a failure", len(unacked), acked, cause, len(pkts))
	}
	for i, pkt := range unacked {
		if pkt != pkts[i] {
			t.Fatalf("queued packet %d is %d", i, pkt.seqno)
		}
	}
}
