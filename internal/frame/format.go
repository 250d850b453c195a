package frame

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Cell formats row i of a column as Spark's show prints it: "null", doubles as
// Java prints them (1.0, 1.5E7), decimals with their scale, dates as yyyy-MM-dd and
// timestamps in UTC.
func Cell(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "null"
	}
	switch a := a.(type) {
	case *array.Dictionary:
		return Cell(a.Dictionary(), indexGetter(a.Indices())(i))
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10)
	case *array.Float64:
		return JavaDouble(a.Value(i))
	case *array.String:
		return a.Value(i)
	case *array.Date32:
		return a.Value(i).ToTime().Format("2006-01-02")
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		t := a.Value(i).ToTime(unit).UTC()
		s := t.Format("2006-01-02 15:04:05.999999")
		return s
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	}
	return a.ValueStr(i)
}

// JavaDouble formats f as Java's Double.toString does, which is what Spark shows.
func JavaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if abs := math.Abs(f); abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// ShowString renders up to n rows of batches as Spark's show(n) does: cells
// right-aligned, those longer than truncate characters cut to truncate-3 and
// "...", and "only showing top n rows" when more rows exist.
func ShowString(s *Schema, batches []arrow.RecordBatch, n, truncate int) string {
	cells := [][]string{s.Names()}
	more := false
	for _, b := range batches {
		for r := 0; r < int(b.NumRows()); r++ {
			if len(cells) > n {
				more = true
				break
			}
			row := make([]string, b.NumCols())
			for c := range row {
				row[c] = cut(Cell(b.Column(c), r), truncate)
			}
			cells = append(cells, row)
		}
	}
	for i, h := range cells[0] {
		cells[0][i] = cut(h, truncate)
	}
	widths := make([]int, len(s.Fields))
	for _, row := range cells {
		for c, v := range row {
			widths[c] = max(widths[c], 3, utf8.RuneCountInString(v))
		}
	}
	var b strings.Builder
	sep := func() {
		b.WriteByte('+')
		for _, w := range widths {
			b.WriteString(strings.Repeat("-", w))
			b.WriteByte('+')
		}
		b.WriteByte('\n')
	}
	line := func(row []string) {
		b.WriteByte('|')
		for c, v := range row {
			pad := strings.Repeat(" ", widths[c]-utf8.RuneCountInString(v))
			if truncate > 0 {
				b.WriteString(pad + v)
			} else {
				b.WriteString(v + pad)
			}
			b.WriteByte('|')
		}
		b.WriteByte('\n')
	}
	sep()
	line(cells[0])
	sep()
	for _, row := range cells[1:] {
		line(row)
	}
	sep()
	if more {
		word := "rows"
		if n == 1 {
			word = "row"
		}
		b.WriteString("only showing top " + strconv.Itoa(n) + " " + word + "\n")
	}
	return b.String()
}

func cut(v string, truncate int) string {
	if truncate <= 0 || utf8.RuneCountInString(v) <= truncate {
		return v
	}
	r := []rune(v)
	if truncate < 4 {
		return string(r[:truncate])
	}
	return string(r[:truncate-3]) + "..."
}

// Value is row i of a column as a Go value: nil for null, bool, int32, int64,
// float64, string, time.Time for dates and timestamps, Decimal for decimals.
func Value(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Dictionary:
		return Value(a.Dictionary(), indexGetter(a.Indices())(i))
	case *array.Boolean:
		return a.Value(i)
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Date32:
		return a.Value(i).ToTime()
	case *array.Timestamp:
		return a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit).UTC()
	case *array.Decimal128:
		v := a.Value(i)
		return Decimal{Hi: v.HighBits(), Lo: v.LowBits(), Scale: a.DataType().(*arrow.Decimal128Type).Scale}
	}
	return a.ValueStr(i)
}

// Decimal is an exact decimal: a 128-bit unscaled integer and a scale.
type Decimal struct {
	Hi    int64
	Lo    uint64
	Scale int32
}

// String formats the decimal with its scale's digits: 1234.50.
func (d Decimal) String() string { return decimalNum(d).ToString(d.Scale) }

// Float64 is the decimal's nearest float.
func (d Decimal) Float64() float64 { return decimalNum(d).ToFloat64(d.Scale) }

func decimalNum(d Decimal) decimal128.Num { return decimal128.New(d.Hi, d.Lo) }
