package shuffle

import (
	"bytes"
	"errors"
)

// Merge merges readers whose records are sorted by key into one sorted stream;
// equal keys come in reader order.
func Merge(rs []RecordReader) RecordReader {
	return &merger{all: rs}
}

// merger is a binary heap of its readers' current records. The heap holds
// indices into srcs, which cache each reader's key and its 8-byte prefix: most
// comparisons are of two integers, without a call through the interface, and
// moving an index writes no pointer the garbage collector must note.
type merger struct {
	all     []RecordReader
	srcs    []mergeSrc
	h       []int32
	started bool
	err     error
}

type mergeSrc struct {
	key    []byte
	prefix uint64
}

// less orders the current records of sources a and b: by key, then by reader.
func (m *merger) less(a, b int32) bool {
	sa, sb := &m.srcs[a], &m.srcs[b]
	if sa.prefix != sb.prefix {
		return sa.prefix < sb.prefix
	}
	if c := bytes.Compare(sa.key, sb.key); c != 0 {
		return c < 0
	}
	return a < b
}

// down restores the heap below position i.
func (m *merger) down(i int) {
	h := m.h
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && m.less(h[r], h[l]) {
			c = r
		}
		if !m.less(h[c], h[i]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// load caches source i's current key.
func (m *merger) load(i int32) {
	k := m.all[i].Key()
	m.srcs[i] = mergeSrc{key: k, prefix: keyPrefix(k)}
}

func (m *merger) Next() bool {
	if m.err != nil {
		return false
	}
	if !m.started {
		m.started = true
		m.srcs = make([]mergeSrc, len(m.all))
		for i, r := range m.all {
			if r.Next() {
				m.load(int32(i))
				m.h = append(m.h, int32(i))
			} else if err := r.Err(); err != nil {
				m.err = err
				return false
			}
		}
		for i := len(m.h)/2 - 1; i >= 0; i-- {
			m.down(i)
		}
	} else if len(m.h) > 0 {
		// Advance the reader whose record was returned last, then restore the heap.
		top := m.h[0]
		if r := m.all[top]; r.Next() {
			m.load(top)
		} else {
			if err := r.Err(); err != nil {
				m.err = err
				return false
			}
			m.srcs[top] = mergeSrc{}
			last := len(m.h) - 1
			m.h[0] = m.h[last]
			m.h = m.h[:last]
		}
		m.down(0)
	}
	return len(m.h) > 0
}

func (m *merger) Key() []byte   { return m.srcs[m.h[0]].key }
func (m *merger) Value() []byte { return m.all[m.h[0]].Value() }
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
