package engine

import (
	"context"
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

// ErrPlanMismatch is returned by an executor whose rebuilt plan differs from the
// driver's: a builder that depends on something besides its argument (time, random
// numbers, the environment), or a different binary. Running the task again cannot
// help.
var ErrPlanMismatch = errors.New("plan mismatch")

// Build is one run of a registered job's builder.
type Build struct {
	ref      buildRef
	ctx      context.Context
	nodes    map[int]*Node
	shuffles map[int]*ShuffleDep
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
	// the driver (a sort's range bounds).
	Shuffle      int     `json:"shuffle,omitempty"`
	ShuffleState []byte  `json:"shuffleState,omitempty"`
	Action       *Action `json:"action,omitempty"`
}

// BeginBuild starts recording a build of job with the encoded argument; ctx bounds
// what the builder reads from outside (listing its inputs). The caller runs the
// builder and then calls EndBuild; builds do not nest and one runs at a time.
func (g *Graph) BeginBuild(ctx context.Context, job string, arg []byte) *Build {
	g.buildMu.Lock()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextBuild++
	b := &Build{
		ref: buildRef{ID: g.nextBuild, Job: job, Arg: arg, NodeBase: g.nextNode,
			ShuffleBase: g.nextShuffle, Slots: g.slots},
		ctx: ctx, nodes: map[int]*Node{}, shuffles: map[int]*ShuffleDep{},
	}
	g.building = b
	return b
}

// EndBuild ends the build begun by BeginBuild and fingerprints its plan.
func (g *Graph) EndBuild(b *Build) {
	g.mu.Lock()
	g.building = nil
	g.mu.Unlock()
	b.ref.Fingerprint = b.fingerprint()
	b.ref.Binary = binaryID()
	g.buildMu.Unlock()
}

// fingerprint hashes the shape of the plan: every node's operator and call site,
// partition count and inputs.
func (b *Build) fingerprint() uint64 {
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
		buf = binary.AppendUvarint(buf, uint64(n.NumParts))
		buf = append(buf, n.Op...)
		for _, p := range n.Parents {
			buf = binary.AppendUvarint(buf, uint64(p.ID))
		}
		for _, sd := range n.Shuffles {
			buf = binary.AppendUvarint(buf, uint64(sd.ID))
			buf = binary.AppendUvarint(buf, uint64(sd.NumParts))
		}
		h.Write(buf)
	}
	return h.Sum64()
}

// Fact records a value the builder read from outside on the driver, or on an
// executor returns the driver's value in its place. Outside a build it just computes.
func (g *Graph) Fact(compute func() ([]byte, error)) ([]byte, error) {
	g.mu.Lock()
	b := g.building
	g.mu.Unlock()
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
		binaryHash = "unknown"
		p, err := os.Executable()
		if err != nil {
			return
		}
		f, err := os.Open(p)
		if err != nil {
			return
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
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
		return nil, fmt.Errorf("%s was built outside a registered job: executors rebuild plans by running the builders registered with spindle.Register, so build every dataset an action runs on inside one", p.root.Op)
	}
	var check func(n *Node) error
	seen := map[int]bool{}
	check = func(n *Node) error {
		if seen[n.ID] {
			return nil
		}
		seen[n.ID] = true
		if n.build != b {
			return fmt.Errorf("%s is not part of job %q's plan: combine datasets inside one registered job's builder", n.Op, b.ref.Job)
		}
		for _, sd := range n.Shuffles {
			if b.shuffles[sd.ID] != sd {
				return fmt.Errorf("%s reads a shuffle built outside job %q", n.Op, b.ref.Job)
			}
		}
		for _, q := range n.Parents {
			if err := check(q); err != nil {
				return err
			}
		}
		return nil
	}
	if err := check(p.root); err != nil {
		return nil, err
	}
	ref := stageRef{Build: &b.ref, Node: p.root.ID, Action: p.action}
	if p.out != nil {
		ref.Shuffle, ref.ShuffleState = p.out.ID, p.outState
	}
	return json.Marshal(ref)
}
