package codec

import (
	"testing"
	"time"
)

// benchCodec measures Append and Decode of v; SetBytes is the encoded size.
func benchCodec[T any](b *testing.B, v T) {
	c := MustFor[T]()
	enc := c.Append(nil, v)
	b.Run("Append", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		b.ReportAllocs()
		buf := make([]byte, 0, len(enc))
		for b.Loop() {
			buf = c.Append(buf[:0], v)
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := c.Decode(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCodecInt64(b *testing.B) { benchCodec(b, int64(-123456789)) }

func BenchmarkCodecString(b *testing.B) { benchCodec(b, "the quick brown fox jumps over the lazy dog") }

type benchSale struct {
	ID     int64
	Region string
	Amount float64
	Qty    int32
	At     time.Time
	Tags   []string
}

func BenchmarkCodecStruct(b *testing.B) {
	b.Run("KV", func(b *testing.B) { benchCodec(b, KV[string, int]{"word", 1}) })
	b.Run("Sale", func(b *testing.B) {
		benchCodec(b, benchSale{42, "EMEA", 19.99, 3, time.Unix(1_700_000_000, 5), []string{"a", "bb"}})
	})
}

func BenchmarkOrderedFloat64(b *testing.B) {
	c := Ordered[float64]()
	buf := make([]byte, 0, 8)
	b.SetBytes(8)
	b.ReportAllocs()
	for b.Loop() {
		buf = c.Append(buf[:0], 3.25)
	}
}
