package roles

import (
	"runtime/debug"
	"testing"

	"github.com/spindle-engine/spindle/conf"
)

// TestTuneGC: the collector's percentage and soft limit come from the
// configuration, unless GOGC or GOMEMLIMIT is set, which the runtime has read.
func TestTuneGC(t *testing.T) {
	origPercent, origLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(origPercent)
		debug.SetMemoryLimit(origLimit)
	})
	for _, tt := range []struct {
		name, gogc, gomemlimit string
		wantPercent            int
		wantLimit              int64
	}{
		{name: "from the configuration", wantPercent: 250, wantLimit: 768 << 20},
		{name: "GOGC wins", gogc: "50", wantPercent: 100, wantLimit: 768 << 20},
		{name: "GOMEMLIMIT wins", gomemlimit: "1GiB", wantPercent: 250, wantLimit: 123},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			t.Setenv("GOMEMLIMIT", tt.gomemlimit)
			debug.SetGCPercent(100) // stand for what the runtime took from the environment
			debug.SetMemoryLimit(123)
			c := conf.New()
			for k, v := range map[string]string{"spindle.go.gcPercent": "250", "spindle.executor.memory": "768m"} {
				if err := c.Set(k, v); err != nil {
					t.Fatal(err)
				}
			}
			tuneGC(c, "spindle.executor.memory")
			if got := debug.SetGCPercent(100); got != tt.wantPercent {
				t.Errorf("GC percent %d, want %d", got, tt.wantPercent)
			}
			if got := debug.SetMemoryLimit(-1); got != tt.wantLimit {
				t.Errorf("memory limit %d, want %d", got, tt.wantLimit)
			}
		})
	}
}
