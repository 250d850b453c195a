package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/internal/progress"
	"github.com/spindle-engine/spindle/scheduler"
)

// localFS resolves every path to the local filesystem.
type localFS struct{}

func (localFS) Resolve(_ context.Context, p string) (hdfs.FS, string, error) {
	return hdfs.Local, p, nil
}

func newTestDriver(t *testing.T, ship bool, jobs Jobs) *Driver {
	t.Helper()
	c := conf.New()
	if err := c.Set("spindle.task.maxFailures", "1"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := NewEnv(c, []string{dir})
	cfg := DriverConfig{Conf: c, FS: localFS{}, AppID: "test", Slots: 2, Metrics: progress.NewMetrics(nil), Env: env, Ship: ship}
	if jobs != nil {
		cfg.Runner = NewExecutor(ExecutorConfig{Conf: c, FS: localFS{}, Env: env, Jobs: jobs})
	}
	d, err := NewDriver(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Close left the local dir %s (%v)", dir, err)
		}
	})
	return d
}

// numbers is a source node of n partitions whose partition p holds the numbers
// p*10 .. p*10+9; its compute returns a plain slice, which only countResult reads.
func numbers(g *Graph, n int) *Node {
	return g.NewNode("numbers", n, nil, func(_ *TaskContext, part int) (any, error) {
		out := make([]uint64, 10)
		for i := range out {
			out[i] = uint64(part*10 + i)
		}
		return out, nil
	})
}

// sumByMod shuffles numbers by value mod nparts and sums each reduce partition.
func sumByMod(g *Graph, src *Node, nparts int) *Node {
	sd := g.NewShuffle(src, nparts, false, func(tc *TaskContext, part int, w RecordWriter) error {
		v, err := src.Compute(tc, part)
		if err != nil {
			return err
		}
		for _, x := range v.([]uint64) {
			if err := w.Write(int(x%uint64(nparts)), nil, binary.AppendUvarint(nil, x)); err != nil {
				return err
			}
		}
		return nil
	})
	n := g.NewNode("sumByMod", nparts, nil, func(tc *TaskContext, part int) (any, error) {
		r, err := tc.ReadShuffle(sd, part)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		var sum uint64
		for r.Next() {
			x, _ := binary.Uvarint(r.Value())
			sum += x
		}
		return []uint64{sum}, r.Err()
	})
	n.Shuffles = []*ShuffleDep{sd}
	return n
}

func sumResult(n *Node) ResultFunc {
	return func(tc *TaskContext, part int) ([]byte, error) {
		v, err := n.Compute(tc, part)
		if err != nil {
			return nil, err
		}
		var sum uint64
		for _, x := range v.([]uint64) {
			sum += x
		}
		return binary.AppendUvarint(nil, sum), nil
	}
}

// TestRunJobAcrossAShuffle cuts a two-stage plan and runs it in-process: the map
// stage's records reach the reduce stage through real shuffle files.
func TestRunJobAcrossAShuffle(t *testing.T) {
	d := newTestDriver(t, false, nil)
	g := d.Graph()
	final := sumByMod(g, numbers(g, 4), 3)
	job, err := d.Compile(context.Background(), final, "sum", &Action{Kind: ActionCount}, sumResult(final))
	if err != nil {
		t.Fatal(err)
	}
	if len(job.Stages) != 2 || job.Stages[0].ShuffleID < 0 || job.Stages[1].ShuffleID != -1 || job.Stages[1].Parents[0] != job.Stages[0].ID {
		t.Fatalf("stages %+v, want a map stage then the result stage reading it", job.Stages)
	}
	var total uint64
	err = d.RunJob(context.Background(), final, nil, "sum", &Action{Kind: ActionCount}, sumResult(final), func(_ int, data []byte) error {
		x, _ := binary.Uvarint(data)
		total += x
		return nil
	})
	if err != nil || total != 39*40/2 {
		t.Fatalf("sum = %d, %v; want %d", total, err, 39*40/2)
	}
}

func TestPlanErrorsFailBeforeAnyTask(t *testing.T) {
	d := newTestDriver(t, false, nil)
	g := d.Graph()
	src := numbers(g, 2)
	src.Err = os.ErrNotExist
	final := sumByMod(g, src, 2)
	err := d.RunJob(context.Background(), final, nil, "sum", &Action{Kind: ActionCount}, sumResult(final), func(int, []byte) error { return nil })
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "numbers") {
		t.Fatalf("err = %v, want the planning error naming its node", err)
	}
	if s := d.Summary(); s.Tasks+s.FailedTasks != 0 {
		t.Fatalf("%d tasks ran", s.Tasks+s.FailedTasks)
	}
}

// jobsFunc rebuilds every job with one function.
type jobsFunc func(g *Graph, job string, arg []byte) error

func (f jobsFunc) Rebuild(g *Graph, job string, arg []byte) error { return f(g, job, arg) }

// TestShippedStagesRebuild runs a registered build through payloads only: the
// executor reruns the builder with the driver's facts, and refuses a builder that
// builds another plan.
func TestShippedStagesRebuild(t *testing.T) {
	var drift int
	builder := func(g *Graph, job string, arg []byte) (*Node, error) {
		fact, err := g.Fact(func() ([]byte, error) { return []byte{byte(len(arg))}, nil })
		if err != nil {
			return nil, err
		}
		n := int(fact[0])
		if job == "drifting" {
			drift++
			n += drift
		}
		final := sumByMod(g, numbers(g, n), 2)
		final.Result = func(*Action) (ResultFunc, error) { return sumResult(final), nil }
		return final, nil
	}
	d := newTestDriver(t, true, jobsFunc(func(g *Graph, job string, arg []byte) error {
		_, err := builder(g, job, arg)
		return err
	}))
	g := d.Graph()
	build := func(job string) *Node {
		b := g.BeginBuild(context.Background(), job, []byte("xyz"))
		defer g.EndBuild(b)
		n, err := builder(g, job, []byte("xyz"))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	run := func(final *Node) (uint64, error) {
		var total uint64
		err := d.RunJob(context.Background(), final, nil, "sum", &Action{Kind: ActionCount}, nil, func(_ int, data []byte) error {
			x, _ := binary.Uvarint(data)
			total += x
			return nil
		})
		return total, err
	}
	// Three partitions, from the fact the driver recorded (the argument's length).
	if total, err := run(build("steady")); err != nil || total != 29*30/2 {
		t.Fatalf("shipped sum = %d, %v; want %d", total, err, 29*30/2)
	}

	if _, err := run(build("drifting")); !errors.Is(err, ErrPlanMismatch) || !errors.Is(err, scheduler.ErrNotRetriable) {
		t.Fatalf("err = %v, want a not-retriable ErrPlanMismatch", err)
	}

	outside := sumByMod(g, numbers(g, 2), 2)
	if _, err := run(outside); err == nil || !strings.Contains(err.Error(), "outside a registered job") {
		t.Fatalf("err = %v, want one saying the plan was built outside a registered job", err)
	}
}
