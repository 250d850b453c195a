package datagen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/spindle-engine/spindle/internal/frame"
)

// SalesSchema is the columns of the Parquet sales data: the CSV's, with the date
// as a date, and the prices and revenue as exact decimals.
var SalesSchema = &frame.Schema{Fields: []frame.Field{
	{Name: "order_id", Type: frame.TInt64},
	{Name: "date", Type: frame.TDate32},
	{Name: "region", Type: frame.TString},
	{Name: "product", Type: frame.TString},
	{Name: "quantity", Type: frame.TInt32},
	{Name: "unit_price", Type: frame.DecimalType(10, 2)},
	{Name: "revenue", Type: frame.DecimalType(18, 2)},
}}

// SalesRowBytes is about what one sales row takes in the CSV, to size Parquet data
// like the CSV of the same -size.
const SalesRowBytes = 62

// SalesParquet writes rows sales rows as Parquet with codec (snappy, zstd, ...):
// the same orders, in the same order, as Sales draws from the same seed.
func SalesParquet(w io.Writer, rows int64, seed uint64, codec string) error {
	bw := bufio.NewWriterSize(w, 1<<20) // the Parquet writer closes what it writes to
	pw, err := frame.NewParquetWriter(bw, SalesSchema, codec)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0x5a1e5))
	zipf := rand.NewZipf(rng, 1.2, 1, uint64(len(Regions)-1))
	sch := SalesSchema.Arrow()
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	const batch = 64 << 10
	base := arrow.Date32FromTime(mustDate("2026-01-01"))
	products := make([]string, 5000)
	for i := range products {
		products[i] = fmt.Sprintf("product-%04d", i)
	}
	for id := int64(1); id <= rows; id++ {
		qty := 1 + rng.IntN(20)
		cents := int64(99 + rng.IntN(49900))
		month, day := 1+rng.IntN(12), 1+rng.IntN(28)
		region := Regions[zipf.Uint64()]
		product := products[rng.IntN(5000)]
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.Date32Builder).Append(base + arrow.Date32(dayOfYear(month, day)))
		b.Field(2).(*array.StringBuilder).Append(region)
		b.Field(3).(*array.StringBuilder).Append(product)
		b.Field(4).(*array.Int32Builder).Append(int32(qty))
		b.Field(5).(*array.Decimal128Builder).Append(decimal128.FromI64(cents))
		b.Field(6).(*array.Decimal128Builder).Append(decimal128.FromI64(cents * int64(qty)))
		if id%batch == 0 || id == rows {
			if err := pw.Write(b.NewRecordBatch()); err != nil {
				return err
			}
		}
	}
	if err := pw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

var monthStart = [...]int{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}

// dayOfYear is the 0-based day of 2026 (not a leap year).
func dayOfYear(month, day int) int { return monthStart[month-1] + day - 1 }

func mustDate(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}
