package frame

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// encodeBatch encodes b as an Arrow IPC stream of one batch, dictionaries decoded:
// a shuffle record.
func encodeBatch(b arrow.RecordBatch) ([]byte, error) {
	b = plainBatch(b)
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(b.Schema()), ipc.WithAllocator(mem))
	if err := w.Write(b); err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeBatch decodes a batch encodeBatch made; it copies what it keeps.
func decodeBatch(data []byte) (arrow.RecordBatch, error) {
	r, err := ipc.NewReader(bytes.NewReader(data), ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("decode batch: %w", err)
	}
	defer r.Release()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("decode batch: %w", err)
		}
		return nil, errors.New("decode batch: no batch in the record")
	}
	b := r.RecordBatch()
	b.Retain()
	return b, nil
}

// spillFile is a run of batches on local disk, as an IPC stream.
type spillFile struct {
	path  string
	f     *os.File
	bw    *bufio.Writer
	w     *ipc.Writer
	rows  int64
	bytes int64
}

// newSpillFile creates a spill file in one of dirs.
func newSpillFile(dirs []string, name string) (*spillFile, error) {
	if len(dirs) == 0 {
		dirs = []string{os.TempDir()}
	}
	dir := filepath.Join(dirs[len(name)%len(dirs)], "frame-spill")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	f, err := os.CreateTemp(dir, name+"-*.arrows")
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	return &spillFile{path: f.Name(), f: f, bw: bufio.NewWriterSize(f, 1<<20)}, nil
}

func (s *spillFile) write(b arrow.RecordBatch) error {
	b = plainBatch(b)
	if s.w == nil {
		s.w = ipc.NewWriter(s.bw, ipc.WithSchema(b.Schema()), ipc.WithAllocator(mem))
	}
	if err := s.w.Write(b); err != nil {
		return fmt.Errorf("spill to %s: %w", s.path, err)
	}
	s.rows += b.NumRows()
	return nil
}

// finish closes the file for writing and returns the bytes written.
func (s *spillFile) finish() (int64, error) {
	if s.w != nil {
		if err := s.w.Close(); err != nil {
			return 0, fmt.Errorf("spill to %s: %w", s.path, err)
		}
	}
	if err := s.bw.Flush(); err != nil {
		return 0, fmt.Errorf("spill to %s: %w", s.path, err)
	}
	st, err := s.f.Stat()
	if err == nil {
		s.bytes = st.Size()
	}
	return s.bytes, s.f.Close()
}

// read pushes the file's batches to yield.
func (s *spillFile) read(yield func(arrow.RecordBatch) bool) error {
	if s.rows == 0 {
		return nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("read spill: %w", err)
	}
	defer f.Close()
	r, err := ipc.NewReader(bufio.NewReaderSize(f, 1<<20), ipc.WithAllocator(mem))
	if err != nil {
		return fmt.Errorf("read spill %s: %w", s.path, err)
	}
	defer r.Release()
	for r.Next() {
		b := r.RecordBatch()
		b.Retain()
		if !yield(b) {
			return nil
		}
	}
	if err := r.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read spill %s: %w", s.path, err)
	}
	return nil
}

func (s *spillFile) remove() { os.Remove(s.path) }

// pullBatches reads a spill file one batch at a time; read errors land in errs.
func pullBatches(f *spillFile, errs *[]error) (next func() (arrow.RecordBatch, bool), stop func()) {
	return iter.Pull(func(yield func(arrow.RecordBatch) bool) {
		if err := f.read(yield); err != nil {
			*errs = append(*errs, err)
		}
	})
}
