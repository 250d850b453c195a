package history

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/ui"
)

// FS resolves the event log directory's filesystem; *hdfs.FileSystems is one.
type FS interface {
	Resolve(ctx context.Context, path string) (hdfs.FS, string, error)
}

// The files of one application's event log directory, <dir>/<app>[_<attempt>]/.
const (
	// partPrefix names the parts, events_00000.json, events_00001.json, ...: the
	// first holds the application's start alone, so that a listing reads little.
	partPrefix = "events_"
	partSuffix = ".json"
	// inProgress exists while the application runs (and stays if it dies).
	inProgress = "app.inprogress"
	// statusFile replaces inProgress when the application ends: how it ended.
	statusFile = "app.status"
)

func partName(i int) string { return fmt.Sprintf("%s%05d%s", partPrefix, i, partSuffix) }

// WriterConfig configures an event log.
type WriterConfig struct {
	FS FS
	// Dir is spindle.eventLog.dir: a local path, file:// or hdfs:// URL.
	Dir string
	// Name is the application's directory in Dir: its id, and its attempt if it has
	// one (appId_1).
	Name string
	// MaxFileSize rolls a part once it is this big (spindle.eventLog.rolling.maxFileSize).
	MaxFileSize int64
	Log         zerolog.Logger
}

// Writer writes an application's events as JSON lines, one Event a line, into
// parts rolled by size, as the application runs. It is a ui.Sink: Record never
// blocks the scheduler; a goroutine of its own writes, and flushes at least
// every flushInterval, so that a crash loses at most that much.
type Writer struct {
	cfg WriterConfig
	fs  hdfs.FS
	dir string // path within fs

	queue   chan ui.Event
	dropped atomic.Int64
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once

	// Owned by the writing goroutine until done is closed.
	part    int
	w       io.WriteCloser
	buf     *bufio.Writer
	written int64
	opened  time.Time
	err     error     // the first write error; later events are dropped
	end     *ui.Event // the application's end, once written
}

const (
	queueSize     = 10000
	flushInterval = time.Second
	// rollAge closes a part at the first job end once it is this old, even below
	// MaxFileSize: HDFS readers see an open file's last block only once it is
	// closed (colinmarc/hdfs reads up to the NameNode's length), so this bounds
	// what a live history view misses, and what a crash leaves unreadable until
	// the NameNode recovers the file's lease, to about a minute of events while
	// writing at most a part a minute.
	rollAge = time.Minute
)

// NewWriter creates the application's directory with its first part holding
// start (the application's AppStart), written and closed at once, and starts
// writing the events Record gets. ctx bounds the creation.
func NewWriter(ctx context.Context, cfg WriterConfig, start ui.Event) (*Writer, error) {
	if cfg.MaxFileSize <= 0 {
		cfg.MaxFileSize = 128 << 20
	}
	fsys, dir, err := cfg.FS.Resolve(ctx, cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("conf spindle.eventLog.dir=%s: %w", cfg.Dir, err)
	}
	dir = joinPath(dir, cfg.Name)
	if err := fsys.MkdirAll(ctx, dir, 0o770); err != nil {
		return nil, fmt.Errorf("event log %s: %w", dir, err)
	}
	w := &Writer{cfg: cfg, fs: fsys, dir: dir, queue: make(chan ui.Event, queueSize), stop: make(chan struct{}), done: make(chan struct{})}
	marker, err := fsys.Create(ctx, joinPath(dir, inProgress))
	if err != nil {
		return nil, fmt.Errorf("event log %s: %w", dir, err)
	}
	if err := marker.Close(); err != nil {
		return nil, fmt.Errorf("event log %s: %w", dir, err)
	}
	if err := w.open(ctx, 0); err != nil {
		return nil, err
	}
	w.write(start)
	if err := w.roll(ctx); err != nil {
		return nil, err
	}
	go w.loop(context.WithoutCancel(ctx))
	return w, nil
}

// Dir is the application's event log directory, within its filesystem.
func (w *Writer) Dir() string { return w.dir }

// Record implements ui.Sink. An event that finds the queue full is dropped and
// counted, as Spark's listener bus drops them: the scheduler must not wait for
// a filesystem. The log then says how many were lost.
func (w *Writer) Record(ev ui.Event) {
	select {
	case w.queue <- ev:
	default:
		w.dropped.Add(1)
	}
}

// Close writes the events still queued and closes the last part; if the
// application's end (AppEnd) was among the events, it marks the log complete. It
// returns the first error the writing met.
func (w *Writer) Close(ctx context.Context) error {
	w.once.Do(func() {
		close(w.stop)
		<-w.done
		if err := w.closePart(); err != nil && w.err == nil {
			w.err = err
		}
		if w.err == nil && w.end != nil {
			w.err = w.finish(ctx, *w.end)
		}
	})
	return w.err
}

// finish replaces the in-progress marker by the status file.
func (w *Writer) finish(ctx context.Context, end ui.Event) error {
	st := status{End: end.Time, Parts: w.part + 1}
	if end.App != nil {
		st.Status, st.Error = end.App.Status, end.App.Error
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	f, err := w.fs.Create(ctx, joinPath(w.dir, statusFile))
	if err != nil {
		return fmt.Errorf("event log %s: %w", w.dir, err)
	}
	if _, err := f.Write(b); err != nil {
		return errors.Join(fmt.Errorf("event log %s: %w", w.dir, err), f.Close())
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("event log %s: %w", w.dir, err)
	}
	return w.fs.RemoveAll(ctx, joinPath(w.dir, inProgress))
}

// status is the status file's content.
type status struct {
	End    time.Time `json:"end"`
	Status string    `json:"status,omitempty"`
	Error  string    `json:"error,omitempty"`
	Parts  int       `json:"parts"`
}

func (w *Writer) loop(ctx context.Context) {
	defer close(w.done)
	tick := time.NewTicker(flushInterval)
	defer tick.Stop()
	for {
		select {
		case ev := <-w.queue:
			w.write(ev)
			if ev.Kind == ui.KindJobEnd && time.Since(w.opened) > rollAge {
				w.fail(w.roll(ctx))
			}
		case <-tick.C:
			w.fail(w.flush())
		case <-w.stop:
			for {
				select {
				case ev := <-w.queue:
					w.write(ev)
				default:
					return
				}
			}
		}
	}
}

func (w *Writer) fail(err error) {
	if err != nil && w.err == nil {
		w.err = err
		w.cfg.Log.Error().Err(err).Str("dir", w.dir).Msg("event log: writing stopped; the history of this application will be incomplete")
	}
}

// write appends one event (after an EventsDropped for any lost before it) and
// rolls the part once it is big enough.
func (w *Writer) write(ev ui.Event) {
	if w.err != nil {
		return
	}
	if n := w.dropped.Swap(0); n > 0 {
		w.cfg.Log.Warn().Int64("events", n).Msg("event log: the queue was full; events were lost")
		w.line(ui.Event{Kind: ui.KindEventsDropped, Time: time.Now(), Dropped: n})
	}
	w.line(ev)
	if ev.Kind == ui.KindAppEnd {
		w.end = &ev
	}
	if w.err == nil && w.written >= w.cfg.MaxFileSize {
		w.fail(w.roll(context.Background()))
	}
}

func (w *Writer) line(ev ui.Event) {
	b, err := json.Marshal(ev)
	if err != nil {
		w.fail(fmt.Errorf("event %s: %w", ev.Kind, err))
		return
	}
	b = append(b, '\n')
	n, err := w.buf.Write(b)
	w.written += int64(n)
	if err != nil {
		w.fail(fmt.Errorf("event log %s: %w", joinPath(w.dir, partName(w.part)), err))
	}
}

func (w *Writer) open(ctx context.Context, part int) error {
	f, err := w.fs.Create(ctx, joinPath(w.dir, partName(part)))
	if err != nil {
		return fmt.Errorf("event log %s: %w", w.dir, err)
	}
	w.part, w.w, w.buf, w.written, w.opened = part, f, bufio.NewWriterSize(f, 64<<10), 0, time.Now()
	return nil
}

// roll closes the part and opens the next.
func (w *Writer) roll(ctx context.Context) error {
	if err := w.closePart(); err != nil {
		return err
	}
	return w.open(ctx, w.part+1)
}

func (w *Writer) closePart() error {
	if w.w == nil {
		return nil
	}
	err := w.buf.Flush()
	err = errors.Join(err, w.w.Close())
	w.w = nil
	if err != nil {
		return fmt.Errorf("event log %s: %w", joinPath(w.dir, partName(w.part)), err)
	}
	return nil
}

// flush pushes what is buffered to the filesystem: to the DataNodes on HDFS
// (colinmarc/hdfs's Flush), to the kernel for a local file, where it survives the
// process.
func (w *Writer) flush() error {
	if w.w == nil || w.buf.Buffered() == 0 {
		return nil
	}
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("event log %s: %w", joinPath(w.dir, partName(w.part)), err)
	}
	if f, ok := w.w.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			return fmt.Errorf("event log %s: %w", joinPath(w.dir, partName(w.part)), err)
		}
	}
	return nil
}

func joinPath(dir, name string) string {
	if len(dir) > 0 && dir[len(dir)-1] == '/' {
		return dir + name
	}
	return dir + "/" + name
}
