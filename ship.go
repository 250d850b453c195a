package spindle

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"sync"
)

// A remote executor cannot receive the driver's closures, so it rebuilds them: the
// driver ships, with every task, which registered job built the stage (its name and
// encoded argument) and what the builder read from the outside world while it ran
// (input splits). The executor runs the same builder in the same binary and so gets
// the same nodes, with the same ids, and their closures. A fingerprint of the plan and
// the binary's hash guard against a builder that does not build the same plan twice.

// build is one run of a registered job's builder.
type build struct {
	ref      buildRef
	nodes    map[int]*node
	shuffles map[int]*shuffleDep
	// replay holds the facts shipped by the driver while an executor rebuilds; nil
	// on the driver, which records facts instead.
	replay [][]byte
}

// buildRef is what an executor needs to rebuild a build.
type buildRef struct {
	ID          int    `json:"id"`
	Job         string `json:"job"`
	Arg         []byte `json:"arg"`
	NodeBase    int    `json:"nodeBase"`
	ShuffleBase int    `json:"shuffleBase"`
	// Slots is the driver's slot count when it built the plan: input splits and
	// default partition counts depend on it.
	Slots int `json:"slots"`
	// Facts are what the builder read from outside on the driver (input splits), in
	// the order it read them.
	Facts       [][]byte `json:"facts,omitempty"`
	Fingerprint uint64   `json:"fingerprint"`
	Binary      string   `json:"binary"`
}

// stageRef is a stage's payload: where its code is in a build and what it does with
// its last node.
type stageRef struct {
	Build *buildRef `json:"build"`
	Node  int       `json:"node"`
	// Shuffle is the shuffle a map stage writes, with the state its partitioner got on
	// the driver (a SortBy's range bounds).
	Shuffle      int         `json:"shuffle,omitempty"`
	ShuffleState []byte      `json:"shuffleState,omitempty"`
	Action       *actionSpec `json:"action,omitempty"`
}

// actionSpec is an action's task side as data, so that an executor can compute it.
type actionSpec struct {
	Kind actionKind `json:"kind"`
	// Limit bounds the elements per partition (collect) or the sample size (sample);
	// negative means no limit.
	Limit int `json:"limit,omitempty"`
	// Shuffle is the SortBy whose keys a sample job samples.
	Shuffle int `json:"shuffle,omitempty"`
	// Save: the output directory, the committer's job tag and the file format.
	Path      string `json:"path,omitempty"`
	JobTag    string `json:"jobTag,omitempty"`
	Format    string `json:"format,omitempty"`
	Overwrite bool   `json:"overwrite,omitempty"`
}

type actionKind string

const (
	actionCollect    actionKind = "collect"
	actionCount      actionKind = "count"
	actionSave       actionKind = "save"
	actionSample     actionKind = "sample"
	actionCountByKey actionKind = "countByKey"
)

// ErrPlanMismatch is returned by an executor whose rebuilt plan differs from the
// driver's: a builder that depends on something besides its argument (time, random
// numbers, the environment), or a different binary.
var ErrPlanMismatch = errors.New("plan mismatch")

// beginBuild starts recording a build of job with the encoded argument. The caller
// runs the builder and then calls endBuild; builds do not nest and one runs at a time.
func (s *Session) beginBuild(job string, arg []byte) *build {
	s.buildMu.Lock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextBuild++
	b := &build{
		ref: buildRef{ID: s.nextBuild, Job: job, Arg: arg, NodeBase: s.nextNode,
			ShuffleBase: s.nextShuffle, Slots: s.slots()},
		nodes: map[int]*node{}, shuffles: map[int]*shuffleDep{},
	}
	s.building = b
	return b
}

// endBuild ends the build begun by beginBuild and fingerprints its plan.
func (s *Session) endBuild(b *build) {
	s.mu.Lock()
	s.building = nil
	s.mu.Unlock()
	b.ref.Fingerprint = b.fingerprint()
	b.ref.Binary = binaryID()
	s.buildMu.Unlock()
}

// fingerprint hashes the shape of the plan: every node's operator and call site,
// partition count and inputs.
func (b *build) fingerprint() uint64 {
	h := fnv.New64a()
	ids := make([]int, 0, len(b.nodes))
	for id := range b.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var buf []byte
	for _, id := range ids {
		n := b.nodes[id]
		buf = binary.AppendUvarint(buf[:0], uint64(id))
		buf = binary.AppendUvarint(buf, uint64(n.nparts))
		buf = append(buf, n.op...)
		for _, p := range n.parents {
			buf = binary.AppendUvarint(buf, uint64(p.id))
		}
		for _, sd := range n.shuffle {
			buf = binary.AppendUvarint(buf, uint64(sd.id))
			buf = binary.AppendUvarint(buf, uint64(sd.nparts))
		}
		h.Write(buf)
	}
	return h.Sum64()
}

// fact records a value the builder read from outside on the driver, or on an
// executor returns the driver's value in its place.
func (s *Session) fact(compute func() ([]byte, error)) ([]byte, error) {
	s.mu.Lock()
	b := s.building
	s.mu.Unlock()
	if b == nil {
		return compute()
	}
	if b.replay != nil {
		i := len(b.ref.Facts)
		if i >= len(b.replay) {
			return nil, fmt.Errorf("%w: job %q read more inputs than on the driver", ErrPlanMismatch, b.ref.Job)
		}
		v := b.replay[i]
		b.ref.Facts = append(b.ref.Facts, v)
		return v, nil
	}
	v, err := compute()
	if err == nil {
		b.ref.Facts = append(b.ref.Facts, v)
	}
	return v, err
}

var (
	binaryOnce sync.Once
	binaryHash string
)

// binaryID is a hash of this process's executable: driver and executors must run
// the same code for rebuilt plans to be the same.
func binaryID() string {
	binaryOnce.Do(func() {
		p, err := os.Executable()
		if err != nil {
			binaryHash = "unknown"
			return
		}
		f, err := os.Open(p)
		if err != nil {
			binaryHash = "unknown"
			return
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			binaryHash = "unknown"
			return
		}
		binaryHash = hex.EncodeToString(h.Sum(nil)[:12])
	})
	return binaryHash
}

// stagePayload describes stage p for a remote executor. Every node of the stage must
// come from the same build of a registered job.
func stagePayload(p *stagePlan) ([]byte, error) {
	b := p.root.build
	if b == nil {
		return nil, fmt.Errorf("%s was built outside a registered job: executors rebuild plans by running the builders registered with spindle.Register, so build every dataset an action runs on inside one", p.root.op)
	}
	var check func(n *node) error
	seen := map[int]bool{}
	check = func(n *node) error {
		if seen[n.id] {
			return nil
		}
		seen[n.id] = true
		if n.build != b {
			return fmt.Errorf("%s is not part of job %q's plan: combine datasets inside one registered job's builder", n.op, b.ref.Job)
		}
		for _, sd := range n.shuffle {
			if b.shuffles[sd.id] != sd {
				return fmt.Errorf("%s reads a shuffle built outside job %q", n.op, b.ref.Job)
			}
		}
		for _, q := range n.parents {
			if err := check(q); err != nil {
				return err
			}
		}
		return nil
	}
	if err := check(p.root); err != nil {
		return nil, err
	}
	ref := stageRef{Build: &b.ref, Node: p.root.id, Action: p.action}
	if p.out != nil {
		ref.Shuffle, ref.ShuffleState = p.out.id, p.out.state
	}
	return json.Marshal(ref)
}
