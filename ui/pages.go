package ui

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

//go:embed assets
var assets embed.FS

// LogSource reads executors' container logs for the logs page: from the
// NodeManager while the container runs, from YARN's aggregated logs after.
type LogSource interface {
	// ContainerLog returns a log file of an executor's container, and where it was
	// read from.
	ContainerLog(ctx context.Context, app App, x Executor, file string) (content []byte, from string, err error)
}

// Config configures a Handler.
type Config struct {
	Store *Store
	// Live says the application runs in this process (the driver's UI); else the
	// store was replayed from an event log (the history server).
	Live bool
	// Logs reads executors' logs; nil leaves the logs pages out.
	Logs LogSource
	// Metrics add to /metrics (the allocator's counters); Live handlers also
	// report the driver process's own.
	Metrics []func(*MetricsWriter)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler serves the pages, the API and the metrics of one application.
type Handler struct {
	cfg  Config
	tmpl *template.Template
	mux  *http.ServeMux
}

// maxLogBytes bounds the log a page shows: its tail.
const maxLogBytes = 1 << 20

// NewHandler returns the handler of cfg.Store.
func NewHandler(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg}
	h.tmpl = template.Must(template.New("").Funcs(template.FuncMap{
		"time":     formatTime,
		"dur":      formatDuration,
		"bytes":    formatBytes,
		"ms":       func(n int64) time.Duration { return time.Duration(n) * time.Millisecond },
		"ns":       func(n int64) time.Duration { return time.Duration(n) },
		"add":      func(a, b int) int { return a + b },
		"sub":      func(a, b int) int { return a - b },
		"progress": newProgress,
		"jobtable": func(id, title string, jobs []JobView, now time.Time) any {
			return struct {
				ID, Title string
				Jobs      []JobView
				Now       time.Time
			}{id, title, jobs, now}
		},
		"stagedur": func(s StageView, now time.Time) string {
			if s.Submitted.IsZero() {
				return "-"
			}
			end := s.Completed
			if end.IsZero() {
				end = now
			}
			return formatDuration(end.Sub(s.Submitted))
		},
		"taskdur":  func(t Task, now time.Time) string { return formatDuration(durationOf(t, now)) },
		"quantile": formatQuantile,
		"nmlog":    nmLogURL,
	}).ParseFS(assets, "assets/pages.html"))
	static, _ := fs.Sub(assets, "assets")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.jobs)
	mux.HandleFunc("GET /jobs", h.jobs)
	mux.HandleFunc("GET /job", h.job)
	mux.HandleFunc("GET /stages", h.stages)
	mux.HandleFunc("GET /stage", h.stage)
	mux.HandleFunc("GET /executors", h.executors)
	mux.HandleFunc("GET /environment", h.environment)
	mux.HandleFunc("GET /timeline", h.timeline)
	mux.HandleFunc("GET /logs", h.logs)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /metrics", h.metrics)
	mux.Handle("GET /api/v1/", apiHandler{h})
	h.mux = mux
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Pages change as the application runs: a proxy must not keep them.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.mux.ServeHTTP(w, r)
}

// page is what every template gets; each page fills its own fields.
type page struct {
	Title, Tab string
	App        App
	State      string
	Live       bool
	Now        time.Time
	Elapsed    time.Duration

	Active, Completed, Failed []JobView
	Timeline                  timelinePicture
	Job                       *JobView
	DAG                       dagPicture
	Stages                    []StageView
	Stage                     *StageView
	Quantiles                 []Quantile
	Succeeded                 int
	Executors                 []Executor
	Runtime, Conf             []keyValue
	Redacted                  string
	LogFile, Log, LogError    string
	LogSource                 string
	Executor                  Executor
	Message                   string
}

type keyValue struct{ Key, Value string }

func (h *Handler) newPage(title, tab string) *page {
	app := h.cfg.Store.App()
	now := h.cfg.Now()
	p := &page{Title: title, Tab: tab, App: app, Live: h.cfg.Live, Now: now, State: appState(app, h.cfg.Live)}
	end := app.Ended
	if end.IsZero() {
		end = now
		if !h.cfg.Live {
			end = app.Updated
		}
	}
	p.Elapsed = end.Sub(app.Started)
	return p
}

// appState is the application's state as the pages show it.
func appState(app App, live bool) string {
	switch {
	case !app.Ended.IsZero() && app.Status != "":
		return app.Status
	case !app.Ended.IsZero():
		return JobSucceeded
	case live:
		return JobRunning
	}
	return "INCOMPLETE" // its log ends without the application's end: it died, or runs still
}

func (h *Handler) render(w http.ResponseWriter, name string, p *page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := h.tmpl.ExecuteTemplate(w, name, p); err != nil {
		// The header is out already; the page ends where the error struck.
		fmt.Fprintf(w, "<p class=\"error\">%s</p>", template.HTMLEscapeString(err.Error()))
	}
}

func (h *Handler) notFound(w http.ResponseWriter, msg string) {
	p := h.newPage("Not found", "")
	p.Message = msg
	w.WriteHeader(http.StatusNotFound)
	h.render(w, "notfound", p)
}

// maxTimelineTasks bounds the tasks the timeline page draws; the jobs page's
// timeline draws fewer, so that the first page stays quick to load.
const (
	maxTimelineTasks = 2000
	maxJobsPageTasks = 500
)

func (h *Handler) jobs(w http.ResponseWriter, _ *http.Request) {
	p := h.newPage("Jobs", "jobs")
	all := h.cfg.Store.Jobs()
	for _, j := range all {
		switch j.Status {
		case JobRunning:
			p.Active = append(p.Active, j)
		case JobFailed:
			p.Failed = append(p.Failed, j)
		default:
			p.Completed = append(p.Completed, j)
		}
	}
	p.Timeline = layoutTimeline(p.App, all, h.cfg.Store.Executors(), h.cfg.Store.RecentTasks(maxJobsPageTasks), h.timelineNow(p))
	h.render(w, "jobs", p)
}

// timelineNow is the right end of a timeline: now for a live application, its
// last event for a replayed one that did not end.
func (h *Handler) timelineNow(p *page) time.Time {
	if !h.cfg.Live && p.App.Ended.IsZero() {
		return p.App.Updated
	}
	return p.Now
}

func intParam(r *http.Request, name string) (int, bool) {
	n, err := strconv.Atoi(r.URL.Query().Get(name))
	return n, err == nil
}

func (h *Handler) job(w http.ResponseWriter, r *http.Request) {
	id, ok := intParam(r, "id")
	j, found := h.cfg.Store.Job(id)
	if !ok || !found {
		h.notFound(w, fmt.Sprintf("No job %q (it may be older than spindle.ui.retainedJobs).", r.URL.Query().Get("id")))
		return
	}
	p := h.newPage(fmt.Sprintf("Job %d", id), "jobs")
	p.Job, p.DAG = &j, layoutDAG(j.Stages)
	h.render(w, "job", p)
}

func (h *Handler) stages(w http.ResponseWriter, _ *http.Request) {
	p := h.newPage("Stages", "stages")
	p.Stages = h.cfg.Store.Stages()
	h.render(w, "stages", p)
}

func (h *Handler) stage(w http.ResponseWriter, r *http.Request) {
	id, ok := intParam(r, "id")
	attempt, _ := intParam(r, "attempt")
	st, found := h.cfg.Store.Stage(id, attempt, true)
	if !ok || !found {
		h.notFound(w, fmt.Sprintf("No attempt %d of stage %q (it may be older than spindle.ui.retainedStages).", attempt, r.URL.Query().Get("id")))
		return
	}
	p := h.newPage(fmt.Sprintf("Stage %d.%d", id, attempt), "stages")
	p.Stage, p.Quantiles = &st, Quantiles(st.Tasks)
	for _, t := range st.Tasks {
		if t.Status == TaskSuccess {
			p.Succeeded++
		}
	}
	h.render(w, "stage", p)
}

func (h *Handler) executors(w http.ResponseWriter, _ *http.Request) {
	p := h.newPage("Executors", "executors")
	p.Executors = h.cfg.Store.Executors()
	h.render(w, "executors", p)
}

func (h *Handler) environment(w http.ResponseWriter, _ *http.Request) {
	p := h.newPage("Environment", "environment")
	p.Runtime, p.Conf, p.Redacted = sortedPairs(p.App.Runtime), sortedPairs(p.App.Conf), Redacted
	h.render(w, "environment", p)
}

func sortedPairs(m map[string]string) []keyValue {
	out := make([]keyValue, 0, len(m))
	for k, v := range m {
		out = append(out, keyValue{k, v})
	}
	slices.SortFunc(out, func(a, b keyValue) int {
		if a.Key < b.Key {
			return -1
		}
		if a.Key > b.Key {
			return 1
		}
		return 0
	})
	return out
}

func (h *Handler) timeline(w http.ResponseWriter, _ *http.Request) {
	p := h.newPage("Timeline", "timeline")
	p.Timeline = layoutTimeline(p.App, h.cfg.Store.Jobs(), h.cfg.Store.Executors(), h.cfg.Store.RecentTasks(maxTimelineTasks), h.timelineNow(p))
	h.render(w, "timeline", p)
}

func (h *Handler) logs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	x, found := h.cfg.Store.Executor(q.Get("executor"))
	file := q.Get("file")
	if file == "" {
		file = "stderr"
	}
	switch {
	case !found:
		h.notFound(w, fmt.Sprintf("No executor %q.", q.Get("executor")))
		return
	case h.cfg.Logs == nil || x.Container == "":
		h.notFound(w, "This application's logs are not reachable from here.")
		return
	}
	p := h.newPage(file+" of executor "+x.ID, "executors")
	p.Executor, p.LogFile = x, file
	b, from, err := h.cfg.Logs.ContainerLog(r.Context(), p.App, x, file)
	if err != nil {
		p.LogError = err.Error()
	} else {
		if len(b) > maxLogBytes {
			from += fmt.Sprintf("; its last %s of %s", formatBytes(maxLogBytes), formatBytes(int64(len(b))))
			b = b[len(b)-maxLogBytes:]
		}
		p.Log, p.LogSource = string(b), from
	}
	h.render(w, "logs", p)
}

// nmLogURL is a container's log on its NodeManager's own web page, which works
// while the container's logs are there.
func nmLogURL(x Executor, user string) string {
	return "http://" + x.NodeHTTP + "/node/containerlogs/" + url.PathEscape(x.Container) + "/" + url.PathEscape(user) + "/stderr/?start=-65536"
}

func formatQuantile(q Quantile, v float64) string {
	switch {
	case q.Bytes:
		return formatBytes(int64(v))
	case q.Millis:
		return formatDuration(time.Duration(v) * time.Millisecond)
	}
	return strconv.FormatInt(int64(v), 10)
}
