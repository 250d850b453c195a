package ui

import (
	"fmt"
	"time"
)

// formatBytes is a size as Spark's UI prints it: "12.3 MiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// formatDuration is a duration as Spark's UI prints it: "230 ms", "4.5 s",
// "3.2 min", "1.1 h".
func formatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%.1f min", d.Minutes())
	}
	return fmt.Sprintf("%.1f h", d.Hours())
}

// formatTime is a moment in the UI's tables, in UTC so that every viewer agrees.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// progress is a tasks bar: done and running out of total.
type progress struct {
	Done, Running, Total int
	DonePct, RunPct      float64
}

func newProgress(done, running, total int) progress {
	p := progress{Done: done, Running: running, Total: total}
	if total > 0 {
		p.DonePct = min(100, 100*float64(done)/float64(total))
		p.RunPct = min(100-p.DonePct, 100*float64(running)/float64(total))
	}
	return p
}
