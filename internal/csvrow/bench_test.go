package csvrow

import "testing"

type benchRow struct {
	OrderID   int64   `csv:"order_id"`
	Region    string  `csv:"region"`
	Quantity  int     `csv:"quantity"`
	UnitPrice float64 `csv:"unit_price"`
}

func BenchmarkDecode(b *testing.B) {
	d, err := NewDecoder[benchRow]([]string{"order_id", "date", "region", "quantity", "unit_price"})
	if err != nil {
		b.Fatal(err)
	}
	rec := []string{"1234567", "2026-11-28", "EMEA", "3", "19.99"}
	b.ReportAllocs()
	var r benchRow
	for b.Loop() {
		if err := d.Decode(rec, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	e, err := NewEncoder[benchRow]()
	if err != nil {
		b.Fatal(err)
	}
	r := benchRow{1234567, "EMEA", 3, 19.99}
	var rec []string
	b.ReportAllocs()
	for b.Loop() {
		rec = e.Encode(rec[:0], &r)
	}
}
