package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestStageLine(t *testing.T) {
	for _, tt := range []struct {
		p     stageProgress
		width int
		want  string
	}{
		{stageProgress{id: 2, total: 64, done: 37, running: 2}, 40, "[Stage 2:=========>       (37 + 2) / 64]"},
		{stageProgress{id: 0, total: 4, done: 0, running: 4}, 30, "[Stage 0:>        (0 + 4) / 4]"},
		{stageProgress{id: 1, total: 4, done: 4, running: 0}, 30, "[Stage 1:=========(4 + 0) / 4]"},
		{stageProgress{id: 9, total: 1000, done: 1, running: 1}, 10, "[Stage 9:(1 + 1) / 1000]"},
	} {
		p := tt.p
		got := stageLine(&p, tt.width)
		if got != tt.want {
			t.Errorf("stageLine(%+v, %d) = %q, want %q", tt.p, tt.width, got, tt.want)
		}
		if len(got) != tt.width && tt.width >= len("[Stage 9:(1 + 1) / 1000]") {
			t.Errorf("stageLine(%+v) is %d wide, want %d", tt.p, len(got), tt.width)
		}
	}
}

func TestProgressBarClearsAtJobEnd(t *testing.T) {
	var b bytes.Buffer
	m := NewMetrics(NewBar(&b))
	m.active[3] = &stageProgress{id: 3, total: 10, done: 5}
	m.draw(false)
	if !strings.Contains(b.String(), "[Stage 3:") {
		t.Fatalf("no progress drawn: %q", b.String())
	}
	m.JobEnded(nil, nil)
	if !strings.HasSuffix(b.String(), "\r") {
		t.Fatalf("progress line not cleared at job end: %q", b.String())
	}
}
