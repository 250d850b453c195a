package hdfs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLinesLongerThanTheBuffer reads lines longer than any read buffer (256 KiB at
// most), which the reader gathers in a buffer of their own, between short ones, which
// it hands out as views of its read buffer: every split's lines, in order, are the
// file's.
func TestLinesLongerThanTheBuffer(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(8, 8))
	for _, crlf := range []bool{false, true} {
		var want []string
		var b strings.Builder
		for i := range 40 {
			n := rng.IntN(20)
			if i%3 == 0 {
				n = 256<<10 + rng.IntN(300<<10)
			}
			line := strings.Repeat(string(rune('a'+i%26)), n)
			want = append(want, line)
			b.WriteString(line)
			if crlf {
				b.WriteString("\r")
			}
			b.WriteString("\n")
		}
		p := filepath.Join(t.TempDir(), "long.txt")
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		st, _ := Local.Stat(ctx, p)
		for _, size := range []int64{100 << 10, 1 << 20, st.Size} {
			t.Run(fmt.Sprintf("crlf=%v/split%d", crlf, size), func(t *testing.T) {
				splits, err := PlanSplits(ctx, Local, []FileInfo{st}, size)
				if err != nil {
					t.Fatal(err)
				}
				if got := readSplits(t, Local, splits); !slices.Equal(got, want) {
					t.Fatalf("%d splits read %d lines, want %d; first diff %d", len(splits), len(got), len(want), firstDiff(got, want))
				}
			})
		}
	}
}
