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
	kind := flag.String("kind", "sales", "what to generate: sales (CSV) or text (Zipf words)")
	size := flag.String("size", "200MB", "approximate output size, e.g. 512k, 200MB, 2g")
	out := flag.String("out", "", "output file (required)")
	seed := flag.Uint64("seed", 1, "random seed")
	vocab := flag.Int("vocab", 100000, "vocabulary size for -kind text")
	flag.Parse()
	if err := run(*kind, *size, *out, *seed, *vocab); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}

func run(kind, sizeFlag, out string, seed uint64, vocab int) error {
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
		err = datagen.Sales(f, size, seed)
	case "text":
		err = datagen.Text(f, size, vocab, seed)
	default:
		err = fmt.Errorf("-kind %q: want sales or text", kind)
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
