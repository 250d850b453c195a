package external

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sync"
)

// Event is one line of the control protocol: what the daemon's supervisor (the
// NodeManager aux service) tells it, one JSON object per line on its stdin:
//
//	{"seq":1,"op":"init","app":"application_1_0001","secret":"<base64>"}
//	{"seq":2,"op":"stop","app":"application_1_0001"}
//
// init records an application's secret (its executors may then register); stop
// deletes the files of the application's executors and forgets the application.
// Both are idempotent, so a supervisor resends every event the daemon has not
// acknowledged when it restarts the daemon.
type Event struct {
	Seq    int64  `json:"seq"`
	Op     string `json:"op"`
	App    string `json:"app"`
	Secret []byte `json:"secret,omitempty"`
}

// Ack is the daemon's answer to an event, one JSON line on its stdout, written
// once the event's effect is committed to the store: {"ack":1} or
// {"ack":1,"error":"..."} for an event it refused (a refused event is not retried).
type Ack struct {
	Ack   int64  `json:"ack"`
	Error string `json:"error,omitempty"`
}

// appIDPattern is what an application id may be: YARN's application_<ts>_<n>, or
// any short name of the same characters, which cannot smuggle a path.
var appIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// apply carries out one event.
func (d *Daemon) apply(ev Event) error {
	if !appIDPattern.MatchString(ev.App) || ev.App == "." || ev.App == ".." {
		return fmt.Errorf("bad application id %q", ev.App)
	}
	switch ev.Op {
	case "init":
		if len(ev.Secret) == 0 {
			return fmt.Errorf("init %s: no secret", ev.App)
		}
		if err := d.store.PutApp(ev.App, ev.Secret); err != nil {
			return err
		}
		d.log.Info().Str("app", ev.App).Msg("application initialized")
		return nil
	case "stop":
		files, err := d.svc.DropApplication(ev.App)
		if err != nil {
			return err
		}
		if err := d.store.RemoveApp(ev.App); err != nil {
			return err
		}
		d.log.Info().Str("app", ev.App).Int("files", files).Msg("application stopped")
		return nil
	}
	return fmt.Errorf("unknown op %q", ev.Op)
}

// control reads events from r until it ends or ctx does, answering each on out.
// A line that is not an event is answered with seq 0 and an error.
func (d *Daemon) control(ctx context.Context, r io.Reader, out *lineWriter) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if ctx.Err() != nil {
			return nil
		}
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var ev Event
		ack := Ack{}
		if err := json.Unmarshal(line, &ev); err != nil {
			ack.Error = "not an event: " + err.Error()
		} else {
			ack.Ack = ev.Seq
			if err := d.apply(ev); err != nil {
				ack.Error = err.Error()
				d.log.Error().Str("app", ev.App).Str("op", ev.Op).Err(err).Msg("control event refused")
			}
		}
		d.metrics.controlEvent(ack.Error == "")
		if err := out.writeJSON(ack); err != nil {
			return fmt.Errorf("control answer: %w", err)
		}
	}
	return sc.Err()
}

// lineWriter writes whole JSON lines to the supervisor, one at a time.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err = l.w.Write(append(b, '\n'))
	return err
}
