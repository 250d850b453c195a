package ui

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// MetricsWriter collects metrics and writes them in Prometheus' text exposition
// format (version 0.0.4): each family's HELP and TYPE once, then its samples.
type MetricsWriter struct {
	order    []string
	families map[string]*family
}

type family struct {
	help, kind string
	samples    []string
}

func newMetricsWriter() *MetricsWriter { return &MetricsWriter{families: map[string]*family{}} }

// Gauge adds a sample of a gauge; labels are name, value pairs.
func (m *MetricsWriter) Gauge(name, help string, v float64, labels ...string) {
	m.add(name, help, "gauge", v, labels)
}

// Counter adds a sample of a counter; labels are name, value pairs.
func (m *MetricsWriter) Counter(name, help string, v float64, labels ...string) {
	m.add(name, help, "counter", v, labels)
}

func (m *MetricsWriter) add(name, help, kind string, v float64, labels []string) {
	f := m.families[name]
	if f == nil {
		f = &family{help: help, kind: kind}
		m.families[name] = f
		m.order = append(m.order, name)
	}
	var b strings.Builder
	b.WriteString(name)
	if len(labels) > 0 {
		b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(labels[i])
			b.WriteString(`="`)
			b.WriteString(escapeLabel(labels[i+1]))
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(formatValue(v))
	f.samples = append(f.samples, b.String())
}

func (m *MetricsWriter) writeTo(w io.Writer) error {
	var b strings.Builder
	for _, name := range m.order {
		f := m.families[name]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, strings.ReplaceAll(f.help, "\n", " "), name, f.kind)
		for _, s := range f.samples {
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func (h *Handler) metrics(w http.ResponseWriter, _ *http.Request) {
	m := newMetricsWriter()
	h.collect(m)
	for _, c := range h.cfg.Metrics {
		c(m)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = m.writeTo(w) // a scraper that went away is nothing to report
}

// collect adds the driver's, the scheduler's and the executors' metrics.
func (h *Handler) collect(m *MetricsWriter) {
	s := h.cfg.Store
	app := s.App()
	a := []string{"app", app.ID}
	if h.cfg.Live {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		m.Gauge("spindle_driver_heap_bytes", "Go heap in use by the driver.", float64(ms.HeapAlloc), a...)
		m.Gauge("spindle_driver_goroutines", "Goroutines of the driver.", float64(runtime.NumGoroutine()), a...)
		m.Counter("spindle_driver_gc_total", "Garbage collections of the driver.", float64(ms.NumGC), a...)
		m.Counter("spindle_driver_gc_pause_seconds_total", "Stop-the-world pauses of the driver's garbage collector.", float64(ms.PauseTotalNs)/1e9, a...)
		m.Gauge("spindle_driver_uptime_seconds", "Time since the application started.", h.cfg.Now().Sub(app.Started).Seconds(), a...)
	}
	tasks, stages, jobs := s.Running()
	c := s.Counts()
	m.Gauge("spindle_scheduler_tasks_running", "Task attempts running.", float64(tasks), a...)
	m.Gauge("spindle_scheduler_tasks_pending", "Tasks waiting for a slot.", float64(s.Pending()), a...)
	m.Counter("spindle_scheduler_tasks_succeeded_total", "Task attempts that succeeded.", float64(c.TasksSucceeded), a...)
	m.Counter("spindle_scheduler_tasks_failed_total", "Task attempts that failed.", float64(c.TasksFailed), a...)
	m.Counter("spindle_scheduler_tasks_killed_total", "Task attempts that were killed.", float64(c.TasksKilled), a...)
	m.Gauge("spindle_scheduler_stages_active", "Stage attempts running.", float64(stages), a...)
	m.Counter("spindle_scheduler_stages_total", "Stage attempts submitted.", float64(c.Stages), a...)
	m.Counter("spindle_scheduler_stages_failed_total", "Stage attempts that failed.", float64(c.StagesFailed), a...)
	m.Gauge("spindle_scheduler_jobs_active", "Jobs running.", float64(jobs), a...)
	m.Counter("spindle_scheduler_jobs_total", "Jobs started.", float64(c.Jobs), a...)
	m.Counter("spindle_scheduler_jobs_failed_total", "Jobs that failed.", float64(c.JobsFailed), a...)
	m.Counter("spindle_executors_added_total", "Executors that registered.", float64(c.ExecutorsAdded), a...)
	m.Counter("spindle_executors_removed_total", "Executors that went away.", float64(c.ExecutorsRemoved), a...)
	execs := s.Executors()
	sort.SliceStable(execs, func(i, k int) bool { return execLess(execs[i].ID, execs[k].ID) })
	for _, x := range execs {
		if !x.Active {
			continue // a gone executor's series end, as Prometheus expects
		}
		l := []string{"app", app.ID, "executor", x.ID, "host", x.Host, "node", x.Node}
		hb := x.HeartbeatMetric
		m.Gauge("spindle_executor_cores", "Task slots of the executor.", float64(x.Cores), l...)
		m.Gauge("spindle_executor_memory_limit_bytes", "The executor's memory (spindle.executor.memory).", float64(x.MemoryBytes), l...)
		m.Gauge("spindle_executor_heap_bytes", "Go heap in use by the executor, at its last heartbeat.", float64(hb.HeapBytes), l...)
		m.Gauge("spindle_executor_rss_bytes", "Resident set size of the executor's process, at its last heartbeat.", float64(hb.RSSBytes), l...)
		m.Counter("spindle_executor_gc_total", "Garbage collections of the executor.", float64(hb.GCCount), l...)
		m.Counter("spindle_executor_gc_pause_seconds_total", "Stop-the-world pauses of the executor's garbage collector.", float64(hb.GCPauseNanos)/1e9, l...)
		m.Gauge("spindle_executor_tasks_running", "Tasks running on the executor, at its last heartbeat.", float64(hb.RunningTasks), l...)
		m.Counter("spindle_executor_tasks_completed_total", "Tasks the executor completed.", float64(hb.CompletedTasks), l...)
		m.Counter("spindle_executor_tasks_failed_total", "Tasks that failed on the executor.", float64(hb.FailedTasks), l...)
		m.Counter("spindle_executor_shuffle_read_bytes_total", "Shuffle bytes the executor's tasks read.", float64(hb.ShuffleReadBytes), l...)
		m.Counter("spindle_executor_shuffle_write_bytes_total", "Shuffle bytes the executor's tasks wrote.", float64(hb.ShuffleWriteBytes), l...)
		m.Counter("spindle_executor_spill_bytes_total", "Bytes the executor's tasks spilled to disk.", float64(hb.SpillBytes), l...)
		m.Counter("spindle_executor_records_read_total", "Records the executor's tasks read.", float64(hb.RecordsRead), l...)
		m.Counter("spindle_executor_task_seconds_total", "Time the executor's tasks ran.", float64(hb.TaskTimeNanos)/1e9, l...)
		if !x.LastHeartbeat.IsZero() {
			m.Gauge("spindle_executor_last_heartbeat_timestamp_seconds", "When the executor's last heartbeat came.", float64(x.LastHeartbeat.UnixNano())/1e9, l...)
		}
	}
}
