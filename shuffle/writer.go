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
}

// WriteMetrics counts what a writer did.
type WriteMetrics struct {
	Records    int64
	Bytes      int64 // of the data file
	SpillBytes int64
	Spills     int
}

// rec locates one buffered record in the arena. prefix holds the key's first 8
// bytes, so that most comparisons of a sort never touch the arena.
type rec struct {
	prefix     uint64
	part       uint32
	off        uint32
	klen, vlen uint32
}

const recOverhead = 24 // bytes of a rec, accounted with the arena

// keyPrefix packs up to 8 leading key bytes big-endian; equal prefixes fall back to
// comparing whole keys, so padding short keys with zeros is safe.
func keyPrefix(key []byte) uint64 {
	var b [8]byte
	copy(b[:], key)
	return binary.BigEndian.Uint64(b[:])
}

// memChunk is how much memory the writer asks for at a time.
const memChunk = 1 << 20

// Writer buffers a map task's records in execution memory, sorts and spills them to
// disk when memory runs out, and at Commit merges the spills into the data and index
// files.
type Writer struct {
	cfg     WriterConfig
	arena   []byte
	recs    []rec
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

func (w *Writer) used() int64 { return int64(cap(w.arena)) + int64(cap(w.recs))*recOverhead }

// Write buffers one record for a reduce partition; key and value are copied.
func (w *Writer) Write(partition int, key, value []byte) error {
	if partition < 0 || partition >= w.cfg.NumPartitions {
		return fmt.Errorf("shuffle %d: partition %d out of range [0,%d)", w.cfg.ShuffleID, partition, w.cfg.NumPartitions)
	}
	need := int64(len(key)+len(value)) + recOverhead
	if w.used()+need > w.granted && w.cfg.Memory != nil {
		want := max(need, memChunk, w.used()) // grow geometrically, like the arena
		if g := w.cfg.Memory.Acquire(want); g < want {
			w.cfg.Memory.Release(g)
			if len(w.recs) > 0 {
				if err := w.spill(); err != nil {
					return err
				}
			}
			// Start the next run with what can be had; a record is taken even if no
			// memory can, so one huge record still goes through.
			w.granted += w.cfg.Memory.Acquire(max(need, memChunk))
		} else {
			w.granted += g
		}
	}
	if len(w.arena)+len(key)+len(value) > 1<<32-1 {
		if err := w.spill(); err != nil {
			return err
		}
	}
	w.recs = append(w.recs, rec{prefix: keyPrefix(key), part: uint32(partition), off: uint32(len(w.arena)), klen: uint32(len(key)), vlen: uint32(len(value))})
	w.arena = append(w.arena, key...)
	w.arena = append(w.arena, value...)
	w.metrics.Records++
	return nil
}

func (w *Writer) key(r rec) []byte { return w.arena[r.off : r.off+r.klen] }
func (w *Writer) value(r rec) []byte {
	return w.arena[r.off+r.klen : r.off+r.klen+r.vlen]
}

func (w *Writer) sortRecs() {
	if w.cfg.Sort {
		slices.SortFunc(w.recs, func(a, b rec) int {
			if a.part != b.part {
				return int(a.part) - int(b.part)
			}
			if a.prefix != b.prefix {
				if a.prefix < b.prefix {
					return -1
				}
				return 1
			}
			return bytes.Compare(w.key(a), w.key(b))
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
			if err := bw.add(w.key(w.recs[i]), w.value(w.recs[i])); err != nil {
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

// spill sorts the buffer into a run on disk and frees its memory.
func (w *Writer) spill() error {
	path := w.tmpPath(fmt.Sprintf("spill%d", len(w.spills)))
	offsets, err := w.writeSegments(path)
	if err != nil {
		return fmt.Errorf("spill shuffle %d map %d: %w", w.cfg.ShuffleID, w.cfg.MapID, err)
	}
	w.spills = append(w.spills, spill{path, offsets})
	w.metrics.Spills++
	w.metrics.SpillBytes += offsets[len(offsets)-1]
	w.arena, w.recs = nil, nil
	w.releaseMemory()
	return nil
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

// publish renames the data file and then the index into place; the index is what
// readers look for, so it goes last.
func (w *Writer) publish(dataTmp string, offsets []int64) ([]int64, error) {
	index := IndexPath(w.cfg.Dirs, w.cfg.ShuffleID, w.cfg.MapID)
	if existing, err := readIndex(index); err == nil {
		os.Remove(dataTmp)
		return sizesOf(existing), nil // an earlier attempt won
	}
	indexTmp := w.tmpPath("index")
	if err := os.WriteFile(indexTmp, encodeIndex(offsets), 0o644); err != nil {
		os.Remove(dataTmp)
		return nil, err
	}
	if err := os.Rename(dataTmp, DataPath(w.cfg.Dirs, w.cfg.ShuffleID, w.cfg.MapID)); err != nil {
		os.Remove(indexTmp)
		return nil, err
	}
	// Link rather than rename: a link fails if another attempt published meanwhile.
	if err := os.Link(indexTmp, index); err != nil && !errors.Is(err, fs.ErrExist) {
		os.Remove(indexTmp)
		return nil, err
	}
	os.Remove(indexTmp)
	existing, err := readIndex(index)
	if err != nil {
		return nil, err
	}
	return sizesOf(existing), nil
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
	w.arena, w.recs = nil, nil
	w.releaseMemory()
}

// Metrics reports what the writer did.
func (w *Writer) Metrics() WriteMetrics { return w.metrics }
