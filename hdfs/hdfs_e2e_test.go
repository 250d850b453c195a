package hdfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"slices"
	"strings"
	"testing"
	"time"

	hdfsclient "github.com/colinmarc/hdfs/v2"

	"github.com/spindle-engine/spindle/integration/cluster"
	"github.com/spindle-engine/spindle/ipc"
)

// closeReplicated closes a raw HDFS writer, retrying while the last block replicates.
func closeReplicated(t *testing.T, w *hdfsclient.FileWriter) {
	t.Helper()
	if err := CloseWriter(w); err != nil {
		t.Fatal(err)
	}
}

// TestHDFSOnMinicluster runs the filesystem, splits, line reading and the committer
// against the real MiniDFSCluster.
func TestHDFSOnMinicluster(t *testing.T) {
	c := cluster.FromEnv(t)
	ctx := context.Background()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	fss := NewFileSystems(Options{DefaultFS: c.Info.DefaultFS, User: u.Username})
	fsys, base, err := fss.Resolve(ctx, fmt.Sprintf("%s/tmp/spindle-hdfs-test-%d", c.Info.DefaultFS, time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	if err := fsys.RemoveAll(ctx, base); err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-in first-out: the output goes before the clients close.
	t.Cleanup(func() {
		if err := fss.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	t.Cleanup(func() { fsys.RemoveAll(context.Background(), base) })

	// A file of many lines, read back through splits much smaller than the file.
	var want []string
	var b strings.Builder
	for i := range 20000 {
		line := fmt.Sprintf("line %d %s", i, strings.Repeat("x", i%50))
		want = append(want, line)
		b.WriteString(line + "\n")
	}
	in := base + "/in/data.txt"
	w, err := fsys.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Create(ctx, in); err == nil {
		t.Fatal("Create over an existing HDFS file succeeded")
	}
	// hdfs:///p names the same file through fs.defaultFS and the same user's client.
	viaDefault, inner, err := fss.Resolve(ctx, "hdfs://"+in)
	if err != nil || viaDefault != fsys || inner != in {
		t.Fatalf("Resolve(hdfs://%s) = %v, %q, %v; want the shared client and %q", in, viaDefault, inner, err, in)
	}
	// The NameNode's exceptions on our own calls read as os errors that name
	// the path, with the Java class still at hand.
	_, err = fsys.Blocks(ctx, base+"/missing", 0, 1)
	var pe *os.PathError
	var re *ipc.RemoteError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Path != base+"/missing" ||
		!errors.As(err, &re) || re.Class != "java.io.FileNotFoundException" {
		t.Fatalf("Blocks of a missing file = %v; want a PathError matching fs.ErrNotExist from FileNotFoundException", err)
	}
	files, err := ExpandPaths(ctx, fsys, []string{base + "/in"})
	if err != nil || len(files) != 1 || files[0].Size != int64(b.Len()) {
		t.Fatalf("ExpandPaths = %+v, %v", files, err)
	}
	splits, err := PlanSplits(ctx, fsys, files, 64<<10)
	if err != nil || len(splits) < 10 {
		t.Fatalf("PlanSplits: %d splits, %v", len(splits), err)
	}
	if got := readSplits(t, fsys, splits); !slices.Equal(got, want) {
		t.Fatalf("read %d lines from HDFS splits, want %d", len(got), len(want))
	}

	// Block locations come from the NameNode: a file of 1 MiB blocks, replication 2,
	// has every block on both DataNodes, and its splits name them.
	multi := base + "/multi.bin"
	raw, err := hdfsclient.New(c.Info.NN)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	mw, err := raw.CreateFile(multi, 2, 1<<20, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	mw.Write(make([]byte, 3<<20+100))
	closeReplicated(t, mw)
	// Close returns once the NameNode has the minimum replication; the second
	// DataNode reports the last block a moment later, so poll for it.
	var blocks []Block
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		blocks, err = fsys.Blocks(ctx, multi, 0, 3<<20+100)
		if err != nil || len(blocks) != 4 {
			t.Fatalf("Blocks = %+v, %v; want 4 blocks", blocks, err)
		}
		if len(blocks[3].Hosts) == 2 || time.Now().After(deadline) {
			break
		}
	}
	for i, b := range blocks {
		if b.Offset != int64(i)<<20 || len(b.Hosts) != 2 {
			t.Fatalf("block %d = %+v; want offset %d on 2 hosts", i, b, i<<20)
		}
	}
	st, _ := fsys.Stat(ctx, multi)
	msplits, err := PlanSplits(ctx, fsys, []FileInfo{st}, 1<<20)
	// Both minicluster DataNodes are 127.0.0.1, so a split names that one host.
	if err != nil || len(msplits) != 3 || !slices.Equal(msplits[2].Hosts, blocks[2].Hosts[:1]) {
		t.Fatalf("splits of a 3-block file = %+v, %v", msplits, err)
	}

	// Staging: the job's files land in a 0700 directory, with sizes and times as the
	// NodeManager will check them.
	local := t.TempDir() + "/job"
	os.WriteFile(local, []byte("#!/bin/sh\necho job\n"), 0o755)
	sdir := StagingDir(base, "application_1_0001")
	staged, err := Stage(ctx, fsys, sdir, map[string]string{"job": local})
	if err != nil || len(staged) != 1 || staged[0].Size != 19 || staged[0].ModTime.IsZero() {
		t.Fatalf("Stage = %+v, %v", staged, err)
	}
	if st, err := raw.Stat(sdir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("staging dir mode = %v, %v; want 0700", st.Mode().Perm(), err)
	}
	if got, err := fsys.Stat(ctx, staged[0].Path); err != nil || !got.ModTime.Equal(staged[0].ModTime) {
		t.Fatalf("staged file stat %+v, %v", got, err)
	}

	// Rename never overwrites.
	if err := fsys.Rename(ctx, in, in); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Rename onto itself: %v", err)
	}

	// The committer on HDFS: two attempts, one wins; _SUCCESS last; exists → error.
	out := base + "/out"
	cm := NewCommitter(fsys, out, "job1", false)
	if err := cm.SetupJob(ctx); err != nil {
		t.Fatal(err)
	}
	for attempt := range 2 {
		w, _, err := cm.TaskWriter(ctx, 0, attempt, "")
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, fmt.Sprint("attempt ", attempt, "\n"))
		w.Close()
		if err := cm.CommitTask(ctx, 0, attempt); err != nil {
			t.Fatal(err)
		}
	}
	if err := cm.CommitJob(ctx, 1, ""); err != nil {
		t.Fatal(err)
	}
	entries, err := fsys.List(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Path[strings.LastIndexByte(e.Path, '/')+1:])
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"_SUCCESS", "part-00000"}) {
		t.Fatalf("HDFS output holds %v", names)
	}
	f, _ := fsys.Open(ctx, out+"/part-00000")
	content, _ := io.ReadAll(f)
	f.Close()
	if string(content) != "attempt 0\n" {
		t.Fatalf("part-00000 = %q, want the first attempt", content)
	}
	if err := NewCommitter(fsys, out, "job2", false).SetupJob(ctx); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("SetupJob on existing HDFS output: %v", err)
	}
}
