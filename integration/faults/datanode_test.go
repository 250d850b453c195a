package faults

import (
	"bytes"
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/examples/datagen"
	"github.com/spindle-engine/spindle/integration/testenv"
	"github.com/spindle-engine/spindle/yarn"
)

// wordCounts are the "word<TAB>count" lines of text, the clean run's output.
func wordCounts(text string) []string {
	n := map[string]int{}
	for _, w := range strings.Fields(text) {
		n[w]++
	}
	out := make([]string, 0, len(n))
	for _, w := range slices.Sorted(maps.Keys(n)) {
		out = append(out, w+"\t"+strconv.Itoa(n[w]))
	}
	return out
}

// mapStarted reports whether a container of app said a map task started.
func mapStarted(e *testenv.Env, app string) bool {
	logs, _ := e.ContainerLogs(app)
	for _, l := range logs {
		if strings.Contains(l, "faultjob: map task started") {
			return true
		}
	}
	return false
}

// TestDataNodeStoppedWhileRead: a word count reads a file of 12 blocks stored
// twice; once its map tasks started, the DataNode holding most of those blocks
// stops (the NameNode still lists it, as after a crash). The map tasks read each
// of its blocks from the other replica, and the job succeeds with the clean
// run's output.
func TestDataNodeStoppedWhileRead(t *testing.T) {
	e := setup(t)
	dir := e.Dir(t, t.Name())
	in, out := dir+"/in.txt", dir+"/out"
	var text bytes.Buffer
	if err := datagen.Text(&text, 12<<20, 5000, 18); err != nil {
		t.Fatal(err)
	}
	written := time.Now().Add(-time.Second) // block files' times have a coarse grain
	e.WriteHDFS(t, in, text.Bytes(), 1<<20, 2)
	blocks, err := e.BlockFilesSince(written)
	if err != nil {
		t.Fatal(err)
	}
	victim, most := -1, 0
	for i, n := range blocks {
		if n > most {
			victim, most = i, n
		}
	}
	if victim < 0 {
		t.Fatalf("no DataNode stored a block of %s: %v", in, blocks)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	stopped := false
	t.Cleanup(func() {
		if stopped {
			if _, err := e.C.RestartDataNode(context.Background(), victim); err != nil {
				t.Errorf("restart DataNode %d: %v", victim, err)
			}
		}
	})
	// Each map task pauses 3 s before its first line: the DataNode stops while
	// the first ones wait, before any has read its block, and later ones start
	// after it stopped.
	args := append(yarnArgs("cluster", "--name", "faults-datanode", "--conf", "spindle.files.maxPartitionBytes=1m"),
		filepath.Join(e.Bin, "faultjob"), "wordcount", "hdfs://"+in, "hdfs://"+out, "3000", "0")
	r := e.Start(ctx, append([]string{"submit"}, args...)...)
	testenv.Poll(t, "a map task started", 4*time.Minute, 100*time.Millisecond, func() bool {
		return r.App() != "" && mapStarted(e, r.App())
	})
	dn, err := e.C.StopDataNode(ctx, victim)
	if err != nil {
		t.Fatal(err)
	}
	stopped = true
	t.Logf("stopped DataNode %d (%s), which holds %d of the input's block replicas (all: %v)", victim, dn.XferAddr, most, blocks)
	res, err := r.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != 0 {
		t.Fatalf("submit exited %d:\n%s", res.Code, res.Out)
	}
	rep := e.Report(t, res.App, time.Minute)
	if rep.State != yarn.StateFinished || rep.FinalStatus != yarn.Succeeded {
		t.Fatalf("RM reports %s/%s: %s", rep.State, rep.FinalStatus, rep.Diagnostics)
	}
	e.CheckCommitted(t, out, 4, wordCounts(text.String()))
}
