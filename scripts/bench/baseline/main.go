// Command baseline is the benchmarks' hand-written Go: word count and revenue by
// region as a plain program would do them, with no engine. It is the yardstick of
// per-record cost in BENCHMARKS.md, not part of Spindle: it imports nothing of it.
//
// Like Spindle local[2] it uses two goroutines, each scanning half of the file's
// bytes into its own map, and merges the maps at the end.
//
//	baseline wordcount <text file> <output directory>
//	baseline revenue <sales.csv>
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
)

const workers = 2

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	switch {
	case len(args) == 3 && args[0] == "wordcount":
		return wordcount(args[1], args[2])
	case len(args) == 2 && args[0] == "revenue":
		return revenue(args[1])
	}
	return fmt.Errorf("usage: baseline wordcount <text> <out> | baseline revenue <sales.csv>")
}

// eachHalf calls line, in one goroutine per range of path's bytes, with every line
// that starts in the range (without its newline); done gets each goroutine's result.
func eachHalf(path string, line func(w int, b []byte)) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	size := fi.Size()
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = scanRange(path, size, size*int64(i)/workers, size*int64(i+1)/workers, func(b []byte) { line(i, b) })
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// scanRange calls f with the lines that start in [start, end) of a file of size bytes.
func scanRange(path string, size, start, end int64, f func([]byte)) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	pos := start
	if start > 0 {
		pos-- // a line starting at start follows a newline at start-1
	}
	br := bufio.NewReaderSize(io.NewSectionReader(file, pos, size-pos), 1<<20)
	if start > 0 {
		skipped, err := br.ReadSlice('\n')
		pos += int64(len(skipped))
		if err != nil {
			return nil
		}
	}
	for pos < end {
		b, err := br.ReadSlice('\n')
		pos += int64(len(b))
		if len(b) > 0 && b[len(b)-1] == '\n' {
			b = b[:len(b)-1]
		}
		if len(b) > 0 {
			f(b)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func wordcount(in, out string) error {
	// Counts by pointer: m[string(b)] looks up without allocating, an assignment
	// through it would allocate the string every time.
	maps := []map[string]*int{{}, {}}
	err := eachHalf(in, func(w int, line []byte) {
		m := maps[w]
		for len(line) > 0 {
			for len(line) > 0 && isSpace(line[0]) {
				line = line[1:]
			}
			j := 0
			for j < len(line) && !isSpace(line[j]) {
				j++
			}
			if j > 0 {
				if c := m[string(line[:j])]; c != nil {
					*c++
				} else {
					n := 1
					m[string(line[:j])] = &n
				}
			}
			line = line[j:]
		}
	})
	if err != nil {
		return err
	}
	total := maps[0]
	for _, m := range maps[1:] {
		for w, n := range m {
			if c := total[w]; c != nil {
				*c += *n
			} else {
				total[w] = n
			}
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(out, "part-00000"))
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var buf []byte
	for w, n := range total {
		buf = append(buf[:0], w...)
		buf = append(buf, '\t')
		buf = strconv.AppendInt(buf, int64(*n), 10)
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
}

// revenue sums the revenue column (the 7th) in cents per region (the 3rd) and
// prints the top 20 as "region<TAB>cents", largest first.
func revenue(in string) error {
	maps := []map[string]int64{{}, {}}
	errs := make([]error, workers)
	err := eachHalf(in, func(w int, line []byte) {
		if errs[w] != nil || bytes.HasPrefix(line, []byte("order_id,")) {
			return
		}
		var fields [7][]byte
		k := 0
		rest := line
		for ; k < 6; k++ {
			j := bytes.IndexByte(rest, ',')
			if j < 0 {
				break
			}
			fields[k], rest = rest[:j], rest[j+1:]
		}
		fields[6] = rest
		v, err := strconv.ParseFloat(string(fields[6]), 64) // the conversion does not allocate
		if err != nil || k != 6 {
			errs[w] = fmt.Errorf("bad row %q", line)
			return
		}
		maps[w][string(fields[2])] += int64(math.Round(v * 100))
	})
	if err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	total := maps[0]
	for _, m := range maps[1:] {
		for k, v := range m {
			total[k] += v
		}
	}
	type kv struct {
		k string
		v int64
	}
	var rows []kv
	for k, v := range total {
		rows = append(rows, kv{k, v})
	}
	slices.SortFunc(rows, func(a, b kv) int { return cmp.Or(cmp.Compare(b.v, a.v), cmp.Compare(a.k, b.k)) })
	for _, r := range rows[:min(20, len(rows))] {
		fmt.Printf("%s\t%d\n", r.k, r.v)
	}
	return nil
}
