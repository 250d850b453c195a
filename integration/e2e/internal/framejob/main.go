// Command framejob holds the frame jobs of the YARN end-to-end tests, beside the
// seed's example (examples/frames):
//
//	framejob save <in> <out>   without Register: the orders of 3 or more items, their
//	                           revenue and count by region, saved as Parquet in out
//	framejob typed <in>        with Register: revenue by region as a Dataset of
//	                           structs (As), collected and printed as region|total
package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spindle-engine/spindle"
)

// regionTotal is a row of the typed job's result.
type regionTotal struct {
	Region string          `parquet:"region"`
	Total  spindle.Decimal `parquet:"sum(revenue)"`
}

// Totals builds the frame inside a registered job's builder: executors rebuild it
// from the job's name and argument, as any registered job.
var Totals = spindle.Register("e2e-frame-totals", func(s *spindle.Session, in string) spindle.Dataset[regionTotal] {
	return spindle.As[regionTotal](spindle.ReadParquet(s, in).GroupBy("region").Sum("revenue"))
})

func main() {
	spindle.Main(func(ctx context.Context, s *spindle.Session) error {
		args := os.Args[1:]
		if len(args) < 2 {
			return fmt.Errorf("usage: framejob save <in> <out> | framejob typed <in>")
		}
		switch args[0] {
		case "save":
			if len(args) != 3 {
				return fmt.Errorf("usage: framejob save <in> <out>")
			}
			return spindle.ReadParquet(s, args[1]).
				Filter(spindle.Col("quantity").Ge(3)).
				GroupBy("region").Agg(spindle.Col("revenue").Sum(), spindle.CountRows().As("orders")).
				SaveAsParquet(ctx, args[2])
		case "typed":
			rows, err := Totals.Run(ctx, s, args[1])
			if err != nil {
				return err
			}
			lines := make([]string, len(rows))
			for i, r := range rows {
				lines[i] = r.Region + "|" + r.Total.String()
			}
			slices.Sort(lines)
			_, err = fmt.Println(strings.Join(lines, "\n"))
			return err
		}
		return fmt.Errorf("framejob: unknown job %q", args[0])
	})
}
