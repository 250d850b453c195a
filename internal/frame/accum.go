package frame

import (
	"cmp"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// accum holds one aggregate's state for every group, indexed by group id.
type accum interface {
	// update folds rows of a into their groups; a is nil for count(1).
	update(gids []int32, a arrow.Array)
	// grow makes room for groups up to n.
	grow(n int)
	// build returns the states of groups [0, n) as a column.
	build(n int) arrow.Array
	// groupBytes is the memory one group's state takes.
	groupBytes() int64
}

// The accumulators' kinds. A partial aggregate's states are columns that the final
// aggregate merges with these same kinds: sums of sums, sums of counts, minimums of
// minimums.
const (
	accSumInt   = "sum_i"
	accSumFloat = "sum_f"
	accSumDec   = "sum_d"
	accCount    = "count"
	accCountAll = "count_all"
	accMin      = "min"
	accMax      = "max"
)

// newAccum makes an accumulator of kind whose states have type out (a type name).
func newAccum(kind, in string) (accum, error) {
	switch kind {
	case accSumInt:
		return &sumInt{}, nil
	case accSumFloat:
		return &sumFloat{}, nil
	case accSumDec:
		t, err := ArrowType(in)
		if err != nil {
			return nil, err
		}
		return &sumDec{typ: t.(*arrow.Decimal128Type)}, nil
	case accCount, accCountAll:
		return &count{all: kind == accCountAll}, nil
	case accMin, accMax:
		t, err := ArrowType(in)
		if err != nil {
			return nil, err
		}
		return newMinMax(kind == accMax, t)
	}
	return nil, fmt.Errorf("unknown accumulator %q", kind)
}

type sumInt struct {
	v   []int64
	set []bool
}

func (s *sumInt) grow(n int) {
	for len(s.v) < n {
		s.v, s.set = append(s.v, 0), append(s.set, false)
	}
}
func (s *sumInt) groupBytes() int64 { return 9 }

func (s *sumInt) update(gids []int32, a arrow.Array) {
	switch a := a.(type) {
	case *array.Int64:
		v := a.Int64Values()
		if a.NullN() == 0 {
			for i, g := range gids {
				s.v[g] += v[i]
				s.set[g] = true
			}
			return
		}
		for i, g := range gids {
			if a.IsValid(i) {
				s.v[g] += v[i]
				s.set[g] = true
			}
		}
	case *array.Int32:
		v := a.Int32Values()
		for i, g := range gids {
			if a.IsValid(i) {
				s.v[g] += int64(v[i])
				s.set[g] = true
			}
		}
	default:
		panic("frame: integer sum of " + a.DataType().String())
	}
}

func (s *sumInt) build(n int) arrow.Array {
	b := array.NewInt64Builder(mem)
	b.AppendValues(s.v[:n], s.set[:n])
	return b.NewArray()
}

type sumFloat struct {
	v   []float64
	set []bool
}

func (s *sumFloat) grow(n int) {
	for len(s.v) < n {
		s.v, s.set = append(s.v, 0), append(s.set, false)
	}
}
func (s *sumFloat) groupBytes() int64 { return 9 }

func (s *sumFloat) update(gids []int32, a arrow.Array) {
	switch a := a.(type) {
	case *array.Float64:
		v := a.Float64Values()
		for i, g := range gids {
			if a.IsValid(i) {
				s.v[g] += v[i]
				s.set[g] = true
			}
		}
	case *array.Int64:
		v := a.Int64Values()
		for i, g := range gids {
			if a.IsValid(i) {
				s.v[g] += float64(v[i])
				s.set[g] = true
			}
		}
	case *array.Int32:
		v := a.Int32Values()
		for i, g := range gids {
			if a.IsValid(i) {
				s.v[g] += float64(v[i])
				s.set[g] = true
			}
		}
	case *array.Decimal128:
		v := a.Values()
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		for i, g := range gids {
			if a.IsValid(i) {
				s.v[g] += v[i].ToFloat64(scale)
				s.set[g] = true
			}
		}
	default:
		panic("frame: float sum of " + a.DataType().String())
	}
}

func (s *sumFloat) build(n int) arrow.Array {
	b := array.NewFloat64Builder(mem)
	b.AppendValues(s.v[:n], s.set[:n])
	return b.NewArray()
}

// sumDec sums decimals exactly in 128 bits: low words with carries into high words.
type sumDec struct {
	typ *arrow.Decimal128Type
	lo  []uint64
	hi  []int64
	set []bool
}

func (s *sumDec) grow(n int) {
	for len(s.lo) < n {
		s.lo, s.hi, s.set = append(s.lo, 0), append(s.hi, 0), append(s.set, false)
	}
}
func (s *sumDec) groupBytes() int64 { return 17 }

func (s *sumDec) update(gids []int32, a arrow.Array) {
	d := a.(*array.Decimal128)
	v := d.Values()
	lo, hi, set := s.lo, s.hi, s.set
	if d.NullN() == 0 {
		for i, g := range gids {
			x := v[i]
			l := lo[g] + x.LowBits()
			if l < lo[g] {
				hi[g]++
			}
			lo[g] = l
			hi[g] += x.HighBits()
			set[g] = true
		}
		return
	}
	for i, g := range gids {
		if d.IsNull(i) {
			continue
		}
		x := v[i]
		l := lo[g] + x.LowBits()
		if l < lo[g] {
			hi[g]++
		}
		lo[g] = l
		hi[g] += x.HighBits()
		set[g] = true
	}
}

func (s *sumDec) build(n int) arrow.Array {
	b := array.NewDecimal128Builder(mem, s.typ)
	for g := 0; g < n; g++ {
		if !s.set[g] {
			b.AppendNull()
			continue
		}
		b.Append(decimal128.New(s.hi[g], s.lo[g]))
	}
	return b.NewArray()
}

type count struct {
	all bool
	v   []int64
}

func (c *count) grow(n int) {
	for len(c.v) < n {
		c.v = append(c.v, 0)
	}
}
func (c *count) groupBytes() int64 { return 8 }

func (c *count) update(gids []int32, a arrow.Array) {
	if c.all || a.NullN() == 0 {
		for _, g := range gids {
			c.v[g]++
		}
		return
	}
	for i, g := range gids {
		if a.IsValid(i) {
			c.v[g]++
		}
	}
}

func (c *count) build(n int) arrow.Array {
	b := array.NewInt64Builder(mem)
	b.AppendValues(c.v[:n], nil)
	return b.NewArray()
}

// minMax keeps the least or greatest value of each group, in a column of the input's
// type.
type minMax[T any] struct {
	max  bool
	v    []T
	set  []bool
	less func(a, b T) bool
	get  func(a arrow.Array, i int) T
	mk   func(v []T, set []bool) arrow.Array
	size int64
}

func (m *minMax[T]) grow(n int) {
	var zero T
	for len(m.v) < n {
		m.v, m.set = append(m.v, zero), append(m.set, false)
	}
}
func (m *minMax[T]) groupBytes() int64 { return m.size }

func (m *minMax[T]) update(gids []int32, a arrow.Array) {
	a = plain(a)
	for i, g := range gids {
		if a.IsNull(i) {
			continue
		}
		x := m.get(a, i)
		if !m.set[g] || (m.max && m.less(m.v[g], x)) || (!m.max && m.less(x, m.v[g])) {
			m.v[g], m.set[g] = x, true
		}
	}
}

type builderOf interface {
	AppendNull()
	NewArray() arrow.Array
}

func buildWith[T any](b builderOf, app func(T)) func(v []T, set []bool) arrow.Array {
	return func(v []T, set []bool) arrow.Array {
		for i, x := range v {
			if set[i] {
				app(x)
			} else {
				b.AppendNull()
			}
		}
		return b.NewArray()
	}
}

func newMinMax(isMax bool, t arrow.DataType) (accum, error) {
	switch t := t.(type) {
	case *arrow.Int32Type:
		return mm(isMax, 4, func(a arrow.Array, i int) int32 { return a.(*array.Int32).Value(i) }, cmp.Less[int32],
			func() (builderOf, func(int32)) { b := array.NewInt32Builder(mem); return b, b.Append }), nil
	case *arrow.Int64Type:
		return mm(isMax, 8, func(a arrow.Array, i int) int64 { return a.(*array.Int64).Value(i) }, cmp.Less[int64],
			func() (builderOf, func(int64)) { b := array.NewInt64Builder(mem); return b, b.Append }), nil
	case *arrow.Float64Type:
		return mm(isMax, 8, func(a arrow.Array, i int) float64 { return a.(*array.Float64).Value(i) }, floatLess,
			func() (builderOf, func(float64)) { b := array.NewFloat64Builder(mem); return b, b.Append }), nil
	case *arrow.StringType:
		return mm(isMax, 24, func(a arrow.Array, i int) string { return a.(*array.String).Value(i) }, cmp.Less[string],
			func() (builderOf, func(string)) { b := array.NewStringBuilder(mem); return b, b.Append }), nil
	case *arrow.BooleanType:
		return mm(isMax, 1, func(a arrow.Array, i int) bool { return a.(*array.Boolean).Value(i) }, func(a, b bool) bool { return !a && b },
			func() (builderOf, func(bool)) { b := array.NewBooleanBuilder(mem); return b, b.Append }), nil
	case *arrow.Date32Type:
		return mm(isMax, 4, func(a arrow.Array, i int) arrow.Date32 { return a.(*array.Date32).Value(i) }, cmp.Less[arrow.Date32],
			func() (builderOf, func(arrow.Date32)) { b := array.NewDate32Builder(mem); return b, b.Append }), nil
	case *arrow.TimestampType:
		return mm(isMax, 8, func(a arrow.Array, i int) arrow.Timestamp { return a.(*array.Timestamp).Value(i) }, cmp.Less[arrow.Timestamp],
			func() (builderOf, func(arrow.Timestamp)) { b := array.NewTimestampBuilder(mem, t); return b, b.Append }), nil
	case *arrow.Decimal128Type:
		return mm(isMax, 16, func(a arrow.Array, i int) decimal128.Num { return a.(*array.Decimal128).Value(i) }, func(a, b decimal128.Num) bool { return a.Less(b) },
			func() (builderOf, func(decimal128.Num)) { b := array.NewDecimal128Builder(mem, t); return b, b.Append }), nil
	}
	return nil, fmt.Errorf("min/max of %s", t)
}

func mm[T any](isMax bool, size int64, get func(arrow.Array, int) T, less func(a, b T) bool, nb func() (builderOf, func(T))) accum {
	return &minMax[T]{max: isMax, size: size + 1, get: get, less: less, mk: func(v []T, set []bool) arrow.Array {
		b, app := nb()
		return buildWith(b, app)(v, set)
	}}
}

func (m *minMax[T]) build(n int) arrow.Array { return m.mk(m.v[:n], m.set[:n]) }

// floatLess orders NaN greatest, as Spark does.
func floatLess(a, b float64) bool {
	if math.IsNaN(a) {
		return false
	}
	return math.IsNaN(b) || a < b
}
