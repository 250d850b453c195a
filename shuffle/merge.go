package shuffle

import (
	"bytes"
	"container/heap"
	"errors"
)

// Merge merges readers whose records are sorted by key into one sorted stream;
// equal keys come in reader order.
func Merge(rs []RecordReader) RecordReader {
	m := &merger{all: rs}
	return m
}

type merger struct {
	all     []RecordReader
	h       mergeHeap
	started bool
	cur     RecordReader
	err     error
}

type mergeHeap struct {
	rs  []RecordReader
	idx []int
}

func (h *mergeHeap) Len() int { return len(h.rs) }
func (h *mergeHeap) Less(i, j int) bool {
	if c := bytes.Compare(h.rs[i].Key(), h.rs[j].Key()); c != 0 {
		return c < 0
	}
	return h.idx[i] < h.idx[j]
}
func (h *mergeHeap) Swap(i, j int) {
	h.rs[i], h.rs[j] = h.rs[j], h.rs[i]
	h.idx[i], h.idx[j] = h.idx[j], h.idx[i]
}

// heapItem is what Push and Pop exchange: a reader and its input index, which breaks ties.
type heapItem struct {
	r RecordReader
	i int
}

func (h *mergeHeap) Push(x any) {
	it := x.(heapItem)
	h.rs, h.idx = append(h.rs, it.r), append(h.idx, it.i)
}
func (h *mergeHeap) Pop() any {
	n := len(h.rs) - 1
	it := heapItem{h.rs[n], h.idx[n]}
	h.rs, h.idx = h.rs[:n], h.idx[:n]
	return it
}

func (m *merger) Next() bool {
	if m.err != nil {
		return false
	}
	if !m.started {
		m.started = true
		for i, r := range m.all {
			if r.Next() {
				m.h.rs = append(m.h.rs, r)
				m.h.idx = append(m.h.idx, i)
			} else if err := r.Err(); err != nil {
				m.err = err
				return false
			}
		}
		heap.Init(&m.h)
	} else if m.cur != nil {
		// Advance the reader whose record was returned last, then restore the heap.
		if m.cur.Next() {
			heap.Fix(&m.h, 0)
		} else {
			if err := m.cur.Err(); err != nil {
				m.err = err
				return false
			}
			heap.Pop(&m.h)
		}
	}
	if len(m.h.rs) == 0 {
		m.cur = nil
		return false
	}
	m.cur = m.h.rs[0]
	return true
}

func (m *merger) Key() []byte   { return m.cur.Key() }
func (m *merger) Value() []byte { return m.cur.Value() }
func (m *merger) Err() error    { return m.err }
func (m *merger) Close() error  { return closeAll(m.all) }

func closeAll(rs []RecordReader) error {
	var errs []error
	for _, r := range rs {
		errs = append(errs, r.Close())
	}
	return errors.Join(errs...)
}

// Concat reads the readers one after another.
func Concat(rs []RecordReader) RecordReader { return &concat{all: rs} }

type concat struct {
	all []RecordReader
	i   int
	err error
}

func (c *concat) Next() bool {
	for c.err == nil && c.i < len(c.all) {
		if c.all[c.i].Next() {
			return true
		}
		c.err = c.all[c.i].Err()
		c.i++
	}
	return false
}

func (c *concat) Key() []byte   { return c.all[c.i].Key() }
func (c *concat) Value() []byte { return c.all[c.i].Value() }
func (c *concat) Err() error    { return c.err }
func (c *concat) Close() error  { return closeAll(c.all) }
