package engine

import (
	"bytes"
	"slices"
)

// WeightedKey is a sampled sort key standing for Weight records of the partition
// it was sampled from (its records over its sample size).
type WeightedKey struct {
	Key    []byte
	Weight float64
}

// RangeBounds sorts samples by key and picks at most nparts-1 strictly increasing
// bounds that split their total weight evenly, as Spark's
// RangePartitioner.determineBounds does: a range shuffle's partition i takes the
// keys up to bounds[i]. Both the typed SortBy and frames' OrderBy use it.
func RangeBounds(samples []WeightedKey, nparts int) [][]byte {
	if nparts <= 1 {
		return nil // one partition takes every key
	}
	slices.SortFunc(samples, func(a, b WeightedKey) int { return bytes.Compare(a.Key, b.Key) })
	var sum float64
	for _, s := range samples {
		sum += s.Weight
	}
	step := sum / float64(nparts)
	var bounds [][]byte
	var cum float64
	target := step
	for _, s := range samples {
		cum += s.Weight
		if cum < target {
			continue
		}
		if len(bounds) == 0 || bytes.Compare(s.Key, bounds[len(bounds)-1]) > 0 {
			bounds = append(bounds, s.Key)
			if len(bounds) == nparts-1 {
				break
			}
		}
		target += step
	}
	return bounds
}
