package spindle

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"reflect"
	"unsafe"

	"github.com/spindle-engine/spindle/codec"
	"github.com/spindle-engine/spindle/internal/engine"
)

// combinerChunk is how much execution memory a map-side combiner asks for at a time.
const combinerChunk = 1 << 20

// combSlot is one slot of a combiner's table: a key's first 8 bytes and length,
// where the rest of it is, and its combined value. A probe that finds its key reads
// one slot, and a key of at most 8 bytes lives in the slot alone, so its probes touch
// no other memory. The key's hash is not kept: a word count's table outgrows the
// caches, its probes are cache misses, and a slot of 24 bytes rather than 32 makes
// the table a quarter smaller; the hash is recomputed when the table grows (from the
// slot alone for short keys) and once per key at the flush.
type combSlot[C any] struct {
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
	// from the value's encoding, or, for a slice of plain elements or a string, from
	// its capacity or length (valueSize).
	valueIsPtr bool
	valueSize  func(*C) int64 // nil: estimate by encoding, sampled (sampleValues)

	slots   []combSlot[C]
	shift   uint // 64 - log2(len(slots)): slotOf takes a hash's high bits
	count   int
	chunks  [][]byte
	fill    int
	scratch []byte
	keyBuf  []byte

	used   int64 // memory the table holds, as accounted
	extra  int64 // of it, key bytes in the arena and values' sizes
	failed bool  // the arena took its last addressable chunk; the caller must flush

	// Merges grow values that refer to other memory (a slice appended to). Without
	// valueSize, the values' sizes are measured by encoding them all after every
	// doubling of the merges, and each merge between two measurements is counted
	// as adding the bytes per merge of the last interval.
	merges, nextSample int64
	sinceSample        int64 // merges since the last measurement
	perMerge           int64 // bytes a merge was estimated to add
	valBytes           int64 // of extra, the values' sizes
}

func newCombiner[K, V, C any](create func(V) C, merge func(C, V) C) *combiner[K, V, C] {
	c := &combiner[K, V, C]{kc: mustKeyCodec[K](), vc: mustCodec[C](), create: create, merge: merge}
	if reflect.TypeFor[K]().Kind() == reflect.String {
		var k K
		*(*string)(unsafe.Pointer(&k)) = "\x00k"
		c.rawString = string(c.kc.Append(nil, k)) == "\x00k"
	}
	c.valueIsPtr = hasPointers(reflect.TypeFor[C]())
	c.valueSize = plainSize[C]()
	return c
}

// plainSize returns an O(1) size of a C that is a string or a slice of elements
// without pointers (what its memory holds: a string's length, a slice's capacity),
// or nil for other types.
func plainSize[C any]() func(*C) int64 {
	t := reflect.TypeFor[C]()
	switch {
	case t.Kind() == reflect.String:
		return func(v *C) int64 { return int64(len(*(*string)(unsafe.Pointer(v)))) }
	case t.Kind() == reflect.Slice && !hasPointers(t.Elem()):
		size := int64(t.Elem().Size())
		return func(v *C) int64 { return int64(cap(*(*[]byte)(unsafe.Pointer(v)))) * size }
	}
	return nil
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

// tableHash picks a key's home slot. A key of at most 8 bytes is all in its prefix
// and length, which one 128-bit multiplication folded to 64 bits mixes (wyhash's
// step); a longer one is hashed whole. It need not be the partitioning hash,
// codec.Hash, which flush computes once per key.
func tableHash(p uint64, kb []byte) uint64 {
	if len(kb) <= 8 {
		hi, lo := bits.Mul64(p^0xa0761d6478bd642f, uint64(len(kb))^0xe7037ed1a0b428db)
		return hi ^ lo
	}
	return codec.Hash(kb)
}

// add folds one record into the table and reports whether the table grew.
func (c *combiner[K, V, C]) add(k K, v V) bool {
	kb := c.keyBytes(k)
	p := prefixOf(kb)
	if len(c.slots) == 0 {
		c.resize(1024)
	}
	mask := uint64(len(c.slots) - 1)
	klen := uint32(len(kb)) + 1
	for i := c.slotOf(tableHash(p, kb)) & mask; ; i = (i + 1) & mask {
		s := &c.slots[i]
		if s.klen == 0 {
			c.insert(s, p, kb, v)
			return true
		}
		if s.prefix == p && s.klen == klen && (len(kb) <= 8 || bytes.Equal(c.rest(s), kb[8:])) {
			if !c.valueIsPtr {
				s.val = c.merge(s.val, v)
				return false
			}
			return c.mergeGrowing(s, v)
		}
	}
}

// mergeGrowing merges v into a value that refers to other memory and accounts the
// value's growth; it reports whether the accounted memory grew.
func (c *combiner[K, V, C]) mergeGrowing(s *combSlot[C], v V) bool {
	before := c.used
	if c.valueSize != nil {
		old := c.valueSize(&s.val)
		s.val = c.merge(s.val, v)
		c.extra += c.valueSize(&s.val) - old
	} else {
		s.val = c.merge(s.val, v)
		c.merges++
		c.sinceSample++
		c.extra += c.perMerge
		c.valBytes += c.perMerge
		if c.merges >= c.nextSample {
			c.sampleValues()
		}
	}
	c.used = int64(len(c.slots))*int64(unsafe.Sizeof(*s)) + c.extra
	return c.used > before
}

// sampleValues measures the values' sizes by encoding them, and from the change
// since the last measurement, the bytes a merge adds.
func (c *combiner[K, V, C]) sampleValues() {
	var n int64
	for j := range c.slots {
		if c.slots[j].klen != 0 {
			c.scratch = c.vc.Append(c.scratch[:0], c.slots[j].val)
			n += int64(len(c.scratch))
		}
	}
	// valBytes is the last measurement, plus the inserted values' sizes, plus the
	// estimate of the merges since; the estimate is replaced by what they added.
	base := c.valBytes - c.perMerge*c.sinceSample
	if c.sinceSample > 0 {
		c.perMerge = max(0, n-base) / c.sinceSample
	}
	c.extra += n - c.valBytes
	c.valBytes, c.sinceSample = n, 0
	c.nextSample = max(2*c.merges, 1024)
}

// slotOf is a hash's home slot before masking: its high bits, the best mixed.
func (c *combiner[K, V, C]) slotOf(h uint64) uint64 { return h >> c.shift }

// insert puts a new key into the empty slot s.
func (c *combiner[K, V, C]) insert(s *combSlot[C], p uint64, kb []byte, v V) {
	*s = combSlot[C]{prefix: p, klen: uint32(len(kb)) + 1, val: c.create(v)}
	if len(kb) > 8 {
		s.loc = c.store(kb[8:])
		c.extra += int64(len(kb) - 8)
	}
	switch {
	case c.valueSize != nil:
		c.extra += c.valueSize(&s.val)
	case c.valueIsPtr:
		c.scratch = c.vc.Append(c.scratch[:0], s.val)
		c.extra += int64(len(c.scratch))
		c.valBytes += int64(len(c.scratch))
	}
	c.count++
	if 4*c.count > 3*len(c.slots) {
		c.resize(2 * len(c.slots))
	}
	c.used = int64(len(c.slots))*int64(unsafe.Sizeof(*s)) + c.extra
}

// resize rebuilds the table with n slots, n a power of two.
func (c *combiner[K, V, C]) resize(n int) {
	old := c.slots
	c.slots = make([]combSlot[C], n)
	c.shift = uint(64 - bits.TrailingZeros(uint(n)))
	mask := uint64(n - 1)
	for j := range old {
		s := &old[j]
		if s.klen == 0 {
			continue
		}
		i := c.slotOf(tableHash(s.prefix, c.key(s))) & mask
		for c.slots[i].klen != 0 {
			i = (i + 1) & mask
		}
		c.slots[i] = *s
	}
}

// key is a slot's key, valid until the next call.
func (c *combiner[K, V, C]) key(s *combSlot[C]) []byte {
	c.keyBuf = binary.BigEndian.AppendUint64(c.keyBuf[:0], s.prefix)[:min(8, s.klen-1)]
	if s.klen-1 > 8 {
		c.keyBuf = append(c.keyBuf, c.rest(s)...)
	}
	return c.keyBuf
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
	var vb []byte
	for j := range c.slots {
		s := &c.slots[j]
		if s.klen == 0 {
			continue
		}
		key := c.key(s)
		vb = c.vc.Append(vb[:0], s.val)
		if err := w.Write(int(codec.Hash(key)%uint64(nparts)), key, vb); err != nil {
			return err
		}
	}
	// New arrays, not cleared ones: the memory was released before the flush and is
	// the writer's now.
	c.slots, c.count, c.chunks, c.fill, c.used, c.extra, c.failed = nil, 0, nil, 0, 0, 0, false
	c.merges, c.nextSample, c.sinceSample, c.perMerge, c.valBytes = 0, 0, 0, 0, 0
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
