package csvrow

import (
	"bytes"
	"math"
	"unsafe"
)

// SplitBytes appends to dst views of line's comma-separated fields, without copying,
// and reports false if line has a quote: quoted fields need unescaping, which only a
// copy can do (decode such a line with encoding/csv and Decode instead).
func SplitBytes(dst [][]byte, line []byte) ([][]byte, bool) {
	if bytes.IndexByte(line, '"') >= 0 {
		return dst, false
	}
	for {
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			return append(dst, line), true
		}
		dst = append(dst, line[:i])
		line = line[i+1:]
	}
}

// internMax bounds the distinct values a string column interns: past it the column
// is taken for a high-cardinality one, whose values are copied one by one.
const internMax = 1024

// internLen is the longest value interned.
const internLen = 64

// interner shares the strings of a low-cardinality column (regions, categories): a
// value seen before costs a lookup, not an allocation.
type interner struct {
	m    map[string]string
	full bool
}

func (in *interner) string(b []byte) string {
	if in.full || len(b) > internLen {
		return string(b)
	}
	if s, ok := in.m[string(b)]; ok { // the lookup does not allocate
		return s
	}
	s := string(b)
	if in.m == nil {
		in.m = make(map[string]string)
	}
	in.m[s] = s
	in.full = len(in.m) >= internMax
	return s
}

// DecodeBytes parses fields, views of one record's values as SplitBytes makes them,
// into *dst, as Decode does: only the columns T declares are read, numbers are parsed
// from the bytes, and the strings of low-cardinality columns are interned. It is not
// safe for concurrent use, because of the interning.
func (d *Decoder[T]) DecodeBytes(fields [][]byte, dst *T) error {
	base := unsafe.Pointer(dst)
	for i := range d.cols {
		c := &d.cols[i]
		if c.index >= len(fields) {
			return &FieldError{Column: c.header, Index: c.index, Err: errMissing}
		}
		b := fields[c.index]
		p := unsafe.Add(base, c.off)
		if c.kind == kString && !c.ptr {
			*(*string)(p) = c.intern.string(b)
			continue
		}
		if c.setBytes(p, b) {
			continue
		}
		// Not a fast case, or not valid: the string path decides, and makes the
		// error, which must own its value.
		s := string(b)
		if err := c.set(p, s); err != nil {
			return &FieldError{Column: c.header, Index: c.index, Value: s, Err: err}
		}
	}
	return nil
}

// setBytes parses the plain forms of numbers straight from b, reporting false for
// anything else: signs, spaces, exponents, more digits than are exact.
func (f *field) setBytes(p unsafe.Pointer, b []byte) bool {
	if f.ptr || len(b) == 0 {
		return false
	}
	switch f.kind {
	case kInt:
		x, ok := parseInt(b)
		if !ok || (f.bits < 64 && (x < -1<<(f.bits-1) || x > 1<<(f.bits-1)-1)) {
			return false
		}
		switch f.bits {
		case 8:
			*(*int8)(p) = int8(x)
		case 16:
			*(*int16)(p) = int16(x)
		case 32:
			*(*int32)(p) = int32(x)
		default:
			*(*int64)(p) = x
		}
		return true
	case kUint:
		x, ok := parseInt(b)
		if !ok || x < 0 || (f.bits < 64 && x > 1<<f.bits-1) {
			return false
		}
		switch f.bits {
		case 8:
			*(*uint8)(p) = uint8(x)
		case 16:
			*(*uint16)(p) = uint16(x)
		case 32:
			*(*uint32)(p) = uint32(x)
		default:
			*(*uint64)(p) = uint64(x)
		}
		return true
	case kFloat:
		x, ok := parseFloat(b)
		if !ok {
			return false
		}
		if f.bits == 32 {
			// Rounding the exact float64 to float32 can differ from rounding the
			// decimal directly; only values exact in both are taken here.
			if float64(float32(x)) != x {
				return false
			}
			*(*float32)(p) = float32(x)
		} else {
			*(*float64)(p) = x
		}
		return true
	}
	return false
}

// parseInt parses an optional '-' and 1 to 18 decimal digits, which cannot overflow.
func parseInt(b []byte) (int64, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var x int64
	for _, c := range b {
		c -= '0'
		if c > 9 {
			return 0, false
		}
		x = x*10 + int64(c)
	}
	if neg {
		x = -x
	}
	return x, true
}

// pow10 are the powers of ten that float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloat parses an optional '-', digits and an optional fraction, when the
// digits make an integer below 2^53 and the fraction has at most 22 digits: then the
// integer and the power of ten are exact, and one division rounds correctly, so the
// result is what strconv.ParseFloat returns (its own exact fast path).
func parseFloat(b []byte) (float64, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	var mant uint64
	digits, frac := 0, -1
	for i, c := range b {
		if c == '.' {
			if frac >= 0 {
				return 0, false
			}
			frac = len(b) - i - 1
			continue
		}
		c -= '0'
		if c > 9 {
			return 0, false
		}
		mant = mant*10 + uint64(c)
		digits++
	}
	if digits == 0 || digits > 15 || frac > 22 {
		return 0, false
	}
	x := float64(mant)
	if frac > 0 {
		x /= pow10[frac]
	}
	if neg {
		x = -x
	}
	if math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}
