// Command gen writes deterministic input data for the examples and benchmarks.
//
//	go run ./examples/gen -kind sales -size 200MB -out build/data/sales.csv
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/examples/datagen"
)

func main() {
	kind := flag.String("kind", "sales", "what to generate: sales (CSV), text (Zipf words), records (100-byte sort records), fact or dim (join tables)")
	size := flag.String("size", "200MB", "approximate output size, e.g. 512k, 200MB, 2g (sales, text, records)")
	rows := flag.Int64("rows", 0, "rows for -kind fact or dim")
	dims := flag.Int64("dims", 1000000, "dimension ids the fact rows refer to")
	out := flag.String("out", "", "output file (required)")
	seed := flag.Uint64("seed", 1, "random seed")
	vocab := flag.Int("vocab", 100000, "vocabulary size for -kind text")
	format := flag.String("format", "csv", "output format of -kind sales: csv, or parquet (about -size worth of CSV rows, or -rows rows)")
	codec := flag.String("codec", "snappy", "Parquet compression: snappy, zstd, gzip or none")
	flag.Parse()
	if err := run(*kind, *format, *codec, *size, *out, *seed, *vocab, *rows, *dims); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}

func run(kind, format, codec, sizeFlag, out string, seed uint64, vocab int, rows, dims int64) error {
	if out == "" {
		return fmt.Errorf("-out is required")
	}
	size, err := conf.ParseSize(sizeFlag)
	if err != nil {
		return fmt.Errorf("-size %s: %w", sizeFlag, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	// Write beside the target and rename, so an interrupted run never leaves a
	// truncated file that looks like finished input.
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	switch kind {
	case "sales":
		switch format {
		case "csv":
			err = datagen.Sales(f, size, seed)
		case "parquet":
			if rows == 0 {
				rows = size / datagen.SalesRowBytes
			}
			err = datagen.SalesParquet(f, rows, seed, codec)
		default:
			err = fmt.Errorf("-format %q: want csv or parquet", format)
		}
	case "text":
		err = datagen.Text(f, size, vocab, seed)
	case "records":
		err = datagen.Records(f, size/datagen.RecordSize, seed)
	case "fact":
		err = datagen.Fact(f, rows, dims, seed)
	case "dim":
		err = datagen.Dim(f, rows, seed)
	default:
		err = fmt.Errorf("-kind %q: want sales, text, records, fact or dim", kind)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}
