// Command join joins a fact table with a dimension table (both CSV) and writes one
// "fact_id<TAB>name<TAB>amount" line per fact row: the benchmarks' join workload.
//
//	spindle submit --master local[2] ./join fact.csv dim.csv out/
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/spindle-engine/spindle"
)

// Fact is one row of the fact table.
type Fact struct {
	FactID int64 `csv:"fact_id"`
	DimID  int64 `csv:"dim_id"`
	Amount int64 `csv:"amount"`
}

// Dim is one row of the dimension table.
type Dim struct {
	DimID int64  `csv:"dim_id"`
	Name  string `csv:"name"`
}

// Paths names the two tables.
type Paths struct{ Fact, Dim string }

// JoinFacts joins every fact with its dimension's name.
var JoinFacts = spindle.Register("bench-join", func(s *spindle.Session, p Paths) spindle.Dataset[string] {
	facts := spindle.KeyBy(spindle.ReadCSV[Fact](s, p.Fact), func(f Fact) int64 { return f.DimID })
	dims := spindle.KeyBy(spindle.ReadCSV[Dim](s, p.Dim), func(d Dim) int64 { return d.DimID })
	joined := spindle.Join(facts, dims)
	return spindle.Map(joined, func(kv spindle.KV[int64, spindle.Pair[Fact, Dim]]) string {
		// strconv, not fmt: this runs once per output row.
		return strconv.FormatInt(kv.Value.First.FactID, 10) + "\t" + kv.Value.Second.Name + "\t" +
			strconv.FormatInt(kv.Value.First.Amount, 10)
	})
})

func main() {
	spindle.Main(func(ctx context.Context, s *spindle.Session) error {
		if len(os.Args) != 4 {
			return fmt.Errorf("usage: join <fact.csv> <dim.csv> <output directory>")
		}
		return spindle.SaveAsText(ctx, JoinFacts.Build(ctx, s, Paths{os.Args[1], os.Args[2]}), os.Args[3])
	})
}
