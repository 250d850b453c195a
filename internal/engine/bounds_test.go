package engine

import (
	"slices"
	"testing"
)

func TestRangeBounds(t *testing.T) {
	k := func(s ...string) []WeightedKey {
		var out []WeightedKey
		for _, x := range s {
			out = append(out, WeightedKey{Key: []byte(x), Weight: 1})
		}
		return out
	}
	tests := []struct {
		name    string
		samples []WeightedKey
		nparts  int
		want    []string
	}{
		{"even split, unsorted input", k("d", "b", "f", "a", "e", "c"), 3, []string{"b", "d"}},
		{"duplicates give no equal bounds", k("a", "a", "a", "a", "b", "c"), 3, []string{"a", "c"}},
		{"one partition, no bounds", k("a", "b"), 1, nil},
		{"no samples", nil, 4, nil},
		{"weights count", []WeightedKey{{[]byte("a"), 3}, {[]byte("b"), 1}, {[]byte("c"), 1}, {[]byte("d"), 1}}, 2, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, b := range RangeBounds(tt.samples, tt.nparts) {
				got = append(got, string(b))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("bounds %q, want %q", got, tt.want)
			}
		})
	}
}
