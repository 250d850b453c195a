package faults

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mapOutputs finds app's map output files (ext ".data" or ".index") in the test
// cluster's NodeManager local dirs, where its executors write them.
func mapOutputs(local []string, app, ext string) []string {
	var out []string
	for _, d := range local {
		_ = filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err == nil && !de.IsDir() && strings.Contains(p, app) && shufflePattern.MatchString(de.Name()) && strings.HasSuffix(p, ext) {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

var shufflePattern = regexp.MustCompile(`^shuffle_\d+_\d+\.(data|index)$`)

// flip inverts one byte of file p, at its middle for a data file (inside a
// block's payload) and among the segment offsets for an index.
func flip(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	at := len(b) / 2
	if strings.HasSuffix(p, ".index") {
		at = 9 + 8 + 7 // the low byte of partition 1's offset
	}
	if at >= len(b) {
		t.Fatalf("%s has %d bytes: too short to corrupt at %d", p, len(b), at)
	}
	b[at] ^= 0xff
	// Written in place, as a failing disk would: same inode, same size.
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b[at:at+1], int64(at)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("flipped byte %d of %s", at, p)
}

// TestCorruptShuffleFile flips a byte in a map output's data file and, separately,
// in its index file, while the reduce stage waits to read them, with one executor
// (the reducer reads its own files) and with two (it fetches them from the other):
// the corruption is detected, the map output recomputed, the output correct.
func TestCorruptShuffleFile(t *testing.T) {
	e := setup(t)
	var local []string
	for _, n := range e.C.Info.Nodes {
		local = append(local, n.LocalDirs...)
	}
	for _, executors := range []int{1, 2} {
		for _, ext := range []string{".data", ".index"} {
			t.Run(fmt.Sprintf("%s with %d executors", ext, executors), func(t *testing.T) {
				dir := e.Dir(t, fmt.Sprintf("corrupt-%s-%d", ext, executors))
				in, want := input(t, e, dir)
				out := dir + "/out"
				ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
				defer cancel()
				args := yarnArgs("cluster", "--num-executors", fmt.Sprint(executors))
				r := e.Start(ctx, append([]string{"submit"}, append(args, e.Bin+"/faultjob", "wordcount", url(e, in), url(e, out), "0", "8000")...)...)
				awaitLog(t, e, r, "faultjob: reduce task started")
				files := mapOutputs(local, r.App(), ext)
				if len(files) != 4 {
					t.Fatalf("found %d %s map outputs of %s, want 4: %v", len(files), ext, r.App(), files)
				}
				flip(t, files[0])
				res, _ := succeeded(t, e, r)
				e.CheckCommitted(t, out, 4, want)
				for _, says := range []string{"task attempts after shuffle fetch failures", "stage attempts (recomputed map output)"} {
					if !strings.Contains(res.Out, says) {
						t.Errorf("the corruption went unnoticed: the summary lacks %q:\n%s", says, res.Out)
					}
				}
			})
		}
	}
}
