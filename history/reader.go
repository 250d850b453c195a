package history

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/ui"
)

// AppLog is one application's event log as a listing finds it: from its first
// part and its status file alone, whatever the size of the rest.
type AppLog struct {
	// Name is the log's directory in the log directory (appId, or appId_attempt).
	Name string
	App  ui.AppEvent
	// Started is the application's start; Ended its end, zero when the log has
	// none (it runs, or it died).
	Started, Ended time.Time
	Status, Error  string
	// Updated is when a part was last written; Size the parts' bytes.
	Updated time.Time
	Size    int64
	Parts   []string // the parts' paths within the filesystem, in order

	fs hdfs.FS
}

// Completed says the log holds the application's end.
func (a AppLog) Completed() bool { return !a.Ended.IsZero() }

// maxStartLine bounds the first part's one line (the configuration is in it).
const maxStartLine = 16 << 20

// List lists the application logs in dir, newest start first. A directory that is
// not an event log (no first part) is skipped; one whose first part cannot be
// read is an error naming it.
func List(ctx context.Context, fsys FS, dir string) ([]AppLog, error) {
	f, p, err := fsys.Resolve(ctx, dir)
	if err != nil {
		return nil, err
	}
	entries, err := f.List(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("event log directory %s: %w", dir, err)
	}
	var out []AppLog
	for _, e := range entries {
		if !e.IsDir {
			continue
		}
		a, ok, err := readAppLog(ctx, f, e.Path)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b AppLog) int { return b.Started.Compare(a.Started) })
	return out, nil
}

func readAppLog(ctx context.Context, f hdfs.FS, dir string) (AppLog, bool, error) {
	files, err := f.List(ctx, dir)
	if err != nil {
		return AppLog{}, false, fmt.Errorf("event log %s: %w", dir, err)
	}
	a := AppLog{Name: dir[strings.LastIndexByte(dir, '/')+1:], fs: f}
	var st *hdfs.FileInfo
	for i := range files {
		fi := files[i]
		name := fi.Path[strings.LastIndexByte(fi.Path, '/')+1:]
		switch {
		case name == statusFile:
			st = &files[i]
		case strings.HasPrefix(name, partPrefix) && strings.HasSuffix(name, partSuffix):
			if _, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, partPrefix), partSuffix)); err != nil {
				continue
			}
			a.Parts = append(a.Parts, fi.Path)
			a.Size += fi.Size
			if fi.ModTime.After(a.Updated) {
				a.Updated = fi.ModTime
			}
		}
	}
	slices.Sort(a.Parts) // zero-padded: names sort by number
	if len(a.Parts) == 0 {
		return AppLog{}, false, nil
	}
	start, err := firstEvent(ctx, f, a.Parts[0])
	if err != nil {
		return AppLog{}, false, err
	}
	if start.Kind != ui.KindAppStart || start.App == nil {
		return AppLog{}, false, fmt.Errorf("event log %s: the first event is %s, not %s", a.Parts[0], start.Kind, ui.KindAppStart)
	}
	a.App, a.Started = *start.App, start.Time
	if st != nil {
		b, err := readSmall(ctx, f, st.Path)
		if err != nil {
			return AppLog{}, false, err
		}
		var s status
		if err := json.Unmarshal(b, &s); err != nil {
			return AppLog{}, false, fmt.Errorf("event log %s: %w", st.Path, err)
		}
		a.Ended, a.Status, a.Error = s.End, s.Status, s.Error
	}
	return a, true, nil
}

func firstEvent(ctx context.Context, f hdfs.FS, path string) (ui.Event, error) {
	r, err := f.Open(ctx, path)
	if err != nil {
		return ui.Event{}, fmt.Errorf("event log %s: %w", path, err)
	}
	defer r.Close()
	br := bufio.NewReaderSize(r, 64<<10)
	line, err := readLine(br, maxStartLine)
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		return ui.Event{}, fmt.Errorf("event log %s: first line: %w", path, err)
	}
	var ev ui.Event
	if err := json.Unmarshal(line, &ev); err != nil {
		return ui.Event{}, fmt.Errorf("event log %s:1: %w", path, err)
	}
	return ev, nil
}

func readSmall(ctx context.Context, f hdfs.FS, path string) ([]byte, error) {
	r, err := f.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("event log %s: %w", path, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("event log %s: %w", path, err)
	}
	return b, nil
}

// readLine reads one line without its newline, at most max bytes; io.EOF with
// the bytes read says the line has no newline (the file ends within it).
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > max {
			return nil, fmt.Errorf("a line longer than %d bytes", max)
		}
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return line, err
		}
	}
}

// maxEventLine bounds one event's line; events are small but for AppStart.
const maxEventLine = 16 << 20

// Replay reads a log's events in order into sink. A crash leaves the newest
// part's last line cut short (or, on HDFS, the part shorter than written until
// the NameNode recovers its lease); that line is skipped. Any other line that is
// not an event is an error naming its file and line.
func Replay(ctx context.Context, a AppLog, sink ui.Sink) error {
	for i, p := range a.Parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		last := i == len(a.Parts)-1
		if err := replayPart(ctx, a.fs, p, last, sink); err != nil {
			return err
		}
	}
	return nil
}

func replayPart(ctx context.Context, f hdfs.FS, path string, last bool, sink ui.Sink) error {
	r, err := f.Open(ctx, path)
	if err != nil {
		return fmt.Errorf("event log %s: %w", path, err)
	}
	defer r.Close()
	br := bufio.NewReaderSize(r, 256<<10)
	for n := 1; ; n++ {
		line, err := readLine(br, maxEventLine)
		if errors.Is(err, io.EOF) {
			if len(line) == 0 {
				return nil
			}
			var ev ui.Event
			if jerr := json.Unmarshal(line, &ev); jerr != nil {
				if last {
					return nil // the newest part's cut-off line: the writer died in it
				}
				return fmt.Errorf("event log %s:%d: %w", path, n, jerr)
			}
			sink.Record(ev)
			return nil
		}
		if err != nil {
			return fmt.Errorf("event log %s:%d: %w", path, n, err)
		}
		var ev ui.Event
		if err := json.Unmarshal(line, &ev); err != nil {
			return fmt.Errorf("event log %s:%d: %w", path, n, err)
		}
		sink.Record(ev)
	}
}

// Find finds the log of an application in a listing: the attempt named, else the
// newest attempt.
func Find(logs []AppLog, app, attempt string) (AppLog, bool) {
	var best AppLog
	found := false
	for _, a := range logs {
		if a.App.ID != app || (attempt != "" && a.App.Attempt != attempt) {
			continue
		}
		if !found || a.Started.After(best.Started) {
			best, found = a, true
		}
	}
	return best, found
}
