package frame

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// grouper gives each row of a batch the id of its group by the key columns, making
// new groups as new keys appear. Keys are their encodings (keys.go) in a Go map; a
// single dictionary-encoded key column, the common case of a string read from
// Parquet, is looked up once per dictionary entry instead of once per row.
type grouper struct {
	keyIdx []int
	table  map[string]int32
	n      int
	// parts holds the key values of the groups in id order, per key column, as
	// the slices of batches that introduced them.
	parts [][]arrow.Array
	// bytes is what the table and the key values take, for memory accounting.
	bytes int64
	rk    rowKeys
	gids  []int32
	buf   []byte
}

func newGrouper(keyIdx []int) *grouper {
	g := &grouper{keyIdx: keyIdx, table: map[string]int32{}, parts: make([][]arrow.Array, len(keyIdx))}
	if len(keyIdx) == 0 {
		g.n = 1 // a global aggregate has its one group even without rows
	}
	return g
}

// groupOverhead is a map entry's cost beside its key bytes.
const groupOverhead = 64

// assign returns the group ids of b's rows, valid until the next call, and the
// bytes the new groups took.
func (g *grouper) assign(b arrow.RecordBatch) ([]int32, int64) {
	n := int(b.NumRows())
	if cap(g.gids) < n {
		g.gids = make([]int32, n)
	}
	gids := g.gids[:n]
	if len(g.keyIdx) == 0 {
		clear(gids)
		return gids, 0
	}
	before := g.bytes
	if d, ok := b.Column(g.keyIdx[0]).(*array.Dictionary); ok && len(g.keyIdx) == 1 {
		g.assignDict(d, gids)
		return gids, g.bytes - before
	}
	cols := make([]arrow.Array, len(g.keyIdx))
	for i, k := range g.keyIdx {
		cols[i] = b.Column(k)
	}
	g.rk.encode(cols, nil, n)
	var fresh []int32
	for r := 0; r < n; r++ {
		key := g.rk.key(r)
		id, ok := g.table[string(key)]
		if !ok {
			id = int32(g.n)
			g.table[string(key)] = id
			g.n++
			g.bytes += int64(len(key)) + groupOverhead
			fresh = append(fresh, int32(r))
		}
		gids[r] = id
	}
	if len(fresh) > 0 {
		idx := int32Array(fresh)
		for i, c := range cols {
			g.parts[i] = append(g.parts[i], takeCol(c, idx))
		}
	}
	return gids, g.bytes - before
}

// assignDict resolves each dictionary entry the batch uses once.
func (g *grouper) assignDict(d *array.Dictionary, gids []int32) {
	dict := d.Dictionary()
	enc := valueEncoder(dict)
	trans := make([]int32, dict.Len())
	for i := range trans {
		trans[i] = -1
	}
	nullID := int32(-1)
	var fresh []int32
	get := indexGetter(d.Indices())
	resolve := func(key []byte, entry int32) int32 {
		id, ok := g.table[string(key)]
		if !ok {
			id = int32(g.n)
			g.table[string(key)] = id
			g.n++
			g.bytes += int64(len(key)) + groupOverhead
			fresh = append(fresh, entry)
		}
		return id
	}
	nulls := d.NullN() > 0
	if ix, ok := d.Indices().(*array.Int32); ok && !nulls {
		// The scan's dictionaries: no call per row.
		for r, j := range ix.Int32Values() {
			id := trans[j]
			if id < 0 {
				g.buf = enc(g.buf[:0], int(j))
				id = resolve(g.buf, j)
				trans[j] = id
			}
			gids[r] = id
		}
		g.addFresh(dict, fresh)
		return
	}
	for r := range gids {
		if nulls && d.IsNull(r) {
			if nullID < 0 {
				nullID = resolve([]byte{0}, -1)
			}
			gids[r] = nullID
			continue
		}
		j := get(r)
		id := trans[j]
		if id < 0 {
			g.buf = enc(g.buf[:0], j)
			id = resolve(g.buf, int32(j))
			trans[j] = id
		}
		gids[r] = id
	}
	g.addFresh(dict, fresh)
}

// addFresh keeps the key values of the dictionary entries that made new groups
// (-1: the null key).
func (g *grouper) addFresh(dict arrow.Array, fresh []int32) {
	if len(fresh) > 0 {
		b := array.NewInt32Builder(mem)
		for _, e := range fresh {
			if e < 0 {
				b.AppendNull()
			} else {
				b.Append(e)
			}
		}
		idx := b.NewArray()
		g.parts[0] = append(g.parts[0], takeCol(dict, idx))
	}
}

// keys returns the key columns of groups [0, n).
func (g *grouper) keys() ([]arrow.Array, error) {
	out := make([]arrow.Array, len(g.keyIdx))
	for i, ps := range g.parts {
		switch len(ps) {
		case 0:
			return nil, fmt.Errorf("frame: no key values for %d groups", g.n)
		case 1:
			out[i] = ps[0]
		default:
			c, err := array.Concatenate(ps, mem)
			if err != nil {
				return nil, fmt.Errorf("concatenate group keys: %w", err)
			}
			out[i] = c
		}
	}
	return out, nil
}

// takeCol takes rows idx of c; a dictionary's indices are taken before its values
// are decoded.
func takeCol(c arrow.Array, idx arrow.Array) arrow.Array {
	if d, ok := c.(*array.Dictionary); ok {
		ti := takeRows(array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "i", Type: d.Indices().DataType(), Nullable: true}}, nil), []arrow.Array{d.Indices()}, int64(d.Len())), idx).Column(0)
		return plain(array.NewDictionaryArray(d.DataType(), ti, d.Dictionary()))
	}
	return takeRows(array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "c", Type: c.DataType(), Nullable: true}}, nil), []arrow.Array{c}, int64(c.Len())), idx).Column(0)
}
