package spindle

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
)

// The interop tests check Spindle's Parquet against pyarrow's and DuckDB's, from
// PyPI (pinned) in a virtualenv under build/pyenv, made on first use: CI needs only
// python3 with its venv module and PyPI.
var (
	pyOnce sync.Once
	pyPath string
	pyErr  error
)

func python(t *testing.T) string {
	t.Helper()
	pyOnce.Do(func() {
		// The root package's tests and the end-to-end suite may make the virtualenv
		// at once: a lock beside it lets one make it and the other wait.
		if err := os.MkdirAll("build", 0o755); err != nil {
			pyErr = err
			return
		}
		lock, err := os.OpenFile(filepath.Join("build", "pyenv.lock"), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			pyErr = err
			return
		}
		defer lock.Close()
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
			pyErr = fmt.Errorf("lock the virtualenv: %w", err)
			return
		}
		py := filepath.Join("build", "pyenv", "bin", "python")
		if exec.Command(py, "-c", "import pyarrow, duckdb").Run() == nil {
			pyPath, _ = filepath.Abs(py)
			return
		}
		for _, args := range [][]string{{"python3", "-m", "venv", "build/pyenv"}, {"build/pyenv/bin/pip", "install", "-q", "pyarrow==26.0.1", "duckdb==2.0.1"}} {
			if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
				pyErr = fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
		pyPath, pyErr = filepath.Abs(py)
	})
	if pyErr != nil {
		t.Fatalf("python with pyarrow and duckdb: %v", pyErr)
	}
	return pyPath
}

func runPy(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command(python(t), append([]string{filepath.Join("testdata", "frames", "interop.py")}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("interop.py %v: %v\n%s", args, err, stderr.String())
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

// interopCell renders a collected value of a column of type typ as interop.py
// does: the Parquet logical type decides how a time prints, a DATE as yyyy-MM-dd
// and a TIMESTAMP as yyyy-MM-dd HH:mm:ss (with microseconds when it has them), even
// at midnight.
func interopCell(typ string, v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case float64:
		return fmt.Sprintf("%.9g", v)
	case time.Time:
		if typ == "date32" {
			return v.Format("2006-01-02")
		}
		if v.Nanosecond() != 0 {
			return v.Format("2006-01-02 15:04:05.000000")
		}
		return v.Format("2006-01-02 15:04:05")
	}
	return fmt.Sprint(v)
}

func interopLines(f Frame, rows []Row) []string {
	fields := f.Schema().Fields
	out := []string{strings.Join(f.Columns(), "|")}
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = interopCell(fields[i].Type, v)
		}
		out = append(out, strings.Join(cells, "|"))
	}
	return out
}

// TestParquetFromPyarrow reads a file pyarrow wrote (zstd, small row groups, a
// dictionary column, nulls, narrow and wide types) and compares every row.
func TestParquetFromPyarrow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "py.parquet")
	want := runPy(t, "write", path)
	s := newTestSession(t)
	f := ReadParquet(s, path)
	rows, err := f.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := interopLines(f, rows)
	if !slices.Equal(got, want) {
		t.Fatalf("%d lines, pyarrow %d; first difference: %s", len(got), len(want), firstRowDiff(got, want))
	}
	if types := fmt.Sprint(f.Schema().Fields); !strings.Contains(types, "{i8 int32 true}") || !strings.Contains(types, "{dec decimal(12,3) true}") {
		t.Errorf("schema %s: int8 should read as int32, decimal(12,3) as itself", types)
	}
}

// TestParquetToPyarrow writes a frame with Spindle (through the committer, snappy and
// zstd) and reads it back with pyarrow.
func TestParquetToPyarrow(t *testing.T) {
	src := filepath.Join(t.TempDir(), "py.parquet")
	runPy(t, "write", src)
	for _, codec := range []string{"snappy", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			s := newTestSession(t, "spindle.parquet.compression", codec)
			ctx := context.Background()
			f := ReadParquet(s, src).Filter(Col("i64").Gt(0)).WithColumn("twice", Col("i32").Mul(2))
			out := filepath.Join(t.TempDir(), "out")
			if err := f.SaveAsParquet(ctx, out); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(out, "_SUCCESS")); err != nil {
				t.Fatalf("no _SUCCESS: %v", err)
			}
			rows, err := f.Collect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := interopLines(f, rows)
			got := runPy(t, "read", out)
			if !slices.Equal(sortedStrings(got[1:]), sortedStrings(want[1:])) || got[0] != want[0] {
				t.Fatalf("pyarrow read %d lines, Spindle wrote %d; first difference: %s", len(got), len(want), firstRowDiff(sortedStrings(got), sortedStrings(want)))
			}
		})
	}
}

// TestRevenueMatchesDuckDB runs the seed's query, read.parquet then
// groupBy("region").sum("revenue") then show(20), and checks every shown row
// against DuckDB's answer over the same file.
func TestRevenueMatchesDuckDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sales.parquet")
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := datagen.SalesParquet(fh, 300000, 5, "snappy"); err != nil {
		t.Fatal(err)
	}
	ref := map[string]string{}
	for _, l := range runPy(t, "revenue", path) {
		region, total, _ := strings.Cut(l, "|")
		ref[region] = total
	}
	s := newTestSession(t)
	out, err := ReadParquet(s, path).GroupBy("region").Sum("revenue").ShowString(context.Background(), 20, 20)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	header := strings.Fields(strings.ReplaceAll(lines[1], "|", " "))
	if len(lines) != 20+5 || !slices.Equal(header, []string{"region", "sum(revenue)"}) || lines[len(lines)-1] != "only showing top 20 rows" {
		t.Fatalf("show layout:\n%s", out)
	}
	seen := map[string]bool{}
	for _, l := range lines[3:23] {
		cells := strings.Split(strings.Trim(l, "|"), "|")
		region, total := strings.TrimSpace(cells[0]), strings.TrimSpace(cells[1])
		if ref[region] != total || seen[region] {
			t.Errorf("row %q: DuckDB has %s = %q", l, region, ref[region])
		}
		seen[region] = true
	}
}
