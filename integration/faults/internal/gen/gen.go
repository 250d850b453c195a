// Package gen makes the fault suite's generated records, and checks them: the job
// generates them on the cluster, the test computes what the output must add up to.
package gen

import (
	"fmt"
	"hash/fnv"
)

// Record is the i-th generated sort record: a 99-byte line whose first 10 bytes
// are its key, as in the sort benchmark, and the rest its index (unique).
func Record(i int) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d", i)
	return fmt.Sprintf("%010d%089d", h.Sum64()%10_000_000_000, i)
}

// LineHash is the order-independent checksum of one line: summed over a set of
// lines, it tells whether the set survived a shuffle whole.
func LineHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
