package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/examples/datagen"
	"github.com/spindle-engine/spindle/integration/cluster"
	"github.com/spindle-engine/spindle/yarn"
)

// The frame tests run the seed's three-line example (examples/frames) and the frame
// jobs of internal/framejob on YARN, with Parquet in and out of HDFS, and check every
// row against DuckDB and pyarrow reading the same files: from PyPI in the virtualenv
// build/pyenv, made on first use as the root package's interop tests make it.
var (
	framesOnce sync.Once
	framesErr  error
	pyOnce     sync.Once
	pyPath     string
	pyErr      error
	salesOnce  sync.Once
	salesOK    bool
)

// frameBinaries builds examples/frames and framejob beside the suite's binaries.
func frameBinaries(t *testing.T, e *env) {
	t.Helper()
	framesOnce.Do(func() {
		cmd := exec.Command("go", "build", "-o", e.bin+"/", "./examples/frames", "./integration/e2e/internal/framejob")
		cmd.Dir = cluster.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			framesErr = fmt.Errorf("build frame binaries: %v\n%s", err, out)
		}
	})
	if framesErr != nil {
		t.Fatal(framesErr)
	}
}

func python(t *testing.T) string {
	t.Helper()
	pyOnce.Do(func() {
		// The root package's tests and the end-to-end suite may make the virtualenv
		// at once: a lock beside it lets one make it and the other wait.
		if err := os.MkdirAll(filepath.Join(cluster.RepoRoot(), "build"), 0o755); err != nil {
			pyErr = err
			return
		}
		lock, err := os.OpenFile(filepath.Join(filepath.Join(cluster.RepoRoot(), "build"), "pyenv.lock"), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			pyErr = err
			return
		}
		defer lock.Close()
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
			pyErr = fmt.Errorf("lock the virtualenv: %w", err)
			return
		}
		env := filepath.Join(cluster.RepoRoot(), "build", "pyenv")
		py := filepath.Join(env, "bin", "python")
		if exec.Command(py, "-c", "import pyarrow, duckdb").Run() == nil {
			pyPath = py
			return
		}
		for _, args := range [][]string{{"python3", "-m", "venv", env}, {filepath.Join(env, "bin", "pip"), "install", "-q", "pyarrow==26.0.1", "duckdb==2.0.1"}} {
			if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				pyErr = fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
		pyPath = py
	})
	if pyErr != nil {
		t.Fatalf("python with pyarrow and duckdb: %v", pyErr)
	}
	return pyPath
}

// interop runs testdata/frames/interop.py and returns its lines.
func interop(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command(python(t), append([]string{filepath.Join(cluster.RepoRoot(), "testdata", "frames", "interop.py")}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("interop.py %v: %v\n%s", args, err, stderr.String())
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

// salesParquet writes three Parquet files of generated sales into a local directory,
// for DuckDB's reference answers, and returns it with the HDFS directory holding
// the same files (1 MiB blocks, two replicas). The HDFS copy is written once for the
// suite, under its run's own directory: writing less keeps a loaded cluster's
// replication waits short.
func salesParquet(t *testing.T, e *env) (hdfsDir, local string) {
	t.Helper()
	local = t.TempDir()
	files := map[string][]byte{}
	for i := range 3 {
		var b bytes.Buffer
		if err := datagen.SalesParquet(&b, 80000, uint64(20+i), "snappy"); err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("sales-%d.parquet", i)
		if err := os.WriteFile(filepath.Join(local, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files[name] = b.Bytes()
	}
	hdfsDir = e.base + "/frames-in"
	salesOnce.Do(func() {
		salesOK = t.Run("write the sales to HDFS", func(t *testing.T) {
			for name, data := range files {
				e.writeHDFS(t, hdfsDir+"/"+name, data, 1<<20)
			}
		})
	})
	if !salesOK {
		t.Fatal("the sales could not be written to HDFS")
	}
	return hdfsDir, local
}

// showTable parses what Show printed: the header cells and each row's cells.
func showTable(t *testing.T, out string) (header []string, rows [][]string, footer string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	cells := func(l string) []string {
		cs := strings.Split(strings.TrimSuffix(strings.TrimPrefix(l, "|"), "|"), "|")
		for i := range cs {
			cs[i] = strings.TrimSpace(cs[i])
		}
		return cs
	}
	var seps []int
	for i, l := range lines {
		if strings.HasPrefix(l, "+-") {
			seps = append(seps, i)
		}
	}
	if len(seps) != 3 || seps[0] != 0 || seps[1] != 2 {
		t.Fatalf("not a show() table:\n%s", out)
	}
	for _, l := range lines[seps[1]+1 : seps[2]] {
		rows = append(rows, cells(l))
	}
	return cells(lines[1]), rows, strings.Join(lines[seps[2]+1:], "\n")
}

// succeeded checks that a run ended well and that executors ran its tasks.
func (e *env) succeeded(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("submit exited %d:\n%s", r.code, r.out)
	}
	if rep := e.report(t, r.app); rep.State != yarn.StateFinished || rep.FinalStatus != yarn.Succeeded {
		t.Fatalf("RM reports %s/%s: %s", rep.State, rep.FinalStatus, rep.Diagnostics)
	}
	// The frame's tasks ran on executors: its plan reached them, as data or
	// through the registered job.
	logs, _ := e.containerLogs(t, r.app)
	for _, l := range logs {
		if strings.Contains(l, `"role":"executor"`) && strings.Contains(l, `"task finished"`) {
			return
		}
	}
	t.Fatalf("no executor of %s finished a task", r.app)
}

// TestFramesShow runs the seed's example, ReadParquet then GroupBy("region").Sum("revenue")
// then Show(20), on YARN in cluster mode, without Register, and checks each of the 20 rows
// the driver printed against DuckDB's sum over the same files.
func TestFramesShow(t *testing.T) {
	e := setup(t)
	frameBinaries(t, e)
	in, local := salesParquet(t, e)
	ref := map[string]string{}
	for _, l := range interop(t, "sql", local, "SELECT region, sum(revenue) FROM {t} GROUP BY region") {
		region, total, _ := strings.Cut(l, "|")
		ref[region] = total
	}
	if len(ref) <= 20 {
		t.Fatalf("DuckDB finds %d regions; the check needs more than Show's 20", len(ref))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := e.submit(t, ctx, append(e.yarnArgs("cluster", "--name", "e2e-frames-show", "--conf", "spindle.files.maxPartitionBytes=1m"),
		e.bin+"/frames", "hdfs://"+in)...)
	e.succeeded(t, r)
	stdout := e.amStdout(t, r.app)
	header, rows, footer := showTable(t, stdout)
	if !slices.Equal(header, []string{"region", "sum(revenue)"}) || len(rows) != 20 || footer != "only showing top 20 rows" {
		t.Fatalf("show(20) layout: header %q, %d rows, footer %q:\n%s", header, len(rows), footer, stdout)
	}
	seen := map[string]bool{}
	for _, row := range rows {
		if len(row) != 2 || ref[row[0]] != row[1] || seen[row[0]] {
			t.Errorf("row %q: DuckDB has %q", row, ref[row[0]])
		}
		seen[row[0]] = true
	}
}

// TestFramesSaveParquet filters, aggregates and saves Parquet into HDFS on YARN in
// client mode, without Register, and reads the output back with pyarrow: it must
// equal DuckDB's answer to the same query, row for row.
func TestFramesSaveParquet(t *testing.T) {
	e := setup(t)
	frameBinaries(t, e)
	dir := e.dir(t, "frames-save")
	in, local := salesParquet(t, e)
	want := interop(t, "sql", local, "SELECT region, sum(revenue), count(*) FROM {t} WHERE quantity >= 3 GROUP BY region")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := dir + "/out"
	r := e.submit(t, ctx, append(e.yarnArgs("client", "--name", "e2e-frames-save", "--conf", "spindle.files.maxPartitionBytes=1m",
		"--conf", "spindle.parquet.compression=zstd"),
		e.bin+"/framejob", "save", "hdfs://"+in, "hdfs://"+out)...)
	e.succeeded(t, r)
	if !e.exists(out + "/_SUCCESS") {
		t.Fatalf("no _SUCCESS in %s", out)
	}
	infos, err := e.fs.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	copied := t.TempDir()
	parts := 0
	for _, fi := range infos {
		if !strings.HasPrefix(fi.Name(), "part-") {
			continue
		}
		if !strings.HasSuffix(fi.Name(), ".parquet") {
			t.Errorf("output file %s is not named .parquet", fi.Name())
		}
		data, err := e.fs.ReadFile(out + "/" + fi.Name())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(copied, fi.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
		parts++
	}
	if parts == 0 {
		t.Fatalf("no part files in %s", out)
	}
	got := interop(t, "read", copied)
	if got[0] != "region|sum(revenue)|orders" {
		t.Fatalf("pyarrow reads columns %q, want region|sum(revenue)|orders", got[0])
	}
	slices.Sort(want)
	gotRows := slices.Sorted(slices.Values(got[1:]))
	if !slices.Equal(gotRows, want) {
		t.Fatalf("pyarrow read %d rows, DuckDB has %d:\n%s\nwant\n%s", len(gotRows), len(want), strings.Join(gotRows, "\n"), strings.Join(want, "\n"))
	}
}

// TestFramesRegistered builds a frame inside a registered job and turns it into a
// Dataset of structs (As), on YARN in cluster mode: the rows the driver printed must
// equal DuckDB's.
func TestFramesRegistered(t *testing.T) {
	e := setup(t)
	frameBinaries(t, e)
	in, local := salesParquet(t, e)
	want := interop(t, "sql", local, "SELECT region, sum(revenue) FROM {t} GROUP BY region ORDER BY region")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := e.submit(t, ctx, append(e.yarnArgs("cluster", "--name", "e2e-frames-typed", "--conf", "spindle.files.maxPartitionBytes=1m"),
		e.bin+"/framejob", "typed", "hdfs://"+in)...)
	e.succeeded(t, r)
	got := strings.Split(strings.TrimSuffix(e.amStdout(t, r.app), "\n"), "\n")
	if !slices.Equal(got, want) {
		t.Fatalf("the driver printed %d rows, DuckDB has %d:\n%s\nwant\n%s", len(got), len(want), strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
