package faults

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/deploy"
	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/integration/testenv"
)

// The write half of HDFS fault tolerance: Spindle's own HDFS writer (hdfs/writer.go)
// on the three DataNodes of the faults cluster, with one of them stopped while a
// block is being written and before a file is. Writes go through hdfs.FileSystems
// as a task's output does; reads back through colinmarc/hdfs (e.FS).

// writeEnv is the suite's environment and a FileSystems of Spindle's for it.
func writeEnv(t *testing.T) (*testenv.Env, hdfs.FS, string) {
	t.Helper()
	e := setup(t)
	fss := hdfs.NewFileSystems(hdfs.Options{DefaultFS: e.C.Info.DefaultFS, User: deploy.HadoopUser()})
	dir := e.Dir(t, t.Name()) // registered first: removed after fss closes
	t.Cleanup(func() {
		if err := fss.Close(); err != nil {
			t.Errorf("close FileSystems: %v", err)
		}
	})
	fsys, p, err := fss.Resolve(context.Background(), e.C.Info.DefaultFS+dir+"/data")
	if err != nil {
		t.Fatal(err)
	}
	return e, fsys, p
}

// randomBytes is n bytes that differ from block to block, so a block written
// twice or in the wrong place shows.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// stopDataNode stops DataNode i and restarts it when the test ends.
func stopDataNode(t *testing.T, e *testenv.Env, ctx context.Context, i int) string {
	t.Helper()
	dn, err := e.C.StopDataNode(ctx, i)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := e.C.RestartDataNode(context.Background(), i); err != nil {
			t.Errorf("restart DataNode %d: %v", i, err)
		}
	})
	t.Logf("stopped DataNode %d (%s)", i, dn.XferAddr)
	return dn.XferAddr
}

// checkFile reads p back and checks it is data, and that the blocks from
// index from on are stored on two DataNodes, none of them stopped.
func checkFile(t *testing.T, e *testenv.Env, fsys hdfs.FS, ctx context.Context, p string, data []byte, stopped string, from int) {
	t.Helper()
	got, err := e.FS.ReadFile(p)
	if err != nil {
		t.Fatalf("read back %s: %v", p, err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes of %s, not the %d written (first difference at %d)", len(got), p, len(data), firstByteDiff(got, data))
	}
	blocks, err := fsys.Blocks(ctx, p, 0, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (len(data) + 1<<20 - 1) >> 20; len(blocks) != want {
		t.Fatalf("%d blocks, want %d", len(blocks), want)
	}
	for i, b := range blocks[from:] {
		if len(b.Names) != 2 || slices.Contains(b.Names, stopped) {
			t.Errorf("block %d at %d is on %v: want the two DataNodes left, not %s", from+i, b.Offset, b.Names, stopped)
		}
	}
}

func firstByteDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestHDFSWriteDataNodeStoppedMidBlock writes a file of six 1 MiB blocks stored
// three times, so every DataNode is in every pipeline, and stops one of them
// halfway through the second block. The writer drops it, moves the block to a
// new generation stamp on the two left and resends what they had not
// acknowledged; the next blocks exclude it. The file reads back as written, its
// blocks from the second on stored on the two DataNodes left.
func TestHDFSWriteDataNodeStoppedMidBlock(t *testing.T) {
	e, fsys, p := writeEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	data := randomBytes(5<<20+300_000, 18)
	w, err := hdfs.CreateFile(ctx, fsys, p, hdfs.CreateOptions{BlockSize: 1 << 20, Replication: 3})
	if err != nil {
		t.Fatal(err)
	}
	half := 1<<20 + 1<<19
	if _, err := w.Write(data[:half]); err != nil {
		t.Fatal(err)
	}
	// The second block is being written: the NameNode lists its pipeline.
	blocks, err := fsys.Blocks(ctx, p, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	victim := 1
	addr := e.C.Info.DataNodes[victim].XferAddr
	if len(blocks) != 2 || !slices.Contains(blocks[1].Names, addr) {
		t.Fatalf("blocks of the file being written: %+v; want 2, the second on %s", blocks, addr)
	}
	stopped := stopDataNode(t, e, ctx, victim)
	if _, err := w.Write(data[half:]); err != nil {
		t.Fatalf("write after DataNode %d stopped: %v", victim, err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close after DataNode %d stopped: %v", victim, err)
	}
	checkFile(t, e, fsys, ctx, p, data, stopped, 1)
}

// TestHDFSWriteDataNodeStoppedBefore stops a DataNode and at once writes a file
// of four blocks stored three times: the NameNode does not know yet and offers
// the stopped DataNode, the writer abandons that block, excludes the DataNode and
// asks for another. The file reads back as written, every block on the two
// DataNodes left.
func TestHDFSWriteDataNodeStoppedBefore(t *testing.T) {
	e, fsys, p := writeEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	data := randomBytes(3<<20+123_456, 19)
	stopped := stopDataNode(t, e, ctx, 2)
	w, err := hdfs.CreateFile(ctx, fsys, p, hdfs.CreateOptions{BlockSize: 1 << 20, Replication: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("write with DataNode 2 stopped: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close with DataNode 2 stopped: %v", err)
	}
	checkFile(t, e, fsys, ctx, p, data, stopped, 0)
}
