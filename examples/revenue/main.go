// Command revenue is the seed's example job: total revenue by region over a CSV of
// sales, largest first, top 20 printed.
//
//	spindle submit --master local[2] ./revenue sales.csv
package main

import (
	"context"
	"fmt"
	"math"
	"os"

	"github.com/spindle-engine/spindle"
)

// Sale is the part of a sales CSV row that the job reads: only the columns a struct
// declares are decoded, so it declares no others (the file also has order_id, date,
// product, quantity and unit_price).
type Sale struct {
	Region  string  `csv:"region"`
	Revenue float64 `csv:"revenue"`
}

// RevenueByRegion sums revenue per region, in cents so that the totals are exact
// whatever order the partial sums are added in, sorted largest first.
var RevenueByRegion = spindle.Register("revenue-by-region",
	func(s *spindle.Session, input string) spindle.Dataset[spindle.KV[string, int64]] {
		sales := spindle.ReadCSV[Sale](s, input)
		cents := spindle.Map(sales, func(r Sale) spindle.KV[string, int64] {
			return spindle.KV[string, int64]{Key: r.Region, Value: int64(math.Round(r.Revenue * 100))}
		})
		totals := spindle.ReduceByKey(cents, func(a, b int64) int64 { return a + b })
		return spindle.SortBy(totals, func(kv spindle.KV[string, int64]) int64 { return kv.Value }, false)
	})

func main() {
	spindle.Main(func(ctx context.Context, s *spindle.Session) error {
		if len(os.Args) != 2 {
			return fmt.Errorf("usage: revenue <sales.csv or directory>")
		}
		top, err := spindle.Take(ctx, RevenueByRegion.Build(ctx, s, os.Args[1]), 20)
		if err != nil {
			return err
		}
		fmt.Printf("%-4s %-20s %18s\n", "rank", "region", "revenue")
		for i, kv := range top {
			fmt.Printf("%-4d %-20s %18s\n", i+1, kv.Key, formatCents(kv.Value))
		}
		return nil
	})
}

func formatCents(c int64) string {
	return fmt.Sprintf("%d.%02d", c/100, c%100)
}
