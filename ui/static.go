package ui

import (
	"io/fs"
	"net/http"
	"time"
)

// Static serves the pages' stylesheet and script (mount it at static/), for other
// pages that look like these: the history server's list.
func Static() http.Handler {
	sub, _ := fs.Sub(assets, "assets")
	return http.FileServerFS(sub)
}

// FormatTime, FormatDuration and FormatBytes print as the pages do.
func FormatTime(t time.Time) string         { return formatTime(t) }
func FormatDuration(d time.Duration) string { return formatDuration(d) }
func FormatBytes(n int64) string            { return formatBytes(n) }
