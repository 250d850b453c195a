package hdfs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// LineReader reads the lines of one split with Hadoop's LineRecordReader rule: a
// split not starting at 0 skips its first, partial, line (it belongs to the split
// before), and a split reads every line that starts before its end, even past it. So
// every line of a file is read by exactly one split.
type LineReader struct {
	f      File
	r      *bufio.Reader
	end    int64
	pos    int64  // offset of the next unread byte
	line   []byte // a view of r's buffer, or of long
	long   []byte // a line longer than r's buffer
	offset int64
	err    error
	path   string
}

// NewLineReader opens the split's file and positions it at the split's first line.
func NewLineReader(ctx context.Context, fsys FS, s Split) (*LineReader, error) {
	f, err := fsys.Open(ctx, s.Path)
	if err != nil {
		return nil, err
	}
	lr := &LineReader{f: f, end: s.Start + s.Length, path: s.Path}
	start := s.Start
	if start > 0 {
		start-- // so that a split starting right after a newline keeps its first line
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("seek %s to %d: %w", s.Path, start, err)
	}
	// A small split gets a small buffer: tiny splits are common in tests and skew.
	lr.r = bufio.NewReaderSize(f, int(min(256<<10, max(4<<10, s.Length+1))))
	lr.pos = start
	if s.Start > 0 {
		skipped, err := lr.r.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			lr.pos += int64(len(skipped))
			skipped, err = lr.r.ReadSlice('\n')
		}
		lr.pos += int64(len(skipped))
		if err != nil && !errors.Is(err, io.EOF) {
			f.Close()
			return nil, fmt.Errorf("read %s: %w", s.Path, err)
		}
	}
	return lr, nil
}

// Next reads the next line; it returns false at the end of the split or on error.
// A line that fits in the read buffer is not copied: Line is a view of the buffer.
func (lr *LineReader) Next() bool {
	if lr.err != nil || lr.pos >= lr.end {
		return false
	}
	lr.offset = lr.pos
	chunk, err := lr.r.ReadSlice('\n')
	lr.pos += int64(len(chunk))
	line := chunk
	if errors.Is(err, bufio.ErrBufferFull) {
		// Longer than the buffer: gather it in a buffer of its own.
		lr.long = append(lr.long[:0], chunk...)
		for errors.Is(err, bufio.ErrBufferFull) {
			chunk, err = lr.r.ReadSlice('\n')
			lr.long = append(lr.long, chunk...)
			lr.pos += int64(len(chunk))
		}
		line = lr.long
	}
	if err != nil {
		if !errors.Is(err, io.EOF) {
			lr.err = fmt.Errorf("read %s at %d: %w", lr.path, lr.pos, err)
			return false
		}
		if len(line) == 0 {
			lr.pos = lr.end // end of file
			return false
		}
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	lr.line = bytes.TrimSuffix(line, []byte("\r"))
	return true
}

// Line is the current line without its end of line; valid until the next Next.
func (lr *LineReader) Line() []byte { return lr.line }

// Offset is the byte offset in the file where the current line starts.
func (lr *LineReader) Offset() int64 { return lr.offset }

// Err is the error that stopped Next, if any.
func (lr *LineReader) Err() error { return lr.err }

// Close closes the file.
func (lr *LineReader) Close() error { return lr.f.Close() }

// LineNumberAt returns the 1-based number of the line that starts at offset. It reads
// the file from the start, so it serves error messages, not the data path.
func LineNumberAt(ctx context.Context, fsys FS, path string, offset int64) (int64, error) {
	f, err := fsys.Open(ctx, path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	var line int64 = 1
	var read int64
	buf := make([]byte, 64<<10)
	for read < offset {
		n, err := r.Read(buf[:min(int64(len(buf)), offset-read)])
		line += int64(bytes.Count(buf[:n], []byte{'\n'}))
		read += int64(n)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return 0, err
		}
	}
	return line, nil
}
