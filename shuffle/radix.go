package shuffle

import "slices"

// radixMin is the smallest run sortRecs radix-sorts: below it, a comparison sort
// is as fast and needs no histogram pass.
const radixMin = 512

// radixSort orders recs by partition and, with byPrefix, then by key prefix: a
// stable least-significant-digit radix sort over the bytes of (part, prefix) that
// vary in this run, in tmp (at least as long as recs) and back. It returns the
// slice that holds the result, recs or tmp.
//
// A run's records are a few hundred thousand fixed-size recs, and a comparison
// sort calls its comparator some twenty times per record; here a record costs one
// histogram step and one move per varying byte, and a byte that is the same in
// every record (the high bytes of a small partition number, the shared bytes of
// keys) costs nothing.
func radixSort(recs, tmp []rec, byPrefix bool) []rec {
	var counts [12][256]int // digits 0-7: prefix bytes, least significant first; 8-11: part
	for i := range recs {
		r := &recs[i]
		if byPrefix {
			p := r.prefix
			counts[0][byte(p)]++
			counts[1][byte(p>>8)]++
			counts[2][byte(p>>16)]++
			counts[3][byte(p>>24)]++
			counts[4][byte(p>>32)]++
			counts[5][byte(p>>40)]++
			counts[6][byte(p>>48)]++
			counts[7][byte(p>>56)]++
		}
		counts[8][byte(r.part)]++
		counts[9][byte(r.part>>8)]++
		counts[10][byte(r.part>>16)]++
		counts[11][byte(r.part>>24)]++
	}
	src, dst := recs, tmp[:len(recs)]
	for d := range counts {
		if d < 8 && !byPrefix {
			continue
		}
		c := &counts[d]
		if c[digit(&src[0], d)] == len(src) {
			continue // every record has the same byte here
		}
		var offs [256]int
		sum := 0
		for b, n := range c {
			offs[b] = sum
			sum += n
		}
		for i := range src {
			b := digit(&src[i], d)
			dst[offs[b]] = src[i]
			offs[b]++
		}
		src, dst = dst, src
	}
	return src
}

// digit is byte d of a rec's radix key (see radixSort).
func digit(r *rec, d int) byte {
	if d < 8 {
		return byte(r.prefix >> (8 * d))
	}
	return byte(r.part >> (8 * (d - 8)))
}

// sortTies finishes a sort by (part, prefix): records whose partitions and
// prefixes are equal are ordered by compareKeys. Ties are rare for long varied
// keys and cheap for short ones, which compareKeys decides by length.
func (w *Writer) sortTies(recs []rec) {
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].prefix == recs[i].prefix && recs[j].part == recs[i].part {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(recs[i:j], func(a, b rec) int { return w.compareKeys(&a, &b) })
		}
		i = j
	}
}
