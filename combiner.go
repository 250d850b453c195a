package spindle

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"unsafe"

	"github.com/spindle-engine/spindle/codec"
	"github.com/spindle-engine/spindle/internal/engine"
)

// combinerChunk is how much execution memory a map-side combiner asks for at a time.
const combinerChunk = 1 << 20

// combSlot is one slot of a combiner's table: a key's hash (which also picks its
// reduce partition), its first 8 bytes and length, where the rest of it is, and its
// combined value. A probe that finds its key reads one slot, and a key of at most 8
// bytes lives in the slot alone, so its probes touch no other memory.
type combSlot[C any] struct {
	hash   uint64
	prefix uint64
	loc    uint32 // chunk<<keyChunkShift | offset of the bytes past the prefix
	klen   uint32 // the key's length + 1; 0 marks an empty slot
	val    C
}

// keyChunkShift splits a slot's loc: chunks are 1<<keyChunkShift bytes (a longer
// key gets a chunk of its own at offset 0), and there are at most maxKeyChunks.
const (
	keyChunkShift = 18
	maxKeyChunks  = 1 << (32 - keyChunkShift)
)

// combiner folds values per key on the map side of a keyed aggregation. It is an
// open-addressing table (linear probing) over the keys' shuffle encodings: one probe
// per record, keys copied into its own arena on insert (so no record's memory stays
// alive through a key), and no allocation per record. Its memory comes from the
// task's execution memory; when more is refused, the caller flushes it into the
// shuffle writer.
type combiner[K, V, C any] struct {
	kc     codec.Codec[K]
	vc     codec.Codec[C]
	create func(V) C
	merge  func(C, V) C
	// rawString says K's shuffle encoding is its string's bytes, which the table
	// reads in place instead of encoding.
	rawString bool
	// valueIsPtr says C refers to other memory, whose size the combiner estimates
	// from the value's encoding.
	valueIsPtr bool

	slots   []combSlot[C]
	count   int
	chunks  [][]byte
	fill    int
	scratch []byte

	used   int64 // memory the table holds, as accounted
	extra  int64 // of it, key bytes in the arena and values' encodings
	failed bool  // the arena took its last addressable chunk; the caller must flush
}

func newCombiner[K, V, C any](create func(V) C, merge func(C, V) C) *combiner[K, V, C] {
	c := &combiner[K, V, C]{kc: mustKeyCodec[K](), vc: mustCodec[C](), create: create, merge: merge}
	if reflect.TypeFor[K]().Kind() == reflect.String {
		var k K
		*(*string)(unsafe.Pointer(&k)) = "\x00k"
		c.rawString = string(c.kc.Append(nil, k)) == "\x00k"
	}
	c.valueIsPtr = hasPointers(reflect.TypeFor[C]())
	return c
}

// hasPointers reports whether values of t refer to other memory.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}

// keyBytes is k's shuffle encoding, valid until the next call.
func (c *combiner[K, V, C]) keyBytes(k K) []byte {
	if c.rawString {
		s := *(*string)(unsafe.Pointer(&k))
		return unsafe.Slice(unsafe.StringData(s), len(s))
	}
	c.scratch = c.kc.Append(c.scratch[:0], k)
	return c.scratch
}

// add folds one record into the table and reports whether the table grew.
func (c *combiner[K, V, C]) add(k K, v V) bool {
	kb := c.keyBytes(k)
	h := codec.Hash(kb)
	p := prefixOf(kb)
	if len(c.slots) == 0 {
		c.resize(1024)
	}
	mask := uint64(len(c.slots) - 1)
	klen := uint32(len(kb)) + 1
	for i := h & mask; ; i = (i + 1) & mask {
		s := &c.slots[i]
		if s.klen == 0 {
			c.insert(s, h, p, kb, v)
			return true
		}
		if s.hash == h && s.prefix == p && s.klen == klen && (len(kb) <= 8 || bytes.Equal(c.rest(s), kb[8:])) {
			s.val = c.merge(s.val, v)
			return false
		}
	}
}

// insert puts a new key into the empty slot s.
func (c *combiner[K, V, C]) insert(s *combSlot[C], h, p uint64, kb []byte, v V) {
	*s = combSlot[C]{hash: h, prefix: p, klen: uint32(len(kb)) + 1, val: c.create(v)}
	if len(kb) > 8 {
		s.loc = c.store(kb[8:])
		c.extra += int64(len(kb) - 8)
	}
	if c.valueIsPtr {
		c.scratch = c.vc.Append(c.scratch[:0], s.val)
		c.extra += int64(len(c.scratch))
	}
	c.count++
	if 4*c.count > 3*len(c.slots) {
		c.resize(2 * len(c.slots))
	}
	c.used = int64(len(c.slots))*int64(unsafe.Sizeof(*s)) + c.extra
}

// resize rebuilds the table with n slots.
func (c *combiner[K, V, C]) resize(n int) {
	old := c.slots
	c.slots = make([]combSlot[C], n)
	mask := uint64(n - 1)
	for j := range old {
		if old[j].klen == 0 {
			continue
		}
		i := old[j].hash & mask
		for c.slots[i].klen != 0 {
			i = (i + 1) & mask
		}
		c.slots[i] = old[j]
	}
}

// store copies a key's bytes past its prefix into the arena.
func (c *combiner[K, V, C]) store(b []byte) uint32 {
	if len(c.chunks) == 0 || c.fill+len(b) > len(c.chunks[len(c.chunks)-1]) {
		if len(c.chunks) == maxKeyChunks-1 {
			// The last chunk a loc can address: this key still fits, and the caller
			// flushes before the next insert.
			c.failed = true
		}
		c.chunks = append(c.chunks, make([]byte, max(1<<keyChunkShift, len(b))))
		c.fill = 0
	}
	n := len(c.chunks) - 1
	off := c.fill
	c.fill += copy(c.chunks[n][off:], b)
	return uint32(n<<keyChunkShift | off)
}

// rest is a key's bytes past its prefix.
func (c *combiner[K, V, C]) rest(s *combSlot[C]) []byte {
	n, off := s.loc>>keyChunkShift, s.loc&(1<<keyChunkShift-1)
	return c.chunks[n][off : off+s.klen-1-8]
}

// flush writes every key's combined value to w, hash-partitioned over nparts, and
// empties the table.
func (c *combiner[K, V, C]) flush(w engine.RecordWriter, nparts int) error {
	var kb [8]byte
	var key, vb []byte
	for j := range c.slots {
		s := &c.slots[j]
		if s.klen == 0 {
			continue
		}
		binary.BigEndian.PutUint64(kb[:], s.prefix)
		key = append(key[:0], kb[:min(8, s.klen-1)]...)
		if s.klen-1 > 8 {
			key = append(key, c.rest(s)...)
		}
		vb = c.vc.Append(vb[:0], s.val)
		if err := w.Write(int(s.hash%uint64(nparts)), key, vb); err != nil {
			return err
		}
	}
	// New arrays, not cleared ones: the memory was released before the flush and is
	// the writer's now.
	c.slots, c.count, c.chunks, c.fill, c.used, c.extra, c.failed = nil, 0, nil, 0, 0, 0, false
	return nil
}

// prefixOf packs up to 8 leading bytes of b big-endian, zero-padded.
func prefixOf(b []byte) uint64 {
	if len(b) >= 8 {
		return binary.BigEndian.Uint64(b)
	}
	var p uint64
	i := 0
	if len(b)&4 != 0 {
		p = uint64(binary.BigEndian.Uint32(b)) << 32
		i = 4
	}
	if len(b)&2 != 0 {
		p |= uint64(binary.BigEndian.Uint16(b[i:])) << (48 - 8*i)
		i += 2
	}
	if len(b)&1 != 0 {
		p |= uint64(b[i]) << (56 - 8*i)
	}
	return p
}
