package engine

import (
	"context"
	"sync"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/hdfs"
)

// ComputeFunc computes one partition of a node. It returns the node's typed
// sequence boxed once per partition (not once per element); only the operator that
// made the node knows its type.
type ComputeFunc func(tc *TaskContext, part int) (any, error)

// Node is one operator of a plan.
type Node struct {
	ID int
	// Op names the operator and the user's call site, e.g. "ReduceByKey at main.go:23".
	Op       string
	NumParts int
	Parents  []*Node       // narrow dependencies: computed in the same task
	Shuffles []*ShuffleDep // wide dependencies: read from a shuffle
	Compute  ComputeFunc
	// Hosts gives the preferred hosts of a partition, when the data has a location.
	Hosts func(part int) []string
	// Cache keeps computed partitions in the executor's block store (see Cached).
	Cache bool
	// Bytes estimates the size of the node's output from the input files it reads
	// through narrow operators (as Spark estimates a scan's), 0 when unknown; a join
	// broadcasts a side estimated below its threshold.
	Bytes int64
	// Err is a planning error found while building the node (a missing input path);
	// an action on a plan containing it fails before any task runs.
	Err error
	// Result turns an action's spec into its task side over this node: an executor
	// holding only the node can compute a typed action with it.
	Result func(a *Action) (ResultFunc, error)

	// build is the registered job's build that created the node; nil for nodes built
	// outside one, which only the driver's own process can compute.
	build *Build
}

// RecordWriter receives a map task's encoded records; *shuffle.Writer is one.
type RecordWriter interface {
	Write(partition int, key, value []byte) error
}

// ShuffleDep is a wide dependency: the map side (Parent's partitions) writes records
// to NumParts reduce partitions, which the reduce side reads back, merged by key when
// Sorted.
type ShuffleDep struct {
	ID       int
	Parent   *Node
	NumParts int
	// Sorted asks the writer to sort each partition by key bytes, so that reducers can
	// group equal keys by merging instead of hashing.
	Sorted bool
	// Write computes map partition part of Parent and writes its records.
	Write func(tc *TaskContext, part int, w RecordWriter) error
	// Prepare, when set, runs on the driver once before the map stage first runs and
	// returns state for the map tasks (a range partitioner samples its input and
	// returns its bounds); map tasks read it with TaskContext.ShuffleState, so that it
	// reaches remote executors as data.
	Prepare func(ctx context.Context) ([]byte, error)
	// Sample, set by a sort, computes one partition's key sample for Prepare's job.
	Sample func(tc *TaskContext, part, limit int) ([]byte, error)

	prepareOnce sync.Once
	prepareErr  error
	state       []byte
}

// prepared runs the dependency's preparation once per process and returns its state.
func (sd *ShuffleDep) prepared(ctx context.Context) ([]byte, error) {
	if sd.Prepare == nil {
		return nil, nil
	}
	sd.prepareOnce.Do(func() { sd.state, sd.prepareErr = sd.Prepare(ctx) })
	return sd.state, sd.prepareErr
}

// Filesystems resolves a path to the filesystem that holds it and the path within
// it; *hdfs.FileSystems is one.
type Filesystems interface {
	Resolve(ctx context.Context, path string) (hdfs.FS, string, error)
}

// Graph is the plan being built in one process, by the driver or by an executor
// rebuilding a registered job: it numbers nodes and shuffles, records the build
// running now, and holds what operators need from their process.
type Graph struct {
	conf *conf.Conf
	fs   Filesystems
	log  zerolog.Logger
	// ctx bounds what operators do outside a build (listing inputs); a build brings
	// its own.
	ctx context.Context

	// buildMu makes builds one at a time, so that a build's nodes get consecutive ids.
	buildMu sync.Mutex

	mu          sync.Mutex
	nextNode    int
	nextShuffle int
	nextBuild   int
	slots       int
	building    *Build
}

func newGraph(ctx context.Context, c *conf.Conf, fs Filesystems, slots int, log zerolog.Logger) *Graph {
	return &Graph{ctx: ctx, conf: c, fs: fs, slots: slots, log: log}
}

// Conf is the application's configuration.
func (g *Graph) Conf() *conf.Conf { return g.conf }

// FS resolves input and output paths.
func (g *Graph) FS() Filesystems { return g.fs }

// Log is the process's logger.
func (g *Graph) Log() zerolog.Logger { return g.log }

// Slots is the task slots the plan is sized for: input splits and default partition
// counts follow it. An executor rebuilding a plan uses the driver's.
func (g *Graph) Slots() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.slots
}

// DefaultParallelism is spindle.default.parallelism, or 0 when unset.
func (g *Graph) DefaultParallelism() int {
	if g.conf.Get("spindle.default.parallelism") == "" {
		return 0
	}
	return g.conf.Int("spindle.default.parallelism")
}

// Context is the context of the build running now, else the graph's own.
func (g *Graph) Context() context.Context {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.building != nil && g.building.ctx != nil {
		return g.building.ctx
	}
	return g.ctx
}

// NewNode adds a node; op names the operator and its call site.
func (g *Graph) NewNode(op string, nparts int, parents []*Node, compute ComputeFunc) *Node {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextNode++
	n := &Node{ID: g.nextNode, Op: op, NumParts: nparts, Parents: parents, Compute: compute, build: g.building}
	if n.build != nil {
		n.build.nodes[n.ID] = n
	}
	return n
}

// NewShuffle adds a shuffle dependency on parent with nparts reduce partitions.
func (g *Graph) NewShuffle(parent *Node, nparts int, sorted bool, write func(tc *TaskContext, part int, w RecordWriter) error) *ShuffleDep {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextShuffle++
	sd := &ShuffleDep{ID: g.nextShuffle, Parent: parent, NumParts: nparts, Sorted: sorted, Write: write}
	if g.building != nil {
		g.building.shuffles[sd.ID] = sd
	}
	return sd
}

// ShuffleOf finds a shuffle of the build that made n, for an action that names one
// (a sort's sample job).
func (n *Node) ShuffleOf(id int) *ShuffleDep {
	if n.build == nil {
		return nil
	}
	return n.build.shuffles[id]
}
