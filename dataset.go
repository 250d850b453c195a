package spindle

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/spindle-engine/spindle/codec"
	"github.com/spindle-engine/spindle/internal/engine"
)

// Dataset is a lazy, partitioned collection of T. Transforms return new datasets; no
// work happens until an action such as [Collect] or [SaveAsText] runs.
type Dataset[T any] struct {
	s     *Session
	n     *engine.Node
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
// task runner turns the panic into a task failure. Nodes' compute functions return
// it boxed, once per partition.
type seq[T any] func(yield func(T) bool) error

// newNode adds a plan node named after the operator and the user's call site.
func (s *Session) newNode(op string, nparts int, parents []*engine.Node, compute engine.ComputeFunc) *engine.Node {
	return s.g.NewNode(op+callSite(), nparts, parents, compute)
}

// newDataset wraps a node whose compute returns seq[T].
func newDataset[T any](s *Session, n *engine.Node) Dataset[T] {
	d := Dataset[T]{s: s, n: n, codec: mustCodec[T]()}
	n.Result = d.resultFor
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
func (d Dataset[T]) iter(tc *engine.TaskContext, part int) (seq[T], error) {
	if d.n.Cache {
		return cachedIter(tc, d, part)
	}
	v, err := d.n.Compute(tc, part)
	if err != nil {
		return nil, err
	}
	return v.(seq[T]), nil
}

// NumPartitions reports how many partitions d has.
func (d Dataset[T]) NumPartitions() int { return d.n.NumParts }

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
