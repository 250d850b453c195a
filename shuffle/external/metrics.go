package external

import (
	"bufio"
	"fmt"
	"net/http"
	"sort"
	"sync/atomic"

	"github.com/spindle-engine/spindle/shuffle"
)

// metrics serves the daemon's counters in Prometheus' text format (version 0.0.4).
type metrics struct {
	svc    *shuffle.Service
	store  *Store
	events [2]atomic.Int64 // control events applied, refused
}

func (m *metrics) controlEvent(ok bool) {
	if ok {
		m.events[0].Add(1)
	} else {
		m.events[1].Add(1)
	}
}

// ServeHTTP writes every metric; only GET and HEAD of /metrics are served.
func (m *metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metrics" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	b := bufio.NewWriter(w)
	defer b.Flush()
	st := m.svc.Stats()
	apps, execs := m.store.Counts()
	metric := func(name, kind, help string, samples ...sample) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
		for _, s := range samples {
			fmt.Fprintf(b, "%s%s %d\n", name, s.labels, s.value)
		}
	}
	metric("spindle_shuffle_blocks_served_total", "counter", "Map output segments sent whole.", sample{"", st.BlocksServed})
	metric("spindle_shuffle_bytes_served_total", "counter", "Map output bytes sent.", sample{"", st.BytesServed})
	metric("spindle_shuffle_open_streams", "gauge", "Fetch calls being served.", sample{"", st.OpenStreams})
	metric("spindle_shuffle_registered_applications", "gauge", "Applications whose secret the service holds.", sample{"", int64(apps)})
	metric("spindle_shuffle_registered_executors", "gauge", "Executors registered with the service.", sample{"", int64(execs)})
	keys := make([]shuffle.ErrorKey, 0, len(st.Errors))
	for k := range st.Errors {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Method != keys[j].Method {
			return keys[i].Method < keys[j].Method
		}
		return keys[i].Code < keys[j].Code
	})
	errs := make([]sample, 0, len(keys))
	for _, k := range keys {
		errs = append(errs, sample{fmt.Sprintf(`{method=%q,code=%q}`, k.Method, k.Code), st.Errors[k]})
	}
	metric("spindle_shuffle_errors_total", "counter", "Failed calls by method and gRPC code.", errs...)
	metric("spindle_shuffle_control_events_total", "counter", "Supervisor events applied and refused.",
		sample{`{result="applied"}`, m.events[0].Load()}, sample{`{result="refused"}`, m.events[1].Load()})
}

type sample struct {
	labels string
	value  int64
}
