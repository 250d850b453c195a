// Command frames is the seed's example in Go, Spark's best-known three lines on
// named columns: read Parquet, sum revenue by region, show 20 rows.
//
//	spindle submit --master local[2] ./frames sales.parquet
package main

import (
	"context"
	"os"

	"github.com/spindle-engine/spindle"
)

func main() {
	spindle.Main(func(ctx context.Context, s *spindle.Session) error {
		df := spindle.ReadParquet(s, os.Args[1:]...)
		result := df.GroupBy("region").Sum("revenue")
		return result.Show(ctx, 20)
	})
}
