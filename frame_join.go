package spindle

import "github.com/spindle-engine/spindle/internal/frame"

// JoinType is how a join treats rows without a match.
type JoinType string

// The join types.
const (
	// Inner keeps only rows whose keys match on both sides.
	Inner JoinType = "inner"
	// LeftOuter keeps every left row, with nulls for the right's columns where
	// nothing matches.
	LeftOuter JoinType = "left"
)

// Join joins f with other on columns both have (Spark's join with "using" columns):
// the result has the join columns once, then f's other columns, then other's. Both
// sides are shuffled by the join columns' hash and each partition is joined with a
// hash table of other's rows, which spills to disk when it outgrows its memory.
// Null keys match nothing. A column other than the join columns that both sides have
// is an error: rename one with Select and As.
func (f Frame) Join(other Frame, on []string, how JoinType) Frame {
	if f.err == nil && other.err != nil {
		return other
	}
	return f.then("Join", func() (*frame.Plan, error) {
		return frame.NewJoin(callSite(), f.p, other.p, on, string(how), false)
	})
}
