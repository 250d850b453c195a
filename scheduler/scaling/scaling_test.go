package scaling

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// run plays a scenario: each step is "at +<d> <event> ..." and the tick after it; the
// transcript records every decision, so tests compare decisions, not state.
func run(t *testing.T, cfg Config, steps []string) []string {
	t.Helper()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(cfg)
	var out []string
	for _, step := range steps {
		f := strings.Fields(step)
		d, err := time.ParseDuration(f[0])
		if err != nil {
			t.Fatalf("step %q: %v", step, err)
		}
		now := t0.Add(d)
		for _, ev := range f[1:] {
			name, arg, _ := strings.Cut(ev, "=")
			switch name {
			case "backlog": // backlog=pending/running
				var p, r int
				fmt.Sscanf(arg, "%d/%d", &p, &r)
				s.Backlog(now, p, r)
			case "add":
				s.ExecutorAdded(now, arg)
			case "remove":
				s.ExecutorRemoved(arg)
			case "start":
				s.TaskStarted(arg)
			case "end":
				s.TaskEnded(now, arg, false)
			case "endmap":
				s.TaskEnded(now, arg, true)
			default:
				t.Fatalf("step %q: unknown event %q", step, name)
			}
		}
		dec := s.Tick(now)
		out = append(out, fmt.Sprintf("%s target=%d release=%v", f[0], dec.Target, dec.Release))
	}
	return out
}

func TestScaling(t *testing.T) {
	base := Config{Min: 0, Max: 10, Initial: 0, SlotsPerExecutor: 2, BacklogTimeout: time.Second,
		SustainedBacklogTimeout: time.Second, IdleTimeout: time.Second}
	tests := []struct {
		name  string
		cfg   Config
		steps []string
		want  []string
	}{{
		name: "rises 1, 2, 4 while tasks wait, capped by what they need",
		cfg:  base,
		steps: []string{
			"0s backlog=12/0",
			"999ms",
			"1s",
			"2s",
			"3s",
			"4s",
		},
		want: []string{
			"0s target=0 release=[]",
			"999ms target=0 release=[]",
			"1s target=1 release=[]",
			"2s target=3 release=[]",
			"3s target=6 release=[]", // 12 tasks / 2 slots: 6 is all they need
			"4s target=6 release=[]",
		},
	}, {
		name: "the initial target holds until a job begins or an executor idles out",
		cfg:  Config{Max: 10, Initial: 2, SlotsPerExecutor: 1, BacklogTimeout: time.Second, IdleTimeout: 5 * time.Second},
		steps: []string{
			"0s",
			"30s add=1 add=2", // a slow cluster: the target held meanwhile
			"31s",
			"35s",
		},
		want: []string{
			"0s target=2 release=[]",
			"30s target=2 release=[]",
			"31s target=2 release=[]",
			"35s target=0 release=[1 2]",
		},
	}, {
		name: "falls at once when the backlog shrinks, then releases idle executors",
		cfg:  Config{Min: 1, Max: 10, Initial: 3, SlotsPerExecutor: 1, BacklogTimeout: time.Second, IdleTimeout: 2 * time.Second},
		steps: []string{
			"0s add=1 add=2 add=3 backlog=0/3 start=1 start=2 start=3",
			"1s end=1 end=2 backlog=0/1",
			"2500ms",
			"3s",
			"4s end=3 backlog=0/0",
			"6s",
		},
		want: []string{
			"0s target=3 release=[]",
			"1s target=1 release=[]",
			"2500ms target=1 release=[]", // idle 1.5 s: not yet
			"3s target=1 release=[1 2]",  // 3 still runs its task
			"4s target=1 release=[]",     // the last executor is the minimum
			"6s target=1 release=[]",
		},
	}, {
		name: "without a shuffle service, executors holding map outputs stay",
		cfg:  Config{Max: 10, SlotsPerExecutor: 1, BacklogTimeout: time.Second, IdleTimeout: time.Second, ShuffleOnExecutors: true},
		steps: []string{
			"0s add=1 add=2 start=1 start=2 backlog=0/2",
			"1s endmap=1 end=2 backlog=0/0",
			"5s",
			"1h",
		},
		want: []string{
			"0s target=0 release=[]",
			"1s target=0 release=[]",
			"5s target=0 release=[2]",
			"1h target=0 release=[]", // 1 serves map outputs for as long as the application runs
		},
	}, {
		name: "shuffle tracking with a timeout lets them go after it",
		cfg:  Config{Max: 10, SlotsPerExecutor: 1, IdleTimeout: time.Second, ShuffleOnExecutors: true, ShuffleTimeout: 10 * time.Second},
		steps: []string{
			"0s add=1 start=1 backlog=0/1",
			"1s endmap=1 backlog=0/0",
			"5s",
			"11s",
		},
		want: []string{
			"0s target=0 release=[]",
			"1s target=0 release=[]",
			"5s target=0 release=[]",
			"11s target=0 release=[1]",
		},
	}, {
		name: "with the shuffle service, map outputs do not hold executors",
		cfg:  Config{Max: 10, SlotsPerExecutor: 1, IdleTimeout: time.Second},
		steps: []string{
			"0s add=1 start=1 backlog=0/1",
			"1s endmap=1 backlog=0/0",
			"2s",
			"3s remove=1",
		},
		want: []string{
			"0s target=0 release=[]",
			"1s target=0 release=[]",
			"2s target=0 release=[1]",
			"3s target=0 release=[]",
		},
	}, {
		name: "the maximum caps the rise and a released executor is not released twice",
		cfg:  Config{Max: 2, Initial: 5, SlotsPerExecutor: 1, BacklogTimeout: time.Second, IdleTimeout: time.Second},
		steps: []string{
			"0s backlog=9/0",
			"1s add=1 add=2 add=3",
			"3s backlog=0/0",
			"4s",
		},
		want: []string{
			"0s target=2 release=[]",
			"1s target=2 release=[]",
			"3s target=0 release=[1 2 3]",
			"4s target=0 release=[]",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, tt.cfg, tt.steps)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("decisions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
