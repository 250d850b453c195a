package shuffle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const indexMagic = "SPIX"

func fileBase(dirs []string, shuffleID, mapID int) string {
	d := dirs[(shuffleID*31+mapID)%len(dirs)]
	return filepath.Join(d, fmt.Sprintf("shuffle_%d_%d", shuffleID, mapID))
}

// DataPath is where a map output's data file lives.
func DataPath(dirs []string, shuffleID, mapID int) string {
	return fileBase(dirs, shuffleID, mapID) + ".data"
}

// IndexPath is where a map output's index file lives.
func IndexPath(dirs []string, shuffleID, mapID int) string {
	return fileBase(dirs, shuffleID, mapID) + ".index"
}

func encodeIndex(offsets []int64) []byte {
	b := append([]byte(indexMagic), 1)
	b = binary.BigEndian.AppendUint32(b, uint32(len(offsets)-1))
	for _, o := range offsets {
		b = binary.BigEndian.AppendUint64(b, uint64(o))
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// readIndex reads and checks an index file.
func readIndex(path string) ([]int64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrMissingOutput)
	}
	if err != nil {
		return nil, err
	}
	if len(b) < 13 || string(b[:4]) != indexMagic || b[4] != 1 {
		return nil, fmt.Errorf("index %s: bad header: %w", path, ErrCorrupt)
	}
	n := int(binary.BigEndian.Uint32(b[5:9]))
	if len(b) != 9+8*(n+1)+4 {
		return nil, fmt.Errorf("index %s: %d bytes for %d partitions: %w", path, len(b), n, ErrCorrupt)
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[len(b)-4:]) {
		return nil, fmt.Errorf("index %s: checksum mismatch: %w", path, ErrCorrupt)
	}
	offsets := make([]int64, n+1)
	for i := range offsets {
		offsets[i] = int64(binary.BigEndian.Uint64(body[9+8*i:]))
	}
	return offsets, nil
}

// verifyOutput checks a published map output whole: its index, the data file's
// length against it, and every block of every segment (framing and checksum). It
// returns the segment offsets.
func verifyOutput(index, data string) ([]int64, error) {
	offsets, err := readIndex(index)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(data)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", data, ErrMissingOutput)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() != offsets[len(offsets)-1] {
		return nil, fmt.Errorf("data %s: %d bytes, the index says %d: %w", data, st.Size(), offsets[len(offsets)-1], ErrCorrupt)
	}
	for p := range len(offsets) - 1 {
		r := NewSegmentReader(io.NopCloser(io.NewSectionReader(f, offsets[p], offsets[p+1]-offsets[p])), fmt.Sprintf("%s segment %d", data, p))
		for r.Next() {
		}
		if err := r.Err(); err != nil {
			return nil, err
		}
	}
	return offsets, nil
}

// sizesOf turns segment offsets into segment sizes.
func sizesOf(offsets []int64) []int64 {
	sizes := make([]int64, len(offsets)-1)
	for i := range sizes {
		sizes[i] = offsets[i+1] - offsets[i]
	}
	return sizes
}

type sectionCloser struct {
	*io.SectionReader
	f *os.File
}

func (s sectionCloser) Close() error { return s.f.Close() }

// OpenSegment opens the bytes of one reduce partition of a map output and reports
// their length. Missing files give an error wrapping ErrMissingOutput.
func OpenSegment(dirs []string, shuffleID, mapID, reduceID int) (io.ReadCloser, int64, error) {
	offsets, err := readIndex(IndexPath(dirs, shuffleID, mapID))
	if err != nil {
		return nil, 0, err
	}
	if reduceID < 0 || reduceID >= len(offsets)-1 {
		return nil, 0, fmt.Errorf("shuffle %d map %d has %d partitions, not %d", shuffleID, mapID, len(offsets)-1, reduceID)
	}
	path := DataPath(dirs, shuffleID, mapID)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%s: %w", path, ErrMissingOutput)
	}
	if err != nil {
		return nil, 0, err
	}
	lo, hi := offsets[reduceID], offsets[reduceID+1]
	return sectionCloser{io.NewSectionReader(f, lo, hi-lo), f}, hi - lo, nil
}

// RemoveShuffle deletes every map output of a shuffle.
func RemoveShuffle(dirs []string, shuffleID int) error {
	prefix := fmt.Sprintf("shuffle_%d_", shuffleID)
	var first error
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) {
				if err := os.Remove(filepath.Join(d, e.Name())); err != nil && first == nil {
					first = err
				}
			}
		}
	}
	return first
}

func ioSection(f *os.File, lo, hi int64) *io.SectionReader { return io.NewSectionReader(f, lo, hi-lo) }
