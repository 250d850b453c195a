package shuffle

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
	"unsafe"
)

// Memory is the execution memory a writer buffers records in; *memory.TaskMemory
// implements it.
type Memory interface {
	Acquire(n int64) int64
	Release(n int64)
}

// WriterConfig describes one map task's output.
type WriterConfig struct {
	Dirs          []string // local directories; outputs spread over them
	ShuffleID     int
	MapID         int // the map partition
	Attempt       int // temp files are per attempt; the first attempt to commit wins
	NumPartitions int
	Sort          bool   // sort each partition's records by key bytes
	Compress      bool   // s2-compress blocks
	Memory        Memory // when it grants less than needed, the writer spills
	BlockSize     int    // uncompressed block size; 64 KiB by default
	// BufferSize bounds the memory one run holds (its records and their index),
	// whatever Memory would grant: reaching it, the writer spills the run. Beyond a
	// few tens of MiB a larger run saves nothing (merging k sorted runs costs the
	// comparisons sorting them as one would have, and a spill is a sequential,
	// compressed write), while every byte of it is resident. 0 means no bound but
	// Memory's. It is spindle.shuffle.sort.bufferSize, the part Hadoop's
	// mapreduce.task.io.sort.mb plays.
	BufferSize int64
}

// WriteMetrics counts what a writer did.
type WriteMetrics struct {
	Records    int64
	Bytes      int64 // of the data file
	SpillBytes int64
	Spills     int
}

// rec locates one buffered record in the arena. prefix holds the key's first 8
// bytes, so that most comparisons of a sort never touch the arena, and those of keys
// no longer than 8 bytes never do.
type rec struct {
	prefix     uint64
	part       uint32
	loc        uint32 // chunk<<chunkShift | offset of the key in the chunk
	klen, vlen uint32
}

const (
	recSize = int(unsafe.Sizeof(rec{}))
	// recOverhead is what a buffered record costs besides its bytes, accounted with
	// the arena: its rec and the rec's slot in the radix sort's scratch array.
	recOverhead = 2 * int64(recSize)
)

// keyPrefix packs up to 8 leading key bytes big-endian; equal prefixes fall back to
// comparing whole keys, so padding short keys with zeros is safe.
func keyPrefix(key []byte) uint64 {
	if len(key) >= 8 {
		return binary.BigEndian.Uint64(key)
	}
	var b [8]byte
	copy(b[:], key)
	return binary.BigEndian.Uint64(b[:])
}

// compareKeys orders records by key: by their prefixes, then, for keys of which one
// is at most 8 bytes long, by length (the shorter one's bytes, zero-padded, are the
// other's first bytes, so it is a prefix of the other), and only then by the bytes
// past the prefix.
func (w *Writer) compareKeys(a, b *rec) int {
	if a.prefix != b.prefix {
		if a.prefix < b.prefix {
			return -1
		}
		return 1
	}
	if a.klen <= 8 || b.klen <= 8 {
		return int(a.klen) - int(b.klen)
	}
	return bytes.Compare(w.key(a)[8:], w.key(b)[8:])
}

const (
	// memChunk is how much memory the writer asks for at a time, at least.
	memChunk = 1 << 20
	// maxChunk bounds the arena's chunks; records longer get a chunk of their own.
	maxChunk = 16 << 20
	// chunkShift splits a rec's loc: records start below 1<<chunkShift in a chunk (a
	// record alone in an oversized chunk starts at 0), and a run has at most
	// 1<<(32-chunkShift) chunks before it spills.
	chunkShift = 24
	maxChunks  = 1 << (32 - chunkShift)
	// minRun is the smallest run the writer spills: below it, it takes records
	// without memory rather than write a file per handful of records (Spark's
	// spark.shuffle.spill.initialMemoryThreshold plays the same part).
	minRun = 1 << 20
	// maxSpills bounds the spill files of a map task: reaching it, the writer merges
	// them into one, so the final merge opens a bounded number of files.
	maxSpills = 32
)

// Writer buffers a map task's records in execution memory, sorts and spills them to
// disk when memory runs out, and at Commit merges the spills into the data and index
// files.
//
// The buffer is an arena of chunks outside the Go heap, each allocated after the
// memory manager granted it and sized from that grant (a run's chunks grow from 1 MiB
// to 16 MiB), and freed when the run is spilled: records never move once written and
// leave no garbage behind. Records do not straddle chunks.
type Writer struct {
	cfg    WriterConfig
	chunks [][]byte // the run's arena; the last one is being filled
	fill   int      // bytes used in the last chunk
	// spare holds the chunks of a run spilled because it reached BufferSize, for the
	// next run to fill again: still granted, and already faulted in, so a task that
	// spills many runs maps and zeroes its buffer once.
	spare   [][]byte
	full    bool  // the last refusal was BufferSize's, not the memory manager's
	recs    []rec // outside the heap too, grown by doubling
	scratch []rec // as long as recs' capacity: the radix sort's other half
	bytes   int64 // key and value bytes of the run
	granted int64
	spills  []spill
	metrics WriteMetrics
	done    bool
}

// spill is one sorted run on disk with its segment offsets.
type spill struct {
	path    string
	offsets []int64
}

// NewWriter starts a map task's output.
func NewWriter(cfg WriterConfig) (*Writer, error) {
	if len(cfg.Dirs) == 0 || cfg.NumPartitions < 1 {
		return nil, fmt.Errorf("shuffle writer: need directories and at least one partition")
	}
	if cfg.BlockSize <= 0 {
		cfg.BlockSize = defaultBlock
	}
	for _, d := range cfg.Dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("shuffle dir: %w", err)
		}
	}
	return &Writer{cfg: cfg}, nil
}

// used is the memory the run holds: its chunks, spare chunks and its record array.
func (w *Writer) used() int64 {
	n := int64(cap(w.recs)) * recOverhead
	for _, c := range w.chunks {
		n += int64(len(c))
	}
	for _, c := range w.spare {
		n += int64(len(c))
	}
	return n
}

// reserve asks for n more bytes of memory. It reports false when the run would
// outgrow BufferSize or the memory manager refused them, and the run is worth
// spilling; a run below minRun takes the bytes unaccounted instead.
func (w *Writer) reserve(n int64) bool {
	w.full = w.cfg.BufferSize > 0 && w.used()+n > w.cfg.BufferSize && w.used() >= minRun
	if w.full {
		return false
	}
	if w.cfg.Memory == nil || w.used()+n <= w.granted {
		return true
	}
	want := w.used() + n - w.granted
	g := w.cfg.Memory.Acquire(want)
	w.granted += g
	return g == want || w.used() < minRun
}

// Write buffers one record for a reduce partition; key and value are copied.
func (w *Writer) Write(partition int, key, value []byte) error {
	if partition < 0 || partition >= w.cfg.NumPartitions {
		return fmt.Errorf("shuffle %d: partition %d out of range [0,%d)", w.cfg.ShuffleID, partition, w.cfg.NumPartitions)
	}
	size := len(key) + len(value)
	// Either step may spill, which empties the run: check both again until the
	// record has room in both.
	for len(w.recs) == cap(w.recs) || len(w.chunks) == 0 || w.fill+size > len(w.chunks[len(w.chunks)-1]) {
		if len(w.recs) == cap(w.recs) {
			if err := w.growRecs(); err != nil {
				return err
			}
			continue
		}
		if err := w.newChunk(size); err != nil {
			return err
		}
	}
	c := len(w.chunks) - 1
	chunk := w.chunks[c]
	off := w.fill
	copy(chunk[off:], key)
	copy(chunk[off+len(key):], value)
	w.fill += size
	w.bytes += int64(size)
	w.recs = append(w.recs, rec{prefix: keyPrefix(key), part: uint32(partition), loc: uint32(c<<chunkShift | off),
		klen: uint32(len(key)), vlen: uint32(len(value))})
	w.metrics.Records++
	return nil
}

// growRecs doubles the record array, spilling first if memory for it is refused.
func (w *Writer) growRecs() error {
	n := max(2*cap(w.recs), memChunk/int(recOverhead))
	if !w.reserve(int64(n-cap(w.recs)) * recOverhead) {
		if err := w.spill(); err != nil {
			return err
		}
		if len(w.recs) < cap(w.recs) {
			return nil // the spilled run's array, kept for the next one
		}
		// The run starts over; its array is the first step again.
		n = memChunk / int(recOverhead)
		w.reserve(int64(n) * recOverhead)
	}
	recs := allocRecs(n)[:len(w.recs)]
	copy(recs, w.recs)
	w.freeRecs()
	w.recs, w.scratch = recs, allocRecs(n)
	return nil
}

func allocRecs(n int) []rec {
	page := allocPage(n * recSize)
	return unsafe.Slice((*rec)(unsafe.Pointer(unsafe.SliceData(page))), n)
}

func (w *Writer) freeRecs() {
	for _, rs := range [][]rec{w.recs, w.scratch} {
		if cap(rs) > 0 {
			freePage(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(rs))), cap(rs)*recSize))
		}
	}
	w.recs, w.scratch = nil, nil
}

// newChunk starts a chunk with room for a record of size bytes, spilling first if
// memory for it is refused or the run has all the chunks it can address.
func (w *Writer) newChunk(size int) error {
	if len(w.spare) > 0 {
		if c := w.spare[0]; len(c) >= size {
			w.spare = w.spare[1:]
			w.chunks = append(w.chunks, c)
			w.fill = 0
			return nil
		}
		// A record larger than the spare chunk: their memory, still granted, goes
		// to chunks sized afresh.
		w.freeSpare()
	}
	n := w.boundChunk(runChunkSize(w.bytes, size), size)
	if len(w.chunks) == maxChunks || !w.reserve(int64(n)) {
		if err := w.spill(); err != nil {
			return err
		}
		if len(w.spare) > 0 {
			return nil // Write's loop takes a spare chunk
		}
		n = w.boundChunk(runChunkSize(0, size), size)
		w.reserve(int64(n))
	}
	w.chunks = append(w.chunks, allocPage(n))
	w.fill = 0
	return nil
}

// boundChunk shrinks a chunk of n bytes to the room BufferSize leaves the run, so
// that the run fills its bound rather than spilling a chunk's worth short of it; a
// chunk is never smaller than the record it is for, nor than memChunk/4 (the room
// left then is not worth a chunk: the run spills instead).
func (w *Writer) boundChunk(n, size int) int {
	if w.cfg.BufferSize <= 0 {
		return n
	}
	room := w.cfg.BufferSize - w.used()
	if room < int64(n) && room >= int64(max(size, memChunk/4)) {
		return int(room)
	}
	return n
}

// runChunkSize sizes a run's next chunk from what the run buffered so far (so that the
// chunks, and the grants behind them, grow geometrically), or a record's own size
// when it is larger than that.
func runChunkSize(buffered int64, size int) int {
	n := int(min(max(buffered, memChunk), maxChunk))
	if size > n {
		return size // alone in its chunk, at offset 0
	}
	return n
}

func (w *Writer) key(r *rec) []byte {
	c, off := r.loc>>chunkShift, r.loc&(1<<chunkShift-1)
	return w.chunks[c][off : off+r.klen]
}

func (w *Writer) value(r *rec) []byte {
	c, off := r.loc>>chunkShift, r.loc&(1<<chunkShift-1)+r.klen
	return w.chunks[c][off : off+r.vlen]
}

func (w *Writer) sortRecs() {
	if len(w.recs) >= radixMin {
		sorted := radixSort(w.recs, w.scratch[:cap(w.scratch)], w.cfg.Sort)
		if unsafe.SliceData(sorted) != unsafe.SliceData(w.recs) {
			w.recs, w.scratch = w.scratch[:len(w.recs)], w.recs[:0]
		}
		if w.cfg.Sort {
			w.sortTies(w.recs)
		}
		return
	}
	if w.cfg.Sort {
		slices.SortFunc(w.recs, func(a, b rec) int {
			if a.part != b.part {
				return int(a.part) - int(b.part)
			}
			return w.compareKeys(&a, &b)
		})
	} else {
		slices.SortStableFunc(w.recs, func(a, b rec) int { return int(a.part) - int(b.part) })
	}
}

// writeSegments writes the buffered records, grouped by partition, to path and
// returns the segment offsets.
func (w *Writer) writeSegments(path string) ([]int64, error) {
	w.sortRecs()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	bufw := bufio.NewWriterSize(f, 256<<10)
	bw := &blockWriter{w: bufw, compress: w.cfg.Compress, blockSize: w.cfg.BlockSize}
	offsets := make([]int64, w.cfg.NumPartitions+1)
	i := 0
	for p := range w.cfg.NumPartitions {
		offsets[p] = bw.written
		for ; i < len(w.recs) && int(w.recs[i].part) == p; i++ {
			r := &w.recs[i]
			if err := bw.add(w.key(r), w.value(r)); err != nil {
				f.Close()
				return nil, err
			}
		}
		if err := bw.flush(); err != nil {
			f.Close()
			return nil, err
		}
	}
	offsets[w.cfg.NumPartitions] = bw.written
	if err := bufw.Flush(); err != nil {
		f.Close()
		return nil, err
	}
	return offsets, f.Close()
}

func (w *Writer) tmpPath(suffix string) string {
	return fmt.Sprintf("%s.%d.%s", fileBase(w.cfg.Dirs, w.cfg.ShuffleID, w.cfg.MapID), w.cfg.Attempt, suffix)
}

// spill sorts the buffer into a run on disk and frees its memory. Reaching
// maxSpills runs, it merges them into one.
func (w *Writer) spill() error {
	if len(w.recs) == 0 {
		return nil // nothing to write; the caller takes its memory unaccounted
	}
	path := w.tmpPath(fmt.Sprintf("spill%d", w.metrics.Spills))
	offsets, err := w.writeSegments(path)
	if err != nil {
		return fmt.Errorf("spill shuffle %d map %d: %w", w.cfg.ShuffleID, w.cfg.MapID, err)
	}
	w.spills = append(w.spills, spill{path, offsets})
	w.metrics.Spills++
	w.metrics.SpillBytes += offsets[len(offsets)-1]
	if w.full {
		w.recycleRun()
	} else {
		w.freeRun()
	}
	if len(w.spills) >= maxSpills {
		return w.mergeSpillFiles()
	}
	return nil
}

// mergeSpillFiles merges the spill files into one, so that a task that spills many
// times still merges a bounded number of files at Commit.
func (w *Writer) mergeSpillFiles() error {
	path := w.tmpPath(fmt.Sprintf("spill%d", w.metrics.Spills))
	w.metrics.Spills++
	offsets, err := w.mergeSpills(path)
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("merge spills of shuffle %d map %d: %w", w.cfg.ShuffleID, w.cfg.MapID, err)
	}
	for _, s := range w.spills {
		os.Remove(s.path)
	}
	w.spills = []spill{{path, offsets}}
	w.metrics.SpillBytes += offsets[len(offsets)-1]
	return nil
}

// recycleRun empties a run that reached BufferSize: its chunks become spare ones and
// its record array is kept, all still granted, for the next run.
func (w *Writer) recycleRun() {
	w.spare = append(w.spare, w.chunks...)
	w.chunks, w.fill, w.bytes, w.full = nil, 0, 0, false
	w.recs = w.recs[:0]
}

// freeRun frees the run's arena, spare chunks and record array and releases its
// memory.
func (w *Writer) freeRun() {
	for _, c := range w.chunks {
		freePage(c)
	}
	w.chunks, w.fill, w.bytes, w.full = nil, 0, 0, false
	w.freeSpare()
	w.freeRecs()
	w.releaseMemory()
}

func (w *Writer) freeSpare() {
	for _, c := range w.spare {
		freePage(c)
	}
	w.spare = nil
}

func (w *Writer) releaseMemory() {
	if w.cfg.Memory != nil && w.granted > 0 {
		w.cfg.Memory.Release(w.granted)
	}
	w.granted = 0
}

// Commit writes the data and index files and publishes them atomically, returning
// the bytes of each reduce partition. If another attempt of the same map task
// committed first, its output stands and its sizes are returned.
func (w *Writer) Commit() (sizes []int64, err error) {
	if w.done {
		return nil, errors.New("shuffle writer already finished")
	}
	w.done = true
	defer w.cleanup()
	dataTmp := w.tmpPath("data")
	var offsets []int64
	if len(w.spills) == 0 {
		offsets, err = w.writeSegments(dataTmp)
	} else {
		if len(w.recs) > 0 {
			if err := w.spill(); err != nil {
				return nil, err
			}
		}
		offsets, err = w.mergeSpills(dataTmp)
	}
	if err != nil {
		os.Remove(dataTmp)
		return nil, fmt.Errorf("write shuffle %d map %d: %w", w.cfg.ShuffleID, w.cfg.MapID, err)
	}
	w.metrics.Bytes = offsets[len(offsets)-1]
	return w.publish(dataTmp, offsets)
}

// publishMu makes the check for an existing output and the publication of a new
// one a single step within this process: an executor's directories are its own,
// so two attempts of a map task racing to publish are always in one process.
var publishMu sync.Mutex

// publish puts the data file and then the index into place; the index is what
// readers look for, so it goes last. An earlier attempt's output stands only if it
// is whole and every block's checksum holds: a map task re-runs because a reader
// found its output missing or corrupt, and a corrupt one must be replaced, not
// kept. The old index goes first, so that no reader pairs it with the new data.
func (w *Writer) publish(dataTmp string, offsets []int64) ([]int64, error) {
	publishMu.Lock()
	defer publishMu.Unlock()
	index := IndexPath(w.cfg.Dirs, w.cfg.ShuffleID, w.cfg.MapID)
	data := DataPath(w.cfg.Dirs, w.cfg.ShuffleID, w.cfg.MapID)
	if existing, err := verifyOutput(index, data); err == nil {
		os.Remove(dataTmp)
		return sizesOf(existing), nil // an earlier attempt won
	}
	indexTmp := w.tmpPath("index")
	if err := os.WriteFile(indexTmp, encodeIndex(offsets), 0o644); err != nil {
		os.Remove(dataTmp)
		return nil, err
	}
	if err := os.Remove(index); err != nil && !errors.Is(err, fs.ErrNotExist) {
		os.Remove(dataTmp)
		os.Remove(indexTmp)
		return nil, err
	}
	if err := os.Rename(dataTmp, data); err != nil {
		os.Remove(dataTmp)
		os.Remove(indexTmp)
		return nil, err
	}
	if err := os.Rename(indexTmp, index); err != nil {
		os.Remove(indexTmp)
		return nil, err
	}
	return sizesOf(offsets), nil
}

// mergeSpills merges every run's segment of each partition into the data file.
func (w *Writer) mergeSpills(path string) ([]int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	bufw := bufio.NewWriterSize(f, 256<<10)
	bw := &blockWriter{w: bufw, compress: w.cfg.Compress, blockSize: w.cfg.BlockSize}
	offsets := make([]int64, w.cfg.NumPartitions+1)
	for p := range w.cfg.NumPartitions {
		offsets[p] = bw.written
		var rs []RecordReader
		for _, s := range w.spills {
			if s.offsets[p+1] == s.offsets[p] {
				continue
			}
			sf, err := os.Open(s.path)
			if err != nil {
				closeAll(rs)
				return nil, err
			}
			rs = append(rs, NewSegmentReader(sectionCloser{ioSection(sf, s.offsets[p], s.offsets[p+1]), sf}, s.path))
		}
		var r RecordReader = Concat(rs)
		if w.cfg.Sort {
			r = Merge(rs)
		}
		for r.Next() {
			if err := bw.add(r.Key(), r.Value()); err != nil {
				r.Close()
				return nil, err
			}
		}
		err := r.Err()
		r.Close()
		if err != nil {
			return nil, err
		}
		if err := bw.flush(); err != nil {
			return nil, err
		}
	}
	offsets[w.cfg.NumPartitions] = bw.written
	if err := bufw.Flush(); err != nil {
		return nil, err
	}
	return offsets, f.Close()
}

// Abort drops everything the writer made and releases its memory.
func (w *Writer) Abort() error {
	w.done = true
	w.cleanup()
	os.Remove(w.tmpPath("data"))
	return nil
}

func (w *Writer) cleanup() {
	for _, s := range w.spills {
		os.Remove(s.path)
	}
	w.spills = nil
	w.freeRun()
}

// Metrics reports what the writer did.
func (w *Writer) Metrics() WriteMetrics { return w.metrics }
