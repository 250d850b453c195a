package spindle

import (
	"context"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadTextKeepsLines holds every line ReadText made in one partition while it
// reads on: lines share blocks, and no later line may overwrite an earlier one, short
// or long (a line over a quarter block gets a string of its own).
func TestReadTextKeepsLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	var want []string
	var b strings.Builder
	for i := range 5000 {
		n := rng.IntN(80)
		switch i % 97 {
		case 0:
			n = textBlock/4 + rng.IntN(textBlock)
		case 1:
			n = 0
		}
		line := make([]byte, n)
		for j := range line {
			line[j] = byte('a' + rng.IntN(26))
		}
		want = append(want, string(line))
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestSession(t, "spindle.files.maxPartitionBytes", "64m")
	// One partition, whose lines are all held before the first one leaves the task.
	held := MapPartitions(ReadText(s, path), func(lines iter.Seq[string]) iter.Seq[string] {
		all := slices.Collect(lines)
		return slices.Values(all)
	})
	got := collect(t, held)
	if !slices.Equal(got, want) {
		t.Fatalf("read %d lines, want %d; first diff %d", len(got), len(want), firstDiff(got, want))
	}
}

// TestFlatMapFunc checks FlatMapFunc against FlatMap's results, and that a consumer
// that stops early (Take) stops it.
func TestFlatMapFunc(t *testing.T) {
	s := newTestSession(t)
	lines := []string{"a b  c", "", "  d", "e f g h i", "j"}
	d := Parallelize(s, lines, 2)
	fields := func(line string, yield func(string) bool) {
		for w := range strings.FieldsSeq(line) {
			if !yield(w) {
				return
			}
		}
	}
	got := collect(t, FlatMapFunc(d, fields))
	if want := collect(t, FlatMap(d, strings.Fields)); !slices.Equal(got, want) {
		t.Fatalf("FlatMapFunc = %q, FlatMap = %q", got, want)
	}
	var calls int
	stopper := func(line string, yield func(string) bool) {
		for w := range strings.FieldsSeq(line) {
			calls++
			if !yield(w) {
				return
			}
		}
	}
	one := Parallelize(s, []string{strings.Repeat("w ", 1000)}, 1)
	taken, err := Take(context.Background(), FlatMapFunc(one, stopper), 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(taken, []string{"w", "w", "w"}) || calls > 4 {
		t.Fatalf("Take 3 got %q after %d words", taken, calls)
	}
}

type label string

// TestSortSelfKeyed sorts elements that are their own keys, which the shuffle
// stores once with an empty value, in both directions, with empty strings and the
// bytes that a descending key escapes (0x00, 0xFF); and elements whose key is
// another string, among them an empty element with a non-empty key.
func TestSortSelfKeyed(t *testing.T) {
	s := newTestSession(t)
	in := []string{"", "b", "a\x00", "a", "\xff", "\xff\x00", "\x00", "", "zz", "a\xff\xff", "b"}
	rng := rand.New(rand.NewPCG(3, 3))
	for range 2000 {
		n := rng.IntN(6)
		w := make([]byte, n)
		for j := range w {
			w[j] = []byte{0x00, 0xff, 'a', 'b'}[rng.IntN(4)]
		}
		in = append(in, string(w))
	}
	d := Parallelize(s, in, 4)
	asc := slices.Clone(in)
	slices.Sort(asc)
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	prefixed := collect(t, SortBy(d, func(e string) string { return "k" + e }, true))
	labels := Map(d, func(e string) label { return label(e) })
	var gotLabels []string
	for _, l := range collect(t, SortBy(labels, func(l label) label { return l }, false)) {
		gotLabels = append(gotLabels, string(l))
	}
	for _, c := range []struct {
		name      string
		got, want []string
	}{
		{"ascending", collect(t, SortBy(d, func(e string) string { return e }, true)), asc},
		{"descending", collect(t, SortBy(d, func(e string) string { return e }, false)), desc},
		{"named string type, descending", gotLabels, desc},
		{"key other than the element", prefixed, asc},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: %d elements, want %d; first diff %d", c.name, len(c.got), len(c.want), firstDiff(c.got, c.want))
		}
	}
}

// TestAscendingKeyUndoesDescendingKey round-trips keys through the descending
// encoding, and rejects truncated ones.
func TestAscendingKeyUndoesDescendingKey(t *testing.T) {
	for _, k := range []string{"", "a", "\x00", "\xff", "\x00\xff\x00", "ab\xffc\x00"} {
		enc := descendingKey(nil, []byte(k))
		got, err := ascendingKey(nil, enc)
		if err != nil || string(got) != k {
			t.Errorf("%q: got %q, %v", k, got, err)
		}
		if _, err := ascendingKey(nil, enc[:len(enc)-1]); err == nil {
			t.Errorf("%q: truncated key accepted", k)
		}
	}
}
