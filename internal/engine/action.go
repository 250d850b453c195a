package engine

// ResultFunc computes one partition of a job's final stage and encodes what the
// driver needs from it.
type ResultFunc func(tc *TaskContext, part int) ([]byte, error)

// Action is an action's task side as data, so that an executor can compute it: a
// Node's Result function turns it back into a ResultFunc of the node's type.
type Action struct {
	Kind ActionKind `json:"kind"`
	// Limit bounds the elements per partition (collect) or the sample size (sample);
	// negative means no limit.
	Limit int `json:"limit,omitempty"`
	// Shuffle is the sort whose keys a sample job samples.
	Shuffle int `json:"shuffle,omitempty"`
	// Save: the output directory, the committer's job tag and the file format.
	Path      string `json:"path,omitempty"`
	JobTag    string `json:"jobTag,omitempty"`
	Format    string `json:"format,omitempty"`
	Overwrite bool   `json:"overwrite,omitempty"`
}

// ActionKind names what an action's tasks compute.
type ActionKind string

// The actions' kinds.
const (
	ActionCollect    ActionKind = "collect"
	ActionCount      ActionKind = "count"
	ActionSave       ActionKind = "save"
	ActionSample     ActionKind = "sample"
	ActionCountByKey ActionKind = "countByKey"
)
