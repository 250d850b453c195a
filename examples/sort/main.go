// Command sort sorts the lines of text files and writes them in order, one part file
// per range of the key space; reading the part files in name order reads the lines
// sorted.
//
//	spindle submit --master local[2] ./sort input.txt sorted/
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spindle-engine/spindle"
)

// SortLines sorts lines by their bytes.
var SortLines = spindle.Register("sort-lines",
	func(s *spindle.Session, in string) spindle.Dataset[string] {
		return spindle.SortBy(spindle.ReadText(s, in), func(l string) string { return l }, true)
	})

func main() {
	spindle.Main(func(ctx context.Context, s *spindle.Session) error {
		if len(os.Args) != 3 {
			return fmt.Errorf("usage: sort <input> <output directory>")
		}
		return spindle.SaveAsText(ctx, SortLines.Build(ctx, s, os.Args[1]), os.Args[2])
	})
}
