// Command parquetcmp measures Go Parquet readers on the frames benchmark's query:
// read the region (dictionary-encoded string) and revenue (decimal(18,2) stored as
// INT64) columns of a sales file and sum revenue by region. It exists to choose
// the library frames read Parquet with on measured speed (issue #14), and lives in
// its own module so that the candidate not chosen stays out of Spindle's go.mod.
//
//	go run . -lib pqarrow   -par 1 ../../../build/bench/data-x8/sales.parquet
//	go run . -lib arrowfile -par 1 ...
//	go run . -lib parquetgo -par 1 ...
//
// Libraries:
//   - pqarrow: arrow-go's Arrow reader (pqarrow.FileReader.GetRecordReader, the
//     string read as a dictionary), as frames used it before.
//   - arrowfile: arrow-go's column chunk readers (file.Int64ColumnChunkReader and
//     file.ByteArrayColumnChunkReader ReadBatch into reused buffers), no Arrow
//     arrays; strings come out as values, so groups are found by string.
//   - parquetgo: github.com/parquet-go/parquet-go pages (indices of dictionary
//     pages and int64 values read from page.Data()).
//
// Each prints the groups (region, sum as unscaled int64), then one line with the
// process's CPU seconds (user+sys, from getrusage, for the read alone), wall
// seconds, bytes and objects allocated, and GC cycles.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pgo "github.com/parquet-go/parquet-go"
)

const batch = 64 << 10

var readBuf int

// sums is one worker's groups.
type sums map[string]int64

func main() {
	lib := flag.String("lib", "pqarrow", "pqarrow, arrowfile or parquetgo")
	par := flag.Int("par", 1, "goroutines, each reading whole row groups")
	flag.IntVar(&readBuf, "readbuf", 4096, "parquet-go's read buffer size (ReadBufferSize)")
	keyCol := flag.String("key", "region", "string column to group by")
	valCol := flag.String("val", "revenue", "INT64 column to sum")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: parquetcmp [-lib L] [-par N] file.parquet")
		os.Exit(2)
	}
	path := flag.Arg(0)
	var read func(path string, rgs []int, key, val string) (sums, error)
	var nrg int
	switch *lib {
	case "pqarrow":
		read = readPqarrow
	case "arrowfile":
		read = readArrowFile
	case "parquetgo":
		read = readParquetGo
	default:
		fmt.Fprintln(os.Stderr, "unknown -lib", *lib)
		os.Exit(2)
	}
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		fail(err)
	}
	nrg = r.NumRowGroups()
	r.Close()

	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c0, t0 := cpu(), time.Now()
	parts := make([]sums, *par)
	errs := make([]error, *par)
	var wg sync.WaitGroup
	for w := 0; w < *par; w++ {
		var rgs []int
		for rg := w; rg < nrg; rg += *par {
			rgs = append(rgs, rg)
		}
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			parts[w], errs[w] = read(path, rgs, *keyCol, *valCol)
		}(w)
	}
	wg.Wait()
	c1, t1 := cpu(), time.Now()
	runtime.ReadMemStats(&m1)
	total := sums{}
	for w, p := range parts {
		if errs[w] != nil {
			fail(errs[w])
		}
		for k, v := range p {
			total[k] += v
		}
	}
	keys := make([]string, 0, len(total))
	for k := range total {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("%s|%d\n", k, total[k])
	}
	fmt.Printf("lib %s par %d cpu %.3f wall %.3f alloc_mib %.1f allocs %d gc %d\n", *lib, *par,
		c1-c0, t1.Sub(t0).Seconds(), float64(m1.TotalAlloc-m0.TotalAlloc)/(1<<20), m1.Mallocs-m0.Mallocs, m1.NumGC-m0.NumGC)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "parquetcmp:", err)
	os.Exit(1)
}

func cpu() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// readPqarrow is frames' former path: Arrow record batches, the key as a
// dictionary array, the value as decimal128, summed by dictionary code.
func readPqarrow(path string, rgs []int, key, val string) (sums, error) {
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	ki, vi := r.MetaData().Schema.ColumnIndexByName(key), r.MetaData().Schema.ColumnIndexByName(val)
	props := pqarrow.ArrowReadProperties{BatchSize: batch}
	props.SetReadDict(ki, true)
	fr, err := pqarrow.NewFileReader(r, props, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	cols := []int{ki, vi}
	sort.Ints(cols)
	rr, err := fr.GetRecordReader(context.Background(), cols, rgs)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	out := sums{}
	for rr.Next() {
		rec := rr.RecordBatch()
		kc := rec.Column(rec.Schema().FieldIndices(key)[0]).(*array.Dictionary)
		vc := rec.Column(rec.Schema().FieldIndices(val)[0])
		dict := kc.Dictionary().(*array.String)
		part := make([]int64, dict.Len())
		idx := kc.Indices().(*array.Int32).Int32Values()
		switch v := vc.(type) {
		case *array.Decimal128:
			for i, j := range idx {
				part[j] += int64(v.Value(i).LowBits())
			}
		case *array.Int64:
			for i, j := range idx {
				part[j] += v.Value(i)
			}
		default:
			return nil, fmt.Errorf("column %s is %s", val, vc.DataType())
		}
		for j, s := range part {
			if s != 0 {
				out[dict.Value(j)] += s
			}
		}
	}
	if err := rr.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// readArrowFile uses arrow-go's column chunk readers with reused buffers.
func readArrowFile(path string, rgs []int, key, val string) (sums, error) {
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	ki, vi := r.MetaData().Schema.ColumnIndexByName(key), r.MetaData().Schema.ColumnIndexByName(val)
	keys := make([]parquet.ByteArray, batch)
	vals := make([]int64, batch)
	kdef, vdef := make([]int16, batch), make([]int16, batch)
	// Pointers into acc: looking a string up by bytes does not allocate, storing
	// a new key does, once per distinct key.
	acc := map[string]*int64{}
	for _, rg := range rgs {
		g := r.RowGroup(rg)
		kc, err := g.Column(ki)
		if err != nil {
			return nil, err
		}
		vc, err := g.Column(vi)
		if err != nil {
			return nil, err
		}
		kr, ok1 := kc.(*file.ByteArrayColumnChunkReader)
		vr, ok2 := vc.(*file.Int64ColumnChunkReader)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("columns %s, %s are not BYTE_ARRAY, INT64", key, val)
		}
		// Runs of equal keys are summed before the map lookup; the last key's
		// bytes point into the dictionary, so the same entry is the same slice.
		for {
			_, nk, err := kr.ReadBatch(batch, keys, kdef, nil)
			if err != nil {
				return nil, err
			}
			_, nv, err := vr.ReadBatch(batch, vals, vdef, nil)
			if err != nil {
				return nil, err
			}
			if nk != nv {
				return nil, fmt.Errorf("row group %d: %d keys but %d values (nulls are not handled here)", rg, nk, nv)
			}
			if nk == 0 {
				break
			}
			for i := 0; i < nk; {
				k := keys[i]
				var s int64
				j := i
				for ; j < nk && len(keys[j]) == len(k) && (len(k) == 0 || &keys[j][0] == &k[0]); j++ {
					s += vals[j]
				}
				p := acc[string(k)]
				if p == nil {
					p = new(int64)
					acc[string(k)] = p
				}
				*p += s
				i = j
			}
		}
	}
	out := sums{}
	for k, p := range acc {
		out[k] = *p
	}
	return out, nil
}

// readParquetGo uses parquet-go's pages: dictionary indices and int64 values.
func readParquetGo(path string, rgs []int, key, val string) (sums, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := pgo.OpenFile(f, st.Size(), pgo.SkipPageIndex(true), pgo.SkipBloomFilters(true), pgo.ReadBufferSize(readBuf))
	if err != nil {
		return nil, err
	}
	leaf := func(name string) (int, error) {
		for i, c := range pf.Root().Columns() {
			if c.Name() == name {
				return i, nil
			}
		}
		return -1, fmt.Errorf("no column %s", name)
	}
	ki, err := leaf(key)
	if err != nil {
		return nil, err
	}
	vi, err := leaf(val)
	if err != nil {
		return nil, err
	}
	out := sums{}
	groups := pf.RowGroups()
	for _, rg := range rgs {
		chunks := groups[rg].ColumnChunks()
		// The keys of a row group, as dictionary indices (one dictionary per chunk).
		var codes []int32
		var dictKeys []string
		kp := chunks[ki].Pages()
		for {
			p, err := kp.ReadPage()
			if err != nil {
				break
			}
			if p.NumNulls() > 0 {
				return nil, fmt.Errorf("%s has nulls (not handled here)", key)
			}
			d := p.Dictionary()
			if d == nil {
				return nil, fmt.Errorf("%s has a page that is not dictionary-encoded (not handled here)", key)
			}
			if dictKeys == nil {
				dv := d.Page().Data()
				data, offs := dv.ByteArray()
				for j := 0; j+1 < len(offs); j++ {
					dictKeys = append(dictKeys, string(data[offs[j]:offs[j+1]]))
				}
			}
			pd := p.Data()
			codes = append(codes, pd.Int32()...)
			pgo.Release(p)
		}
		kp.Close()
		part := make([]int64, len(dictKeys))
		row := 0
		vp := chunks[vi].Pages()
		for {
			p, err := vp.ReadPage()
			if err != nil {
				break
			}
			if p.NumNulls() > 0 {
				return nil, fmt.Errorf("%s has nulls (not handled here)", val)
			}
			if d := p.Dictionary(); d != nil {
				dd := d.Page().Data()
				dv := dd.Int64()
				pd := p.Data()
				for _, j := range pd.Int32() {
					part[codes[row]] += dv[j]
					row++
				}
			} else {
				pd := p.Data()
				for _, v := range pd.Int64() {
					part[codes[row]] += v
					row++
				}
			}
			pgo.Release(p)
		}
		vp.Close()
		if row != len(codes) {
			return nil, fmt.Errorf("row group %d: %d keys but %d values", rg, len(codes), row)
		}
		for j, s := range part {
			out[dictKeys[j]] += s
		}
	}
	return out, nil
}
