// Command wordcount counts the words of text files and writes "word<TAB>count" lines.
//
//	spindle submit --master local[2] ./wordcount input.txt counts/
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spindle-engine/spindle"
)

// WordCount counts whitespace-separated words.
var WordCount = spindle.Register("wordcount",
	func(s *spindle.Session, in string) spindle.Dataset[spindle.KV[string, int]] {
		lines := spindle.ReadText(s, in)
		words := spindle.FlatMapFunc(lines, func(line string, yield func(string) bool) {
			for w := range strings.FieldsSeq(line) {
				if !yield(w) {
					return
				}
			}
		})
		ones := spindle.Map(words, func(w string) spindle.KV[string, int] { return spindle.KV[string, int]{Key: w, Value: 1} })
		return spindle.ReduceByKey(ones, func(a, b int) int { return a + b })
	})

func main() {
	spindle.Main(func(ctx context.Context, s *spindle.Session) error {
		if len(os.Args) != 3 {
			return fmt.Errorf("usage: wordcount <input> <output directory>")
		}
		return spindle.SaveAsText(ctx, WordCount.Build(ctx, s, os.Args[1]), os.Args[2])
	})
}
