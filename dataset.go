package spindle

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/spindle-engine/spindle/codec"
)

// Dataset is a lazy, partitioned collection of T. Transforms return new datasets; no
// work happens until an action such as [Collect] or [SaveAsText] runs.
type Dataset[T any] struct {
	s     *Session
	n     *node
	codec codec.Codec[T]
}

// KV is a key-value pair, the element type of keyed datasets. Its text form (used by
// [SaveAsText]) is the key and the value separated by a tab, as Hadoop's
// TextOutputFormat writes them.
type KV[K, V any] struct {
	Key   K
	Value V
}

// String formats the pair as "key<TAB>value".
func (kv KV[K, V]) String() string { return fmt.Sprintf("%v\t%v", kv.Key, kv.Value) }

// Pair holds one value from each side of a [Join].
type Pair[A, B any] struct {
	First  A
	Second B
}

// String formats the pair as "(first,second)".
func (p Pair[A, B]) String() string { return fmt.Sprintf("(%v,%v)", p.First, p.Second) }

// Option is a value that may be absent, as the right side of a [LeftJoin] is.
type Option[T any] struct {
	Value T
	Valid bool
}

// String formats the option as its value, or "null" when it is absent.
func (o Option[T]) String() string {
	if !o.Valid {
		return "null"
	}
	return fmt.Sprint(o.Value)
}

// seq is a partition's elements, pushed to yield until it returns false. The returned
// error is the source's (I/O, decoding), never a user function's: those panic and the
// task runner turns the panic into a task failure.
type seq[T any] func(yield func(T) bool) error

// node is one operator of the plan, with its type erased so that the planner can walk
// the graph. compute returns a seq[T] of the node's element type, boxed once per
// partition rather than once per element.
type node struct {
	id      int
	op      string // operator and call site, e.g. "ReduceByKey at main.go:23"
	nparts  int
	parents []*node       // narrow dependencies: computed in the same task
	shuffle []*shuffleDep // wide dependencies: read from a shuffle
	compute func(tc *taskContext, part int) (any, error)
	// hosts gives the preferred hosts of a partition, when the data has a location.
	hosts func(part int) []string
	// cache is set by Cache: computed partitions are kept in the executor's block store.
	cache bool
	// err is a planning error found while building the node (a missing input path); an
	// action on a plan containing it fails before any task runs.
	err error
	// build is the registered job's build that created the node; nil for nodes built
	// outside one, which only the driver's own process can compute.
	build *build
	// ds is the typed dataset over the node, which turns an action's spec into its
	// task side on an executor.
	ds resultMaker
}

// newNode registers a node with the session, naming it after the user's call site.
func (s *Session) newNode(op string, nparts int, parents []*node, compute func(tc *taskContext, part int) (any, error)) *node {
	s.mu.Lock()
	s.nextNode++
	n := &node{id: s.nextNode, op: op + callSite(), nparts: nparts, parents: parents, compute: compute, build: s.building}
	if n.build != nil {
		n.build.nodes[n.id] = n
	}
	s.mu.Unlock()
	return n
}

// newDataset wraps a node whose compute returns seq[T].
func newDataset[T any](s *Session, n *node) Dataset[T] {
	d := Dataset[T]{s: s, n: n, codec: mustCodec[T]()}
	n.ds = d
	return d
}

// mustCodec resolves T's codec. An unencodable element type is a programming error in
// the job, found when the plan is built on the driver, so it panics with the type named.
func mustCodec[T any]() codec.Codec[T] {
	c, err := codec.For[T]()
	if err != nil {
		panic(fmt.Sprintf("spindle: element type is not encodable: %v", err))
	}
	return c
}

// iter computes partition part of d as a typed sequence, honouring the cache.
func (d Dataset[T]) iter(tc *taskContext, part int) (seq[T], error) {
	if d.n.cache {
		return cachedIter(tc, d, part)
	}
	v, err := d.n.compute(tc, part)
	if err != nil {
		return nil, err
	}
	return v.(seq[T]), nil
}

// NumPartitions reports how many partitions d has.
func (d Dataset[T]) NumPartitions() int { return d.n.nparts }

// Session returns the session that d belongs to.
func (d Dataset[T]) Session() *Session { return d.s }

// callSite names the first caller outside this package, so that stage names point at
// the user's code as Spark's do.
func callSite() string {
	pcs := make([]uintptr, 16)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "github.com/spindle-engine/spindle.") || strings.HasSuffix(f.File, "_test.go") {
			file := f.File
			if i := strings.LastIndexByte(file, '/'); i >= 0 {
				file = file[i+1:]
			}
			return fmt.Sprintf(" at %s:%d", file, f.Line)
		}
		if !more {
			return ""
		}
	}
}
