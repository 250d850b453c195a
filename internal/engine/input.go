package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spindle-engine/spindle/hdfs"
)

// InputSplit is a split of an input file with the filesystem that holds it.
type InputSplit struct {
	hdfs.Split
	FS hdfs.FS
	// Input is the path the user gave, which names the filesystem.
	Input string
}

// SplitHosts gives each partition of splits its preferred hosts.
func SplitHosts(splits []InputSplit) func(int) []string {
	return func(part int) []string {
		if part >= len(splits) {
			return nil
		}
		return splits[part].Hosts
	}
}

// PlanInput expands the input paths and cuts them into splits sized as Spark sizes
// file partitions, so that small inputs still use every slot. In a build the splits
// are a fact: executors get the driver's instead of listing the files again.
func (g *Graph) PlanInput(paths []string) ([]InputSplit, error) {
	type shipped struct {
		Input string
		hdfs.Split
	}
	ctx := g.Context()
	var splits []InputSplit
	data, err := g.Fact(func() ([]byte, error) {
		var err error
		if splits, err = g.listInput(ctx, paths); err != nil {
			return nil, err
		}
		out := make([]shipped, len(splits))
		for i, sp := range splits {
			out[i] = shipped{sp.Input, sp.Split}
		}
		return json.Marshal(out)
	})
	if err != nil || splits != nil {
		return splits, err
	}
	var in []shipped
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("input splits from the driver: %w", err)
	}
	for _, sp := range in {
		fsys, _, err := g.fs.Resolve(ctx, sp.Input)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", sp.Input, err)
		}
		splits = append(splits, InputSplit{Split: sp.Split, FS: fsys, Input: sp.Input})
	}
	return splits, nil
}

// listInput lists and splits the input paths.
func (g *Graph) listInput(ctx context.Context, paths []string) ([]InputSplit, error) {
	if len(paths) == 0 {
		return nil, errors.New("no input path given")
	}
	type fileIn struct {
		fs    hdfs.FS
		files []hdfs.FileInfo
		input string
	}
	var inputs []fileIn
	var total int64
	for _, p := range paths {
		fsys, inner, err := g.fs.Resolve(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		files, err := hdfs.ExpandPaths(ctx, fsys, []string{inner})
		if err != nil {
			return nil, err // it names the input path
		}
		for _, f := range files {
			total += f.Size
		}
		inputs = append(inputs, fileIn{fsys, files, p})
	}
	maxSplit := hdfs.MaxSplitBytes(total, g.Slots(), g.conf.Size("spindle.files.maxPartitionBytes"), g.conf.Size("spindle.files.openCostInBytes"))
	var out []InputSplit
	for _, in := range inputs {
		splits, err := hdfs.PlanSplits(ctx, in.fs, in.files, maxSplit)
		if err != nil {
			return nil, fmt.Errorf("split input: %w", err)
		}
		for _, sp := range splits {
			out = append(out, InputSplit{sp, in.fs, in.input})
		}
	}
	return out, nil
}

// ReadLines calls f with every line of the split and its byte offset in the file,
// until f returns false.
func ReadLines(tc *TaskContext, sp InputSplit, f func(line []byte, offset int64) bool) error {
	r, err := hdfs.NewLineReader(tc.Ctx, sp.FS, sp.Split)
	if err != nil {
		return fmt.Errorf("read %s: %w", sp.Path, err)
	}
	defer r.Close()
	for r.Next() {
		tc.Metrics.RecordsRead++
		if !f(r.Line(), r.Offset()) {
			return nil
		}
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("read %s: %w", sp.Path, err)
	}
	return nil
}

// LineOf finds the 1-based number of the line that begins at offset, for an error
// message; 0 when it cannot be found.
func LineOf(ctx context.Context, sp InputSplit, offset int64) int64 {
	n, err := hdfs.LineNumberAt(ctx, sp.FS, sp.Path, offset)
	if err != nil {
		return 0
	}
	return n
}
