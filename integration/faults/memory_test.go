package faults

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/integration/faults/internal/gen"
	"github.com/spindle-engine/spindle/integration/testenv"
	"github.com/spindle-engine/spindle/yarn"
)

// enforced fails t unless the fault cluster's NodeManagers check both physical
// and virtual memory as Apache Hadoop ships them (ratio 2.1): what these tests
// prove is that Spindle runs inside those limits.
func enforced(t *testing.T, e *testenv.Env) {
	t.Helper()
	h, err := conf.LoadHadoop(e.C.ConfDir)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"yarn.nodemanager.pmem-check-enabled": "true", "yarn.nodemanager.vmem-check-enabled": "true",
		"yarn.nodemanager.vmem-pmem-ratio": "2.1", "yarn.minicluster.control-resource-monitoring": "true",
	} {
		if v, _ := h.Get(k); v != want {
			t.Fatalf("the fault cluster does not enforce memory: %s=%q, want %s (started with SPINDLE_FAULTS_ENFORCE_MEMORY=false?)", k, v, want)
		}
	}
}

// spillWatch samples app's spill files in the NodeManagers' local dirs while a job
// runs: the most a map task ever numbered (spill files it wrote) and the most on
// disk at once.
type spillWatch struct {
	mu             sync.Mutex
	maxIndex, most int
	stop           chan struct{}
	done           sync.WaitGroup
}

var memoryKill = regexp.MustCompile(`executor \d+ \(container container_\S+ on \S+\) was killed by YARN for exceeding its (physical|virtual) memory limit`)

var spillName = regexp.MustCompile(`^shuffle_\d+_\d+\.\d+\.spill(\d+)$`)

func watchSpills(local []string, app func() string) *spillWatch {
	w := &spillWatch{stop: make(chan struct{})}
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			if a := app(); a != "" {
				n, idx := 0, 0
				for _, d := range local {
					_ = filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
						if err != nil || de.IsDir() || !strings.Contains(p, a) {
							return nil
						}
						if m := spillName.FindStringSubmatch(de.Name()); m != nil {
							n++
							i, _ := strconv.Atoi(m[1])
							idx = max(idx, i)
						}
						return nil
					})
				}
				w.mu.Lock()
				w.most, w.maxIndex = max(w.most, n), max(w.maxIndex, idx)
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *spillWatch) end() (maxIndex, most int) {
	close(w.stop)
	w.done.Wait()
	return w.maxIndex, w.most
}

// maxSpillFiles bounds a job's spill files: a map task merges its runs on disk
// when it has 32 (shuffle's maxSpills); the vocabulary job that once wrote 1.9 M of
// them is far beyond.
const maxSpillFiles = 500

// TestMemoryLimits runs, with both of YARN's memory checks on: sorts over data four
// times an executor's memory at 512m and at the default 1g, and a word count whose
// map tasks see millions of distinct keys at 512m. All must succeed, spilling into
// a bounded number of files. An executor made to outgrow its container must fail
// the application with diagnostics that name it and the key to raise.
func TestMemoryLimits(t *testing.T) {
	e := setup(t)
	enforced(t, e)
	var local []string
	for _, n := range e.C.Info.Nodes {
		local = append(local, n.LocalDirs...)
	}
	base := []string{"--master", "yarn", "--deploy-mode", "cluster", "--num-executors", "2", "--executor-cores", "1", "--driver-memory", "512m"}
	for _, tt := range []struct {
		name   string
		memory string // --executor-memory; "" is the default, 1g
		mode   string
		n      int // records, or distinct words
		parts  int
	}{
		{"sort 4x 512m", "512m", "sort", 4 * 512 << 20 / 100, 16},
		{"sort 4x default", "", "sort", 4 * 1024 << 20 / 100, 32},
		{"distinct words 512m", "512m", "vocab", 5_000_000, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := e.Dir(t, strings.ReplaceAll(tt.name, " ", "-")) + "/out"
			args := slices.Clone(base)
			if tt.memory != "" {
				args = append(args, "--executor-memory", tt.memory)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
			defer cancel()
			r := e.Start(ctx, append([]string{"submit"}, append(args, e.Bin+"/faultjob", tt.mode, url(e, out), strconv.Itoa(tt.n), strconv.Itoa(tt.parts))...)...)
			w := watchSpills(local, r.App)
			res, _ := succeeded(t, e, r)
			maxIndex, most := w.end()
			t.Logf("%s: spill files: at most %d on disk at once, highest spill number %d\n%s", tt.name, most, maxIndex, res.Out)
			if maxIndex > maxSpillFiles || most > maxSpillFiles {
				t.Errorf("spilling is unbounded: %d spill files on disk at once, a task's %dth spill", most, maxIndex)
			}
			checkGenerated(t, e, out, tt.mode, tt.n, tt.parts)
		})
	}
	t.Run("executor outgrows its container", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		args := append(slices.Clone(base), "--executor-memory", "512m", "--conf", "spindle.executor.maxNumFailures=1")
		r := e.Start(ctx, append([]string{"submit"}, append(args, e.Bin+"/faultjob", "hog", "1400")...)...)
		res, err := r.Wait()
		if err != nil {
			t.Fatal(err)
		}
		rep := e.Report(t, res.App, 2*time.Minute)
		if rep.FinalStatus != yarn.Failed {
			t.Fatalf("RM says %s/%s; want FAILED:\n%s", rep.State, rep.FinalStatus, res.Out)
		}
		// At 512m Go's fixed 1.1 GiB address-space reservation makes the virtual
		// check (2.1 × 896 MiB) the first to trip, at about 650 MiB of heap; either
		// limit must be named as what it is, with its own advice.
		m := memoryKill.FindStringSubmatch(rep.Diagnostics)
		if m == nil {
			t.Fatalf("diagnostics do not say which executor YARN killed for memory:\n%s", rep.Diagnostics)
		}
		advice := map[string]string{"physical": "spindle.executor.memory", "virtual": "raise spindle.executor.memoryOverhead (the virtual limit"}[m[1]]
		for _, says := range []string{"1024 MiB (spindle.executor.memory 512 MiB + spindle.executor.memoryOverhead 512 MiB)",
			"last reported heap", "partition 0 (attempt", advice, strings.ToUpper(m[1])} {
			if !strings.Contains(rep.Diagnostics, says) {
				t.Errorf("diagnostics lack %q:\n%s", says, rep.Diagnostics)
			}
		}
	})
}

// checkGenerated checks a generated job's summary lines: one per partition, every
// partition in order, no record lost or doubled.
func checkGenerated(t *testing.T, e *testenv.Env, out, mode string, n, parts int) {
	t.Helper()
	o := e.CheckCommitted(t, out, parts, nil)
	type part struct {
		count       int
		first, last string
		hash        uint64
	}
	var ps []part
	for _, l := range o.Lines {
		var p part
		var ordered bool
		if _, err := fmt.Sscanf(l, "%d %s %s %t %d", &p.count, &p.first, &p.last, &ordered, &p.hash); err != nil && p.count > 0 {
			t.Fatalf("summary line %q: %v", l, err)
		}
		if mode == "sort" && !ordered {
			t.Errorf("a partition is out of order: %q", l)
		}
		ps = append(ps, p)
	}
	var count int
	var hash uint64
	for _, p := range ps {
		count += p.count
		hash += p.hash
	}
	var want uint64
	for i := range n {
		if mode == "sort" {
			want += gen.LineHash(gen.Record(i))
		} else {
			want += gen.LineHash("w" + strconv.Itoa(i) + ":2")
		}
	}
	if count != n || hash != want {
		t.Fatalf("%d records with checksum %d, want %d with %d", count, hash, n, want)
	}
	if mode == "sort" {
		// Range partitions: each one's records all sort before the next one's.
		slices.SortFunc(ps, func(a, b part) int { return strings.Compare(a.first, b.first) })
		for i := 1; i < len(ps); i++ {
			if ps[i].count > 0 && ps[i-1].count > 0 && ps[i].first < ps[i-1].last {
				t.Errorf("partitions overlap: one ends at %s, the next starts at %s", ps[i-1].last, ps[i].first)
			}
		}
	}
}
