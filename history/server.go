package history

import (
	_ "embed" // the list page
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/ui"
)

//go:embed assets/list.html
var listPage string

// ServerConfig configures a history server.
type ServerConfig struct {
	FS FS
	// Dir is the event log directory (spindle.history.fs.logDirectory).
	Dir string
	// Retained is how many applications stay replayed in memory
	// (spindle.history.retainedApplications); 0 means 50.
	Retained int
	// Limits bound each replayed application, as the live UI's do.
	Limits ui.Limits
	// Logs reads executors' logs for the logs pages; may be nil.
	Logs ui.LogSource
	Log  zerolog.Logger
}

// Server is `spindle history`: it lists the applications of an event log
// directory and serves each one's pages and API from its replayed log, at
// /history/<appId>/ (the final tracking URL YARN shows), and Spark's API
// across them at /api/v1/applications.
type Server struct {
	cfg  ServerConfig
	tmpl *template.Template
	mux  *http.ServeMux

	mu     sync.Mutex
	cache  map[string]*replayed // by log name
	recent []string             // log names, least recently used first
}

// replayed is an application's store and handler, and the log they were built
// from: an incomplete log that grew is replayed again.
type replayed struct {
	h       *ui.Handler
	size    int64
	parts   int
	updated time.Time
}

// NewServer returns the history server of cfg.Dir.
func NewServer(cfg ServerConfig) *Server {
	if cfg.Retained <= 0 {
		cfg.Retained = 50
	}
	s := &Server{cfg: cfg, cache: map[string]*replayed{}}
	s.tmpl = template.Must(template.New("list").Funcs(template.FuncMap{
		"time":  ui.FormatTime,
		"bytes": ui.FormatBytes,
		"link": func(a AppLog) string {
			return "history/" + url.PathEscape(a.App.ID) + "/" + attemptPath(a)
		},
		"duration": func(a AppLog) string {
			end := a.Ended
			if end.IsZero() {
				end = a.Updated
			}
			return ui.FormatDuration(end.Sub(a.Started))
		},
	}).Parse(listPage))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.list)
	mux.Handle("GET /static/", http.StripPrefix("/static/", ui.Static()))
	mux.HandleFunc("GET /api/v1/version", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"spark": ui.APIVersion})
	})
	mux.HandleFunc("GET /api/v1/applications", s.apiList)
	mux.HandleFunc("GET /api/v1/applications/{app}/", s.apiApp)
	mux.HandleFunc("GET /api/v1/applications/{app}", s.apiApp)
	mux.HandleFunc("GET /history/{app}", func(w http.ResponseWriter, r *http.Request) {
		// The pages' links are relative to the application's directory.
		http.Redirect(w, r, url.PathEscape(r.PathValue("app"))+"/", http.StatusFound)
	})
	mux.HandleFunc("GET /history/{app}/", s.app)
	s.mux = mux
	return s
}

// attemptPath is the attempt's path segment ("1/") when the log has one.
func attemptPath(a AppLog) string {
	if a.App.Attempt == "" {
		return ""
	}
	return url.PathEscape(a.App.Attempt) + "/"
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	logs, err := List(r.Context(), s.cfg.FS, s.cfg.Dir)
	data := struct {
		Dir   string
		Apps  []AppLog
		Error string
	}{Dir: s.cfg.Dir, Apps: logs}
	if err != nil {
		data.Error = err.Error()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := s.tmpl.Execute(w, data); err != nil {
		s.cfg.Log.Warn().Err(err).Msg("history: list page")
	}
}

func (s *Server) apiList(w http.ResponseWriter, r *http.Request) {
	logs, err := List(r.Context(), s.cfg.FS, s.cfg.Dir)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	status := strings.ToLower(r.URL.Query().Get("status"))
	out := []ui.AppInfo{}
	for _, a := range logs {
		if (status == "completed" && !a.Completed()) || (status == "running" && a.Completed()) {
			continue
		}
		out = append(out, a.app().Info())
	}
	writeJSON(w, http.StatusOK, out)
}

// app is the log's application as the store would report it, from the listing.
func (a AppLog) app() ui.App {
	app := ui.App{AppEvent: a.App, Started: a.Started, Ended: a.Ended, Updated: a.Updated}
	app.Status, app.Error = a.Status, a.Error
	if app.Updated.Before(a.Ended) {
		app.Updated = a.Ended
	}
	return app
}

func (s *Server) apiApp(w http.ResponseWriter, r *http.Request) {
	rest := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/v1/applications/"), "/"), "/")
	attempt := ""
	if len(rest) > 1 && isAttempt(rest[1]) {
		attempt = rest[1]
	}
	h, status, msg := s.handler(r, r.PathValue("app"), attempt)
	if h == nil {
		writeJSON(w, status, map[string]string{"message": msg})
		return
	}
	h.ServeHTTP(w, r)
}

func isAttempt(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

func (s *Server) app(w http.ResponseWriter, r *http.Request) {
	app := r.PathValue("app")
	prefix := "/history/" + app
	rest := strings.TrimPrefix(r.URL.Path, prefix+"/")
	attempt := ""
	if seg, _, _ := strings.Cut(rest, "/"); isAttempt(seg) {
		attempt = seg
		prefix += "/" + seg
		if rest == seg {
			http.Redirect(w, r, seg+"/", http.StatusFound)
			return
		}
	}
	h, status, msg := s.handler(r, app, attempt)
	if h == nil {
		http.Error(w, msg, status)
		return
	}
	http.StripPrefix(prefix, h).ServeHTTP(w, r)
}

// handler finds an application's log and replays it, or takes the replay kept
// from before if the log has not changed since.
func (s *Server) handler(r *http.Request, app, attempt string) (*ui.Handler, int, string) {
	logs, err := List(r.Context(), s.cfg.FS, s.cfg.Dir)
	if err != nil {
		return nil, http.StatusInternalServerError, err.Error()
	}
	a, ok := Find(logs, app, attempt)
	if !ok {
		return nil, http.StatusNotFound, "no event log of " + app + " in " + s.cfg.Dir
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.cache[a.Name]; c != nil && c.size == a.Size && c.parts == len(a.Parts) && c.updated.Equal(a.Updated) {
		s.touch(a.Name)
		return c.h, 0, ""
	}
	store := ui.NewStore(s.cfg.Limits)
	if err := Replay(r.Context(), a, store); err != nil {
		return nil, http.StatusInternalServerError, err.Error()
	}
	h := ui.NewHandler(ui.Config{Store: store, Logs: s.cfg.Logs})
	s.cache[a.Name] = &replayed{h: h, size: a.Size, parts: len(a.Parts), updated: a.Updated}
	s.touch(a.Name)
	for len(s.recent) > s.cfg.Retained {
		delete(s.cache, s.recent[0])
		s.recent = s.recent[1:]
	}
	return h, 0, ""
}

func (s *Server) touch(name string) {
	if i := slices.Index(s.recent, name); i >= 0 {
		s.recent = slices.Delete(s.recent, i, i+1)
	}
	s.recent = append(s.recent, name)
}
