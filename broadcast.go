package spindle

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/spindle-engine/spindle/codec"
	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/internal/engine"
)

// side names a join's side.
type side int

const (
	sideNone side = iota
	sideLeft
	sideRight
)

// broadcastSide picks the side of a join to broadcast: the smaller of the sides whose
// estimated size is known and at most the threshold, the right one on a tie; for an
// outer join only the right one (the left's unmatched rows must come out once). A
// threshold that does not parse is an error naming the key.
func broadcastSide(s *Session, left, right *engine.Node, outer bool) (side, error) {
	const key = "spindle.sql.autoBroadcastJoinThreshold"
	limit, err := broadcastThreshold(s.Conf().String(key))
	if err != nil {
		return sideNone, fmt.Errorf("%s: %w", key, err)
	}
	fits := func(n *engine.Node) bool { return limit > 0 && n.Bytes > 0 && n.Bytes <= limit }
	switch {
	case fits(right) && (outer || !fits(left) || right.Bytes <= left.Bytes):
		return sideRight, nil
	case !outer && fits(left):
		return sideLeft, nil
	}
	return sideNone, nil
}

// broadcastThreshold parses the threshold: a size, or -1 to disable.
func broadcastThreshold(v string) (int64, error) {
	if v = strings.TrimSpace(v); v == "-1" || v == "" {
		return 0, nil
	}
	return conf.ParseSize(v)
}

// hashJoin joins stream with build broadcast: build is written once, to a shuffle of
// one partition, by its own map stage; every task of the join reads all of it (from
// the shuffle files or the shuffle service, like any map output, so a lost output is
// a fetch failure that recomputes it), builds a hash table of its values by key and
// streams its own partition of stream through it. The join has stream's partitions
// and preferred hosts, and stream is not shuffled.
func hashJoin[K comparable, S, B, O any](stream Dataset[KV[K, S]], build Dataset[KV[K, B]], op string,
	both func(S, B) O, only func(S) (O, bool)) Dataset[KV[K, O]] {
	s := stream.s
	if build.s != s {
		panic("spindle: " + op + " of datasets from different sessions")
	}
	bsd := s.g.NewShuffle(build.n, 1, false, func(tc *engine.TaskContext, part int, w engine.RecordWriter) error {
		in, err := build.iter(tc, part)
		if err != nil {
			return err
		}
		enc := newKVEncoder[K, B]()
		var werr error
		if err := in(func(kv KV[K, B]) bool {
			werr = enc.write(w, 1, kv.Key, kv.Value)
			return werr == nil
		}); err != nil {
			return err
		}
		return werr
	})
	kc, bc := mustKeyCodec[K](), mustCodec[B]()
	n := s.newNode(op+" (broadcast)", stream.n.NumParts, []*engine.Node{stream.n}, func(tc *engine.TaskContext, part int) (any, error) {
		return seq[KV[K, O]](func(yield func(KV[K, O]) bool) error {
			table, err := readBroadcast(tc, bsd, kc, bc)
			if err != nil {
				return err
			}
			defer tc.Mem.Release(table.granted)
			in, err := stream.iter(tc, part)
			if err != nil {
				return err
			}
			return in(func(kv KV[K, S]) bool {
				i, ok := table.heads[kv.Key]
				if !ok {
					if o, keep := only(kv.Value); keep {
						return yield(KV[K, O]{Key: kv.Key, Value: o})
					}
					return true
				}
				for ; i >= 0; i = table.next[i] {
					if !yield(KV[K, O]{Key: kv.Key, Value: both(kv.Value, table.vals[i])}) {
						return false
					}
				}
				return true
			})
		}), nil
	})
	n.Shuffles = []*engine.ShuffleDep{bsd}
	n.Hosts = stream.n.Hosts
	return newDataset[KV[K, O]](s, n)
}

// buildTable is a broadcast side by key: heads gives a key's first value, next the
// one after each (-1 ends), so that a key with many values costs no slice of its own.
type buildTable[K comparable, B any] struct {
	heads map[K]int32
	vals  []B
	next  []int32
	// granted is the execution memory the table was given, which the join task
	// releases when it is done with the table.
	granted int64
}

// broadcastChunk is how much execution memory a broadcast table asks for at a time.
const broadcastChunk = 1 << 20

// readBroadcast reads the whole broadcast shuffle into a table, accounting its
// memory with the task's execution memory: an estimate per entry of the map's slot,
// the value, the chain link and the bytes the key and value refer to (their
// encodings' lengths). The table cannot spill, so a refusal does not stop it; but
// what it holds is then not granted to the task's other consumers (a combiner or
// shuffle writer after the join), which spill sooner instead of piling their
// memory on top of it.
func readBroadcast[K comparable, B any](tc *engine.TaskContext, sd *engine.ShuffleDep, kc codec.Codec[K], bc codec.Codec[B]) (_ *buildTable[K, B], err error) {
	r, err := tc.ReadShuffle(sd, 0)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	t := &buildTable[K, B]{heads: map[K]int32{}}
	defer func() {
		if err != nil {
			tc.Mem.Release(t.granted)
		}
	}()
	var zk K
	var zb B
	// A map slot holds the key and the int32 (padded to 8) at a load of at most 7/8;
	// a value is B plus its link.
	slotBytes := (int64(unsafe.Sizeof(zk)) + 8) * 8 / 7
	valBytes := int64(unsafe.Sizeof(zb)) + 4
	var need int64
	refused := false
	for r.Next() {
		need += valBytes + int64(len(r.Key())+len(r.Value()))
		k, err := decodeWhole(kc, r.Key())
		if err != nil {
			return nil, fmt.Errorf("decode broadcast key: %w", err)
		}
		v, err := decodeWhole(bc, r.Value())
		if err != nil {
			return nil, fmt.Errorf("decode broadcast value: %w", err)
		}
		i := int32(len(t.vals))
		t.vals = append(t.vals, v)
		if h, ok := t.heads[k]; ok {
			t.next = append(t.next, h)
		} else {
			t.next = append(t.next, -1)
			need += slotBytes
		}
		t.heads[k] = i
		for !refused && need > t.granted {
			g := tc.Mem.Acquire(max(broadcastChunk, need-t.granted))
			t.granted += g
			refused = g == 0
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return t, nil
}
