package hdfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Split is a byte range of one input file read by one task.
type Split struct {
	Path          string
	Start, Length int64
	Hosts         []string
	FileSize      int64
}

// ExpandPaths turns input patterns into the files they name: a file is itself, a
// directory is its files (not recursive), and a glob (path.Match syntax, in any
// component) is what it matches. Names starting with "_" or "." are skipped in
// directories and globs, as Hadoop's FileInputFormat skips _SUCCESS and .crc files. A
// pattern that names nothing is an error naming it and wrapping fs.ErrNotExist.
func ExpandPaths(ctx context.Context, fsys FS, patterns []string) ([]FileInfo, error) {
	var out []FileInfo
	for _, p := range patterns {
		matches, err := glob(ctx, fsys, p)
		if err != nil {
			return nil, err
		}
		var files []FileInfo
		for _, m := range matches {
			if !m.IsDir {
				files = append(files, m)
				continue
			}
			entries, err := fsys.List(ctx, m.Path)
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", m.Path, err)
			}
			for _, e := range entries {
				if !e.IsDir && !hidden(e.Path) {
					files = append(files, e)
				}
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("input path %s matches no files: %w", p, fs.ErrNotExist)
		}
		sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
		out = append(out, files...)
	}
	return out, nil
}

func hidden(p string) bool {
	b := path.Base(p)
	return strings.HasPrefix(b, "_") || strings.HasPrefix(b, ".")
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// glob expands a pattern component by component.
func glob(ctx context.Context, fsys FS, pattern string) ([]FileInfo, error) {
	if !hasMeta(pattern) {
		st, err := fsys.Stat(ctx, pattern)
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) && pe.Path == pattern {
			// Name the path once: "input path P: no such file or directory".
			return nil, fmt.Errorf("input path %s: %w", pattern, pe.Err)
		} else if err != nil {
			return nil, fmt.Errorf("input path %s: %w", pattern, err)
		}
		return []FileInfo{st}, nil
	}
	dir, base := path.Split(pattern)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" && strings.HasPrefix(pattern, "/") {
		dir = "/"
	}
	if dir == "" {
		dir = "."
	}
	parents, err := glob(ctx, fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []FileInfo
	for _, p := range parents {
		if !p.IsDir {
			continue
		}
		entries, err := fsys.List(ctx, p.Path)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", p.Path, err)
		}
		for _, e := range entries {
			name := path.Base(e.Path)
			ok, err := path.Match(base, name)
			if err != nil {
				return nil, fmt.Errorf("input path %s: %w", pattern, err)
			}
			if ok && !hidden(name) {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// MaxSplitBytes is Spark's split size for file inputs: big enough that opening a
// file is worth it, small enough that every core gets work, and at most
// maxPartitionBytes.
func MaxSplitBytes(totalBytes int64, parallelism int, maxPartitionBytes, openCost int64) int64 {
	bytesPerCore := totalBytes / int64(max(1, parallelism))
	return min(maxPartitionBytes, max(openCost, bytesPerCore))
}

// PlanSplits cuts files into splits of at most maxSplitBytes (a last piece of up to
// 10% more is kept whole, as Hadoop's SPLIT_SLOP does). Each split's hosts are those
// holding most of its bytes.
func PlanSplits(ctx context.Context, fsys FS, files []FileInfo, maxSplitBytes int64) ([]Split, error) {
	if maxSplitBytes <= 0 {
		return nil, fmt.Errorf("split size %d must be positive", maxSplitBytes)
	}
	var out []Split
	for _, f := range files {
		if f.Size == 0 {
			continue
		}
		for off := int64(0); off < f.Size; {
			n := min(maxSplitBytes, f.Size-off)
			if rest := f.Size - off - n; rest > 0 && float64(rest) < 0.1*float64(maxSplitBytes) {
				n += rest
			}
			hosts, err := splitHosts(ctx, fsys, f.Path, off, n)
			if err != nil {
				return nil, err
			}
			out = append(out, Split{Path: f.Path, Start: off, Length: n, Hosts: hosts, FileSize: f.Size})
			off += n
		}
	}
	return out, nil
}

// splitHosts ranks hosts by how many of the split's bytes they hold, keeping the
// best three, as Hadoop's getSplitHosts does.
func splitHosts(ctx context.Context, fsys FS, p string, start, length int64) ([]string, error) {
	blocks, err := fsys.Blocks(ctx, p, start, length)
	if err != nil {
		return nil, fmt.Errorf("block locations of %s: %w", p, err)
	}
	weight := map[string]int64{}
	for _, b := range blocks {
		lo, hi := max(b.Offset, start), min(b.Offset+b.Length, start+length)
		if hi <= lo {
			continue
		}
		for _, h := range b.Hosts {
			weight[h] += hi - lo
		}
	}
	hosts := make([]string, 0, len(weight))
	for h := range weight {
		hosts = append(hosts, h)
	}
	sort.Slice(hosts, func(i, j int) bool {
		if weight[hosts[i]] != weight[hosts[j]] {
			return weight[hosts[i]] > weight[hosts[j]]
		}
		return hosts[i] < hosts[j]
	})
	return hosts[:min(3, len(hosts))], nil
}
