package hdfs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/spindle-engine/spindle/hdfs/pb"
	"github.com/spindle-engine/spindle/ipc"
	ipcpb "github.com/spindle-engine/spindle/ipc/pb"
)

// Spindle's HDFS file writer, with the pipeline recovery of Hadoop's
// DFSOutputStream and DataStreamer (colinmarc/hdfs's writer gives up when a
// DataNode of the pipeline fails):
//
//   - a new block's pipeline that cannot be set up (a DataNode down, or the one
//     BlockOpResponseProto.firstBadLink names) is abandoned, that DataNode is
//     excluded, and the NameNode is asked for another block, up to
//     dfs.client.block.write.retries (3) more times;
//   - a DataNode that fails mid-block (an ack's status, or the connection to the
//     first one) is dropped: the NameNode gives the block a new generation stamp
//     (updateBlockForPipeline), the remaining DataNodes are reconnected with
//     PIPELINE_SETUP_STREAMING_RECOVERY, every unacknowledged packet is sent again,
//     and the NameNode learns the new pipeline (updatePipeline). A failure while
//     the block is being closed recovers with PIPELINE_CLOSE_RECOVERY, which
//     finalizes the block at once.
//
// No DataNode replaces a failed one (getAdditionalDatanode and a TRANSFER_RBW):
// ReplaceDatanodeOnFailure's DEFAULT policy asks for one only with replication 3
// or more and at most half the DataNodes left (or after an hflush, which this
// writer has not). The writer then goes on with those left, as the policy's
// best-effort mode does, and the NameNode re-replicates the block once the file
// is closed.

// Defaults of Hadoop's hdfs-default.xml the writer follows.
const (
	writePacketSize  = 64 << 10 // dfs.client-write-packet-size
	maxUnacked       = 80       // DataStreamer's window: dfs.client.write.max-packets-in-flight
	blockWriteRetry  = 3        // dfs.client.block.write.retries
	socketTimeout    = 60 * time.Second
	writeTimeout     = 8 * time.Minute // dfs.datanode.socket.write.timeout
	timeoutPerNode   = 5 * time.Second // HdfsConstants.READ_TIMEOUT_EXTENSION
	heartbeatEvery   = socketTimeout / 2
	leaseRenewEvery  = 30 * time.Second // LeaseRenewer: half the soft limit
	maxRecoveries    = 5                // recoveries of one block without progress
	addBlockAttempts = 6                // dfs.client.block.write.locateFollowingBlock.retries + 1
	addBlockDelay    = 400 * time.Millisecond
)

// notReplicatedYet is the NameNode's answer to addBlock while the previous block
// has too few replicas reported: DFSOutputStream.addBlock retries it.
const notReplicatedYet = "org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException"

// DataNodeError is a write to an HDFS file that failed at a DataNode: its
// pipeline could not be set up or broke, and no recovery succeeded. Path, Block
// and DataNode (ip:port) say where.
type DataNodeError struct {
	Path     string
	Block    string // pool:blk_id_genstamp
	DataNode string // "" when no DataNode was left to try
	Err      error
}

// Error names the file, the block and the DataNode.
func (e *DataNodeError) Error() string {
	dn := e.DataNode
	if dn == "" {
		dn = "no DataNode"
	}
	return fmt.Sprintf("hdfs: write %s: block %s at %s: %v", e.Path, e.Block, dn, e.Err)
}

func (e *DataNodeError) Unwrap() error { return e.Err }

// ackStatusError is a DataNode's failure status in an ack or a setup response.
type ackStatusError struct {
	status  pb.Status
	message string
}

func (e *ackStatusError) Error() string {
	if e.message != "" {
		return fmt.Sprintf("DataNode replied %v: %s", e.status, e.message)
	}
	return fmt.Sprintf("DataNode replied %v", e.status)
}

// nnCaller makes the writer's NameNode calls: *nameNode, or a test's fake.
type nnCaller interface {
	call(ctx context.Context, op, path, method string, req, resp proto.Message) error
}

// writerConfig is what a writer needs of its filesystem.
type writerConfig struct {
	nn     nnCaller
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	client string // the lease holder's name
	sum    checksum
	// protection is dfs.data.transfer.protection: "" speaks to DataNodes
	// without SASL (datatransfer_sasl.go).
	protection string
	// heartbeat is how long a pipeline may idle before a heartbeat packet,
	// renew how often the lease is renewed, and tick how often both are
	// checked; tests shorten them.
	heartbeat, renew, tick time.Duration
}

// fileWriter writes one HDFS file. Write and Close are not safe for concurrent
// use, as with any io.Writer; each block's pipeline has goroutines of its own
// that the writer waits for.
type fileWriter struct {
	// ctx, once cancelled, fails the write; hdfsFS.create passes one without
	// cancellation, so that socket timeouts, the retry limits and closeTimeout
	// bound a write as they did with colinmarc/hdfs.
	ctx       context.Context
	cfg       writerConfig
	path      string
	fileID    uint64
	blockSize int64

	buf      []byte // the next packet's data
	seqno    int64
	prev     *pb.ExtendedBlockProto // the last finished block
	blk      *writeBlock            // the block being written, nil between blocks
	excluded []*pb.DatanodeInfoProto
	err      error // sticky: once failed, a writer stays failed
	closed   bool
}

// writeBlock is the block being written and its pipeline.
type writeBlock struct {
	b          *pb.ExtendedBlockProto // current generation stamp
	token      *ipcpb.TokenProto
	nodes      []*pb.DatanodeInfoProto
	storageIDs []string
	sent       int64 // bytes of the block sent: maxBytesRcvd
	acked      int64 // bytes all DataNodes acknowledged: minBytesRcvd
	lastSent   bool  // the end-of-block packet is out
	finalized  bool  // closed by a PIPELINE_CLOSE_RECOVERY
	p          *pipeline
	recoveries int // in a row without acked progress
}

// packet is one packet sent and not yet acknowledged.
type packet struct {
	seqno int64
	end   int64 // offset in the block after its data
	last  bool
	wire  []byte
}

func newFileWriter(ctx context.Context, cfg writerConfig, path string, fileID uint64, blockSize int64) *fileWriter {
	if cfg.heartbeat <= 0 {
		cfg.heartbeat = heartbeatEvery
	}
	if cfg.renew <= 0 {
		cfg.renew = leaseRenewEvery
	}
	if cfg.tick <= 0 {
		cfg.tick = 5 * time.Second
	}
	return &fileWriter{ctx: ctx, cfg: cfg, path: path, fileID: fileID, blockSize: blockSize,
		buf: make([]byte, 0, cfg.sum.packetData(writePacketSize))}
}

// Write buffers p into packets and sends each full one, starting a new block
// when the current one is full.
func (w *fileWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, fmt.Errorf("hdfs: write %s: %w", w.path, errWriterClosed)
	}
	if err := w.ctx.Err(); err != nil {
		return 0, w.fail(fmt.Errorf("hdfs: write %s: %w", w.path, err))
	}
	n := 0
	for len(p) > 0 {
		room := cap(w.buf) - len(w.buf)
		if w.blk != nil {
			room = min(room, int(w.blockSize-w.blk.sent)-len(w.buf))
		} else {
			room = min(room, int(w.blockSize)-len(w.buf))
		}
		k := min(room, len(p))
		w.buf = append(w.buf, p[:k]...)
		p, n = p[k:], n+k
		if k == room {
			if err := w.flushPacket(); err != nil {
				return n, w.fail(err)
			}
		}
	}
	return n, nil
}

var errWriterClosed = errors.New("file already closed")

func (w *fileWriter) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	if w.blk != nil && w.blk.p != nil {
		w.blk.p.close()
		w.blk.p = nil
	}
	return w.err
}

// Close sends what is buffered, ends the block, and completes the file once
// the NameNode has the last block's replicas.
func (w *fileWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.fail(w.err)
	}
	if len(w.buf) > 0 {
		if err := w.flushPacket(); err != nil {
			return w.fail(err)
		}
	}
	if w.blk != nil {
		if err := w.endBlock(); err != nil {
			return w.fail(err)
		}
	}
	return w.fail(w.complete())
}

// flushPacket sends the buffered data as one packet, and ends the block when
// it is full.
func (w *fileWriter) flushPacket() error {
	if w.blk == nil {
		if err := w.newBlock(); err != nil {
			return err
		}
	}
	blk := w.blk
	wire, err := encodePacket(packetHeader{offset: blk.sent, seqno: w.seqno}, w.buf, w.cfg.sum)
	if err != nil {
		return err
	}
	pkt := &packet{seqno: w.seqno, end: blk.sent + int64(len(w.buf)), wire: wire}
	w.seqno++
	blk.sent = pkt.end
	w.buf = w.buf[:0]
	if err := w.send(pkt); err != nil {
		return err
	}
	if blk.sent >= w.blockSize {
		return w.endBlock()
	}
	return nil
}

// send puts pkt on the pipeline, recovering the pipeline as often as it fails
// (a packet queued before a failure is sent again by the recovery).
func (w *fileWriter) send(pkt *packet) error {
	for {
		queued, err := w.blk.p.send(pkt)
		if err == nil {
			return nil
		}
		if err := w.recover(); err != nil {
			return err
		}
		if queued || w.blk.finalized {
			return nil
		}
	}
}

// endBlock waits for every packet's ack, sends the end-of-block packet as
// DataStreamer does (only then), and waits for its ack.
func (w *fileWriter) endBlock() error {
	blk := w.blk
	for !blk.finalized {
		if !blk.lastSent && blk.p.drained() == nil {
			wire, err := encodePacket(packetHeader{offset: blk.sent, seqno: w.seqno, last: true}, nil, w.cfg.sum)
			if err != nil {
				return err
			}
			pkt := &packet{seqno: w.seqno, end: blk.sent, last: true, wire: wire}
			w.seqno++
			blk.lastSent = true
			if err := w.send(pkt); err != nil {
				return err
			}
			continue
		}
		if blk.lastSent && blk.p != nil && blk.p.drained() == nil {
			break
		}
		if err := w.recover(); err != nil {
			return err
		}
	}
	if blk.p != nil {
		blk.p.close()
		blk.p = nil
	}
	w.prev = proto.Clone(blk.b).(*pb.ExtendedBlockProto)
	w.prev.NumBytes = proto.Uint64(uint64(blk.sent))
	w.blk = nil
	return nil
}

// complete closes the file at the NameNode, asking again while it waits for the
// last block's replicas to be reported.
func (w *fileWriter) complete() error {
	req := &pb.CompleteRequestProto{Src: proto.String(w.path), ClientName: proto.String(w.cfg.client), Last: w.prev, FileId: proto.Uint64(w.fileID)}
	deadline := time.Now().Add(closeTimeout)
	delay := 10 * time.Millisecond
	for {
		resp := &pb.CompleteResponseProto{}
		if err := w.cfg.nn.call(w.ctx, "close", w.path, "complete", req, resp); err != nil {
			return err
		}
		if resp.GetResult() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hdfs: close %s: the NameNode did not complete the file within %v: too few replicas of its last block reported", w.path, closeTimeout)
		}
		if err := sleepCtx(w.ctx, delay); err != nil { // backoff against the NameNode
			return err
		}
		delay = min(2*delay, time.Second)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// newBlock asks the NameNode for the next block and sets up its pipeline; a
// pipeline that fails is abandoned and its bad DataNode excluded from the next
// try (DataStreamer.nextBlockOutputStream).
func (w *fileWriter) newBlock() error {
	var last error
	for attempt := 0; attempt <= blockWriteRetry; attempt++ {
		lb, err := w.addBlock()
		if err != nil {
			if last != nil {
				return fmt.Errorf("%w (after %w)", err, last)
			}
			return err
		}
		blk := &writeBlock{b: lb.GetB(), token: lb.GetBlockToken(), nodes: lb.GetLocs(), storageIDs: lb.GetStorageIDs()}
		if len(blk.nodes) == 0 {
			return &DataNodeError{Path: w.path, Block: blockName(blk.b), Err: errors.New("the NameNode offered no DataNode")}
		}
		p, bad, err := w.connect(blk, pb.OpWriteBlockProto_PIPELINE_SETUP_CREATE, 0)
		if err == nil {
			blk.p = p
			w.blk = blk
			return nil
		}
		last = err
		abandon := &pb.AbandonBlockRequestProto{B: blk.b, Src: proto.String(w.path), Holder: proto.String(w.cfg.client), FileId: proto.Uint64(w.fileID)}
		if err := w.cfg.nn.call(w.ctx, "abandon block", w.path, "abandonBlock", abandon, &pb.AbandonBlockResponseProto{}); err != nil {
			return errors.Join(last, err)
		}
		w.exclude(blk.nodes[bad])
	}
	return fmt.Errorf("hdfs: write %s: no pipeline after %d tries: %w", w.path, blockWriteRetry+1, last)
}

// addBlock asks for the next block, past the DataNodes that failed this writer,
// retrying while the NameNode still waits for the previous block's replicas.
func (w *fileWriter) addBlock() (*pb.LocatedBlockProto, error) {
	req := &pb.AddBlockRequestProto{Src: proto.String(w.path), ClientName: proto.String(w.cfg.client),
		Previous: w.prev, ExcludeNodes: w.excluded, FileId: proto.Uint64(w.fileID)}
	delay := addBlockDelay
	for attempt := 1; ; attempt++ {
		resp := &pb.AddBlockResponseProto{}
		err := w.cfg.nn.call(w.ctx, "add block", w.path, "addBlock", req, resp)
		if err == nil {
			return resp.GetBlock(), nil
		}
		if attempt >= addBlockAttempts || !isRemote(err, notReplicatedYet) {
			return nil, err
		}
		if err := sleepCtx(w.ctx, delay); err != nil { // backoff against the NameNode
			return nil, err
		}
		delay *= 2
	}
}

// recover replaces the failed pipeline of the current block with one of the
// DataNodes left (DataStreamer.setupPipelineForAppendOrRecovery), sends every
// unacknowledged packet again, and tells the NameNode.
func (w *fileWriter) recover() error {
	blk := w.blk
	old := blk.p
	if old == nil {
		return fmt.Errorf("hdfs: write %s: block %s has no pipeline to recover", w.path, blockName(blk.b))
	}
	old.close()
	blk.p = nil
	if err := w.ctx.Err(); err != nil {
		return fmt.Errorf("hdfs: write %s: %w", w.path, err)
	}
	unacked, acked, bad, cause := old.result()
	if acked > blk.acked {
		blk.acked, blk.recoveries = acked, 0
	}
	blk.recoveries++
	if blk.recoveries > maxRecoveries {
		return w.dnError(blk, bad, fmt.Errorf("pipeline failed %d times without progress: %w", maxRecoveries, cause))
	}
	stage := pb.OpWriteBlockProto_PIPELINE_SETUP_STREAMING_RECOVERY
	if blk.lastSent {
		stage = pb.OpWriteBlockProto_PIPELINE_CLOSE_RECOVERY
	}
	for {
		if bad < 0 || bad >= len(blk.nodes) {
			bad = 0
		}
		failed := blk.nodes[bad]
		w.exclude(failed)
		blk.nodes = append(blk.nodes[:bad:bad], blk.nodes[bad+1:]...)
		if bad < len(blk.storageIDs) {
			blk.storageIDs = append(blk.storageIDs[:bad:bad], blk.storageIDs[bad+1:]...)
		}
		if len(blk.nodes) == 0 {
			return &DataNodeError{Path: w.path, Block: blockName(blk.b), DataNode: xferAddr(failed), Err: fmt.Errorf("all DataNodes of the pipeline failed, the last: %w", cause)}
		}
		upd := &pb.UpdateBlockForPipelineResponseProto{}
		req := &pb.UpdateBlockForPipelineRequestProto{Block: blk.b, ClientName: proto.String(w.cfg.client)}
		if err := w.cfg.nn.call(w.ctx, "recover pipeline", w.path, "updateBlockForPipeline", req, upd); err != nil {
			return errors.Join(&DataNodeError{Path: w.path, Block: blockName(blk.b), DataNode: xferAddr(failed), Err: cause}, err)
		}
		newGS := upd.GetBlock().GetB().GetGenerationStamp()
		blk.token = upd.GetBlock().GetBlockToken()
		p, nextBad, err := w.connect(blk, stage, newGS)
		if err != nil {
			bad, cause = nextBad, err
			continue
		}
		oldB := proto.Clone(blk.b).(*pb.ExtendedBlockProto)
		oldB.NumBytes = proto.Uint64(uint64(blk.acked))
		newB := proto.Clone(oldB).(*pb.ExtendedBlockProto)
		newB.GenerationStamp = proto.Uint64(newGS)
		ids := make([]*pb.DatanodeIDProto, len(blk.nodes))
		for i, n := range blk.nodes {
			ids[i] = n.GetId()
		}
		ureq := &pb.UpdatePipelineRequestProto{ClientName: proto.String(w.cfg.client), OldBlock: oldB, NewBlock: newB, NewNodes: ids, StorageIDs: blk.storageIDs}
		if err := w.cfg.nn.call(w.ctx, "recover pipeline", w.path, "updatePipeline", ureq, &pb.UpdatePipelineResponseProto{}); err != nil {
			p.close()
			return err
		}
		blk.b.GenerationStamp = proto.Uint64(newGS)
		if stage == pb.OpWriteBlockProto_PIPELINE_CLOSE_RECOVERY {
			// The DataNodes finalized the block while setting up: nothing more goes
			// over this pipeline (DataStreamer drops the end-of-block packet).
			p.close()
			blk.finalized = true
			return nil
		}
		blk.p = p
		// A failure while resending leaves them all queued on p for the next
		// recovery, which the next send or drain starts.
		p.resend(unacked)
		return nil
	}
}

func (w *fileWriter) dnError(blk *writeBlock, bad int, err error) error {
	e := &DataNodeError{Path: w.path, Block: blockName(blk.b), Err: err}
	if bad >= 0 && bad < len(blk.nodes) {
		e.DataNode = xferAddr(blk.nodes[bad])
	}
	return e
}

// connect sets up a pipeline through blk's DataNodes for stage, and returns it
// or the index of the DataNode that failed it: the one firstBadLink names, else
// the first (DataStreamer.createBlockOutputStream).
func (w *fileWriter) connect(blk *writeBlock, stage pb.OpWriteBlockProto_BlockConstructionStage, newGS uint64) (*pipeline, int, error) {
	first := xferAddr(blk.nodes[0])
	fail := func(bad int, err error) (*pipeline, int, error) {
		return nil, bad, &DataNodeError{Path: w.path, Block: blockName(blk.b), DataNode: xferAddr(blk.nodes[bad]), Err: err}
	}
	header := proto.Clone(blk.b).(*pb.ExtendedBlockProto)
	header.NumBytes = proto.Uint64(uint64(w.blockSize)) // as DataStreamer sends it: the replica's expected size
	op := &pb.OpWriteBlockProto{
		Header: &pb.ClientOperationHeaderProto{
			BaseHeader: &pb.BaseHeaderProto{Block: header, Token: blk.token},
			ClientName: proto.String(w.cfg.client),
		},
		Targets:               blk.nodes[1:],
		Stage:                 stage.Enum(),
		PipelineSize:          proto.Uint32(uint32(len(blk.nodes))),
		MinBytesRcvd:          proto.Uint64(uint64(blk.acked)),
		MaxBytesRcvd:          proto.Uint64(uint64(blk.sent)),
		LatestGenerationStamp: proto.Uint64(newGS),
		RequestedChecksum:     &pb.ChecksumProto{Type: w.cfg.sum.kind.Enum(), BytesPerChecksum: proto.Uint32(uint32(w.cfg.sum.chunk))},
	}
	if len(blk.storageIDs) == len(blk.nodes) {
		op.StorageId = proto.String(blk.storageIDs[0])
		op.TargetStorageIds = blk.storageIDs[1:]
	}
	req, err := encodeWriteBlock(op)
	if err != nil {
		return nil, 0, err
	}
	timeout := socketTimeout + timeoutPerNode*time.Duration(len(blk.nodes))
	dctx, cancel := context.WithTimeout(w.ctx, socketTimeout)
	conn, err := w.dial(dctx, first)
	cancel()
	if err != nil {
		return fail(0, err)
	}
	// The DataNodes connect onwards before the first answers: ctx must be able
	// to end that wait too.
	stop := context.AfterFunc(w.ctx, func() { conn.Close() })
	defer stop()
	conn.SetDeadline(time.Now().Add(timeout))
	br := bufio.NewReader(conn)
	if w.cfg.protection != "" {
		raw := conn
		if conn, br, err = saslConnect(raw, br, blk.token, w.cfg.protection); err != nil {
			raw.Close()
			return fail(0, err)
		}
	}
	if _, err := conn.Write(req); err != nil {
		conn.Close()
		return fail(0, err)
	}
	resp := &pb.BlockOpResponseProto{}
	if err := readDelimited(br, resp); err != nil {
		conn.Close()
		return fail(0, fmt.Errorf("pipeline setup response: %w", err))
	}
	if resp.GetStatus() != pb.Status_SUCCESS || resp.GetFirstBadLink() != "" {
		conn.Close()
		bad := 0
		if link := resp.GetFirstBadLink(); link != "" {
			for i, n := range blk.nodes {
				if xferAddr(n) == link {
					bad = i
				}
			}
		}
		return fail(bad, &ackStatusError{status: resp.GetStatus(), message: resp.GetMessage()})
	}
	conn.SetDeadline(time.Time{})
	return w.startPipeline(conn, br, timeout), 0, nil
}

func (w *fileWriter) dial(ctx context.Context, addr string) (net.Conn, error) {
	if w.cfg.dial != nil {
		return w.cfg.dial(ctx, "tcp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// xferAddr is a DataNode's data transfer address as firstBadLink names it.
func xferAddr(n *pb.DatanodeInfoProto) string {
	return net.JoinHostPort(n.GetId().GetIpAddr(), strconv.Itoa(int(n.GetId().GetXferPort())))
}

// blockName is a block as Hadoop's ExtendedBlock prints it.
func blockName(b *pb.ExtendedBlockProto) string {
	return fmt.Sprintf("%s:blk_%d_%d", b.GetPoolId(), b.GetBlockId(), b.GetGenerationStamp())
}

// isRemote reports whether err is the NameNode's exception of class.
func isRemote(err error, class string) bool {
	var re *ipc.RemoteError
	return errors.As(err, &re) && re.Class == class
}

// exclude adds n to the DataNodes the NameNode must not offer again.
func (w *fileWriter) exclude(n *pb.DatanodeInfoProto) {
	for _, e := range w.excluded {
		if xferAddr(e) == xferAddr(n) {
			return
		}
	}
	w.excluded = append(w.excluded, n)
}

// pipeline is one connection through a block's DataNodes: the writer sends
// packets, its ack goroutine takes acknowledged ones off the queue, and its
// keeper sends heartbeats and renews the lease while the writer is idle.
type pipeline struct {
	conn    net.Conn
	timeout time.Duration // for an ack

	wmu       sync.Mutex // serializes writes to conn
	lastWrite time.Time

	mu      sync.Mutex
	changed *sync.Cond // an ack arrived or the pipeline failed
	unacked []*packet
	acked   int64 // bytes of the block acknowledged by all DataNodes
	bad     int   // the DataNode that failed, when failed
	failed  error

	stop      chan struct{}
	keepCtx   context.Context // the keeper's NameNode calls; cancelled by close
	keepStop  context.CancelFunc
	readDone  chan struct{} // the ack goroutine ended
	stopOnCtx func() bool   // ends the context watch
	wg        sync.WaitGroup
	once      sync.Once
}

func (w *fileWriter) startPipeline(conn net.Conn, br *bufio.Reader, timeout time.Duration) *pipeline {
	p := &pipeline{conn: conn, timeout: timeout, stop: make(chan struct{}), readDone: make(chan struct{}), lastWrite: time.Now()}
	p.changed = sync.NewCond(&p.mu)
	p.keepCtx, p.keepStop = context.WithCancel(w.ctx)
	// A cancelled write fails its pipeline: that wakes a wait for acks and
	// breaks a write to a DataNode.
	p.stopOnCtx = context.AfterFunc(w.ctx, func() { p.fail(w.ctx.Err(), 0) })
	p.wg.Add(2)
	go func() { defer p.wg.Done(); defer close(p.readDone); p.readAcks(br) }()
	go func() { defer p.wg.Done(); p.keep(w) }()
	return p
}

// send queues pkt and writes it, after waiting for room in the window. queued
// says whether pkt went on the queue (a recovery sends it again).
func (p *pipeline) send(pkt *packet) (queued bool, err error) {
	p.mu.Lock()
	for len(p.unacked) >= maxUnacked && p.failed == nil {
		p.changed.Wait()
	}
	if p.failed != nil {
		err := p.failed
		p.mu.Unlock()
		return false, err
	}
	p.unacked = append(p.unacked, pkt)
	p.mu.Unlock()
	if err := p.write(pkt.wire); err != nil {
		return true, p.writeFailed(err)
	}
	return true, nil
}

// resend queues pkts, the unacknowledged packets of a failed pipeline, at once
// (at most the window), then writes them.
func (p *pipeline) resend(pkts []*packet) {
	p.mu.Lock()
	p.unacked = append(p.unacked, pkts...)
	p.mu.Unlock()
	for _, pkt := range pkts {
		if err := p.write(pkt.wire); err != nil {
			p.writeFailed(err)
			return
		}
	}
}

// writeFailed fails the pipeline after a write to it failed. The write cannot
// tell which DataNode failed; an ack that came before the connection broke
// can, so the ack goroutine reads what is left first.
func (p *pipeline) writeFailed(err error) error {
	p.conn.Close()
	<-p.readDone
	p.fail(err, 0)
	return err
}

func (p *pipeline) write(b []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := p.conn.Write(b)
	p.lastWrite = time.Now()
	return err
}

// drained waits until every packet sent is acknowledged, or the pipeline fails.
func (p *pipeline) drained() error {
	if p == nil {
		return errors.New("no pipeline")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.unacked) > 0 && p.failed == nil {
		p.changed.Wait()
	}
	return p.failed
}

func (p *pipeline) fail(err error, bad int) {
	p.mu.Lock()
	p.failLocked(err, bad)
	p.mu.Unlock()
}

// failLocked records the first failure and breaks the connection, which ends
// the ack goroutine.
func (p *pipeline) failLocked(err error, bad int) {
	if p.failed == nil {
		p.failed, p.bad = err, bad
		p.conn.Close()
	}
	p.changed.Broadcast()
}

// readAcks takes each ack's packet off the queue, and fails the pipeline at the
// DataNode an ack reports, or at the first one when the connection breaks or no
// ack comes in time (heartbeats keep acks coming while the writer idles).
func (p *pipeline) readAcks(br *bufio.Reader) {
	for {
		p.conn.SetReadDeadline(time.Now().Add(p.timeout))
		ack := &pb.PipelineAckProto{}
		if err := readDelimited(br, ack); err != nil {
			p.fail(fmt.Errorf("reading ack: %w", err), 0)
			return
		}
		if bad, st := badInAck(ack); bad >= 0 {
			p.fail(&ackStatusError{status: st}, bad)
			return
		}
		if ack.GetSeqno() == heartbeatSeqno {
			continue
		}
		p.mu.Lock()
		if len(p.unacked) == 0 || p.unacked[0].seqno != ack.GetSeqno() {
			want := "none"
			if len(p.unacked) > 0 {
				want = strconv.FormatInt(p.unacked[0].seqno, 10)
			}
			p.failLocked(fmt.Errorf("ack for packet %d, expected %s", ack.GetSeqno(), want), 0)
			p.mu.Unlock()
			return
		}
		pkt := p.unacked[0]
		p.unacked[0] = nil
		p.unacked = p.unacked[1:]
		p.acked = pkt.end
		p.changed.Broadcast()
		p.mu.Unlock()
		if pkt.last {
			return
		}
	}
}

// keep sends a heartbeat packet when nothing went to the DataNodes for a while,
// and renews the file's lease, until the pipeline closes.
func (p *pipeline) keep(w *fileWriter) {
	t := time.NewTicker(w.cfg.tick)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.wmu.Lock()
			idle := now.Sub(p.lastWrite)
			p.wmu.Unlock()
			if idle >= w.cfg.heartbeat {
				hb, err := encodePacket(packetHeader{seqno: heartbeatSeqno}, nil, w.cfg.sum)
				if err == nil {
					err = p.write(hb)
				}
				if err != nil {
					p.writeFailed(fmt.Errorf("heartbeat: %w", err))
				}
			}
			if now.Sub(renewed) >= w.cfg.renew {
				// A failed renewal is tried again at the next tick; the lease lasts
				// a minute (soft) and an hour (hard).
				req := &pb.RenewLeaseRequestProto{ClientName: proto.String(w.cfg.client)}
				if w.cfg.nn.call(p.keepCtx, "renew lease", w.path, "renewLease", req, &pb.RenewLeaseResponseProto{}) == nil {
					renewed = now
				}
			}
		}
	}
}

// close breaks the connection and waits for the pipeline's goroutines.
func (p *pipeline) close() {
	p.once.Do(func() {
		p.stopOnCtx()
		p.fail(errPipelineClosed, 0)
		p.keepStop()
		close(p.stop)
	})
	p.wg.Wait()
}

var errPipelineClosed = errors.New("pipeline closed")

// result is what a failed, closed pipeline leaves: the packets still to send,
// the bytes acknowledged, the DataNode that failed and why.
func (p *pipeline) result() ([]*packet, int64, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unacked, p.acked, p.bad, p.failed
}
