// Package datagen makes deterministic input data for the examples, tests and
// benchmarks: the same seed and size always give the same bytes.
package datagen

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// Regions are the sales regions of the generated sales data: more than the 20 the
// revenue example prints, with skewed weights so that the ranking is not uniform.
var Regions = []string{
	"north-america", "south-america", "western-europe", "eastern-europe", "northern-europe",
	"southern-europe", "middle-east", "north-africa", "west-africa", "east-africa",
	"southern-africa", "central-asia", "south-asia", "east-asia", "southeast-asia",
	"oceania", "caribbean", "central-america", "nordics", "baltics", "balkans",
	"iberia", "benelux", "alps", "british-isles", "anatolia", "caucasus", "levant",
	"gulf", "horn-of-africa", "sahel", "pacific-islands",
}

// SalesHeader is the header line of the sales CSV.
const SalesHeader = "order_id,date,region,product,quantity,unit_price,revenue"

// Sales writes a sales CSV of about size bytes: one order per row, revenue =
// quantity × unit price, rounded to cents.
func Sales(w io.Writer, size int64, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(seed, 0x5a1e5))
	zipf := rand.NewZipf(rng, 1.2, 1, uint64(len(Regions)-1))
	n, err := bw.WriteString(SalesHeader + "\n")
	written := int64(n)
	var line []byte
	for id := int64(1); err == nil && written < size; id++ {
		qty := 1 + rng.IntN(20)
		cents := int64(99 + rng.IntN(49900))
		line = line[:0]
		line = strconv.AppendInt(line, id, 10)
		line = fmt.Appendf(line, ",2026-%02d-%02d,%s,product-%04d,%d,", 1+rng.IntN(12), 1+rng.IntN(28), Regions[zipf.Uint64()], rng.IntN(5000), qty)
		line = appendCents(line, cents)
		line = append(line, ',')
		line = appendCents(line, cents*int64(qty))
		line = append(line, '\n')
		n, err = bw.Write(line)
		written += int64(n)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

func appendCents(b []byte, cents int64) []byte {
	b = strconv.AppendInt(b, cents/100, 10)
	return fmt.Appendf(b, ".%02d", cents%100)
}

// Text writes about size bytes of text whose words follow a Zipf distribution over a
// vocabulary of vocab words, about 10 words per line.
func Text(w io.Writer, size int64, vocab int, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(seed, 0x7e47))
	zipf := rand.NewZipf(rng, 1.1, 1, uint64(vocab-1))
	var written int64
	var line []byte
	for written < size {
		line = line[:0]
		words := 1 + rng.IntN(19)
		for i := 0; i < words; i++ {
			if i > 0 {
				line = append(line, ' ')
			}
			line = append(line, 'w')
			line = strconv.AppendUint(line, zipf.Uint64(), 36)
		}
		line = append(line, '\n')
		n, err := bw.Write(line)
		if err != nil {
			return err
		}
		written += int64(n)
	}
	return bw.Flush()
}

// TopRevenue is the revenue example's answer computed with a plain loop over a sales
// CSV: the n regions with the largest revenue (in cents, so that the sum is exact),
// largest first, each line formatted as the example prints it. Tests compare the
// engine's output with it.
func TopRevenue(r io.Reader, n int) ([]string, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no header")
	}
	sums := map[string]int64{}
	for i, row := range rows[1:] {
		if len(row) != 7 {
			return nil, fmt.Errorf("line %d: %d fields, want 7", i+2, len(row))
		}
		v, err := strconv.ParseFloat(row[6], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: revenue: %w", i+2, err)
		}
		sums[row[2]] += int64(math.Round(v * 100))
	}
	regions := make([]string, 0, len(sums))
	for k := range sums {
		regions = append(regions, k)
	}
	slices.SortFunc(regions, func(a, b string) int { return cmp.Or(cmp.Compare(sums[b], sums[a]), cmp.Compare(a, b)) })
	var out []string
	for i, k := range regions[:min(n, len(regions))] {
		out = append(out, fmt.Sprintf("%-4d %-20s %18s", i+1, k, fmt.Sprintf("%d.%02d", sums[k]/100, sums[k]%100)))
	}
	return out, nil
}
