package spindle

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/internal/frame"
)

// fsale is a row of the frame tests' data: nullable columns, some regions null.
type fsale struct {
	ID     int64    `parquet:"id"`
	Region *string  `parquet:"region"`
	Qty    *int64   `parquet:"qty"`
	Price  *float64 `parquet:"price"`
}

type fzone struct {
	Region *string `parquet:"region"`
	Zone   string  `parquet:"zone"`
}

func optional[T any](rng *rand.Rand, v T) *T {
	if rng.IntN(10) == 0 {
		return nil
	}
	return &v
}

// frameData makes n sales rows, a null in about a tenth of each nullable column.
func frameData(seed uint64, n, regions int) []fsale {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]fsale, n)
	for i := range out {
		out[i] = fsale{
			ID:     int64(i),
			Region: optional(rng, fmt.Sprintf("r%03d", rng.IntN(regions))),
			Qty:    optional(rng, int64(rng.IntN(20)-3)),
			Price:  optional(rng, float64(rng.IntN(10000))/100),
		}
	}
	return out
}

// writeParquetFile writes rows as one Parquet file with Spindle's writer.
func writeParquetFile[T any](t testing.TB, path string, rows []T) {
	t.Helper()
	s, err := frame.SchemaOf[T]()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	pw, err := frame.NewParquetWriter(&buf, s, "snappy")
	if err != nil {
		t.Fatal(err)
	}
	err = frame.BatchesOf[T](s, func(yield func(T) bool) error {
		for i, r := range rows {
			if i > 0 && i%5000 == 0 {
				pw.EndRowGroup()
			}
			if !yield(r) {
				break
			}
		}
		return nil
	})(func(b arrow.RecordBatch) bool {
		if err := pw.Write(b); err != nil {
			t.Fatal(err)
		}
		return true
	})
	if err == nil {
		err = pw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// frameInputs writes the sales over three files and an empty one (an empty
// partition), and the zones of most regions plus one no sale has.
func frameInputs(t testing.TB, sales []fsale, regions int) (salesDir, zonesPath string) {
	dir := t.TempDir()
	salesDir = filepath.Join(dir, "sales")
	os.Mkdir(salesDir, 0o755)
	n := len(sales)
	writeParquetFile(t, filepath.Join(salesDir, "a.parquet"), sales[:n/3])
	writeParquetFile(t, filepath.Join(salesDir, "b.parquet"), sales[n/3:2*n/3])
	writeParquetFile(t, filepath.Join(salesDir, "c.parquet"), []fsale{})
	writeParquetFile(t, filepath.Join(salesDir, "d.parquet"), sales[2*n/3:])
	var zones []fzone
	for r := 0; r < regions+1; r++ {
		if r%4 == 3 {
			continue
		}
		name := fmt.Sprintf("r%03d", r)
		zones = append(zones, fzone{Region: &name, Zone: fmt.Sprintf("z%d", r%3)})
	}
	zones = append(zones, fzone{Zone: "nowhere"}) // a null key matches nothing
	zonesPath = filepath.Join(dir, "zones.parquet")
	writeParquetFile(t, zonesPath, zones)
	return salesDir, zonesPath
}

// rowStrings renders rows canonically, floats rounded to 9 digits, for comparison.
func rowStrings(rows []Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		parts := make([]string, len(r))
		for j, v := range r {
			switch v := v.(type) {
			case nil:
				parts[j] = "null"
			case float64:
				parts[j] = fmt.Sprintf("%.9g", v)
			default:
				parts[j] = fmt.Sprint(v)
			}
		}
		out[i] = strings.Join(parts, "|")
	}
	return out
}

func sortedStrings(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func str(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func i64(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// frameCase is one frame query and its plain-Go reference answer.
type frameCase struct {
	name    string
	query   func(sales, zones Frame) Frame
	want    func(sales []fsale, zones []fzone) []Row
	ordered bool // compare in order (OrderBy), else as sets
}

func zonesOf(regions int) []fzone {
	var zones []fzone
	for r := 0; r < regions+1; r++ {
		if r%4 == 3 {
			continue
		}
		name := fmt.Sprintf("r%03d", r)
		zones = append(zones, fzone{Region: &name, Zone: fmt.Sprintf("z%d", r%3)})
	}
	return append(zones, fzone{Zone: "nowhere"})
}

func groupAgg(sales []fsale, key func(fsale) any) []Row {
	type acc struct {
		sum, cnt, rows int64
		sumSet         bool
		minP, maxP     *float64
		distinct       map[int64]bool
	}
	accs := map[any]*acc{}
	var order []any
	for _, s := range sales {
		k := key(s)
		a := accs[k]
		if a == nil {
			a = &acc{distinct: map[int64]bool{}}
			accs[k] = a
			order = append(order, k)
		}
		a.rows++
		if s.Qty != nil {
			a.sum += *s.Qty
			a.sumSet = true
			a.cnt++
			a.distinct[*s.Qty] = true
		}
		if s.Price != nil {
			if a.minP == nil || *s.Price < *a.minP {
				a.minP = s.Price
			}
			if a.maxP == nil || *s.Price > *a.maxP {
				a.maxP = s.Price
			}
		}
	}
	var out []Row
	for _, k := range order {
		a := accs[k]
		var sum, avg, minP, maxP any
		if a.sumSet {
			sum, avg = a.sum, float64(a.sum)/float64(a.cnt)
		}
		if a.minP != nil {
			minP, maxP = *a.minP, *a.maxP
		}
		out = append(out, Row{k, sum, a.cnt, minP, maxP, avg, int64(len(a.distinct)), a.rows})
	}
	return out
}

var frameCases = []frameCase{
	{
		name: "filter and select",
		query: func(s, _ Frame) Frame {
			return s.Filter(Col("qty").Gt(5).And(Col("region").IsNotNull())).Select("id", Col("qty").Mul(2).As("q2"), "region")
		},
		want: func(sales []fsale, _ []fzone) []Row {
			var out []Row
			for _, s := range sales {
				if s.Qty != nil && *s.Qty > 5 && s.Region != nil {
					out = append(out, Row{s.ID, *s.Qty * 2, *s.Region})
				}
			}
			return out
		},
	},
	{
		name: "with column",
		query: func(s, _ Frame) Frame {
			return s.WithColumn("total", Col("qty").Mul(Col("price"))).Select("id", "total")
		},
		want: func(sales []fsale, _ []fzone) []Row {
			var out []Row
			for _, s := range sales {
				var total any
				if s.Qty != nil && s.Price != nil {
					total = float64(*s.Qty) * *s.Price
				}
				out = append(out, Row{s.ID, total})
			}
			return out
		},
	},
	{
		name: "group by with every aggregate",
		query: func(s, _ Frame) Frame {
			return s.GroupBy("region").Agg(Col("qty").Sum(), Col("qty").Count(), Col("price").Min(), Col("price").Max(),
				Col("qty").Avg(), Col("qty").CountDistinct(), CountRows())
		},
		want: func(sales []fsale, _ []fzone) []Row {
			return groupAgg(sales, func(s fsale) any { return str(s.Region) })
		},
	},
	{
		name: "group by a high-cardinality key",
		query: func(s, _ Frame) Frame {
			return s.WithColumn("k", Col("id").Mul(7).Sub(Col("id"))).GroupBy("k").Agg(Col("qty").Sum(), Col("qty").Count(),
				Col("price").Min(), Col("price").Max(), Col("qty").Avg(), Col("qty").CountDistinct(), CountRows())
		},
		want: func(sales []fsale, _ []fzone) []Row {
			return groupAgg(sales, func(s fsale) any { return s.ID * 6 })
		},
	},
	{
		name:  "global aggregate",
		query: func(s, _ Frame) Frame { return s.GroupBy().Agg(CountRows(), Col("qty").Sum(), Col("price").Max()) },
		want: func(sales []fsale, _ []fzone) []Row {
			var sum int64
			var maxP float64
			for _, s := range sales {
				if s.Qty != nil {
					sum += *s.Qty
				}
				if s.Price != nil {
					maxP = max(maxP, *s.Price)
				}
			}
			return []Row{{int64(len(sales)), sum, maxP}}
		},
	},
	{
		name:  "global aggregate of nothing",
		query: func(s, _ Frame) Frame { return s.Filter(Col("id").Lt(0)).GroupBy().Agg(CountRows(), Col("qty").Sum()) },
		want:  func([]fsale, []fzone) []Row { return []Row{{int64(0), nil}} },
	},
	{
		name:  "distinct",
		query: func(s, _ Frame) Frame { return s.Select("region", "qty").Distinct() },
		want: func(sales []fsale, _ []fzone) []Row {
			seen := map[string]bool{}
			var out []Row
			for _, s := range sales {
				r := Row{str(s.Region), i64(s.Qty)}
				if k := fmt.Sprint(r); !seen[k] {
					seen[k] = true
					out = append(out, r)
				}
			}
			return out
		},
	},
	{
		name:  "inner join",
		query: func(s, z Frame) Frame { return s.Select("id", "region").Join(z, []string{"region"}, Inner) },
		want: func(sales []fsale, zones []fzone) []Row {
			var out []Row
			for _, s := range sales {
				for _, z := range zones {
					if s.Region != nil && z.Region != nil && *s.Region == *z.Region {
						out = append(out, Row{*s.Region, s.ID, z.Zone})
					}
				}
			}
			return out
		},
	},
	{
		name:  "left join",
		query: func(s, z Frame) Frame { return s.Select("id", "region").Join(z, []string{"region"}, LeftOuter) },
		want: func(sales []fsale, zones []fzone) []Row {
			var out []Row
			for _, s := range sales {
				matched := false
				for _, z := range zones {
					if s.Region != nil && z.Region != nil && *s.Region == *z.Region {
						out = append(out, Row{*s.Region, s.ID, z.Zone})
						matched = true
					}
				}
				if !matched {
					out = append(out, Row{str(s.Region), s.ID, nil})
				}
			}
			return out
		},
	},
	{
		name: "self join on a unique key",
		query: func(s, _ Frame) Frame {
			return s.Select("id", "qty").Join(s.Select("id", Col("price").As("p")), []string{"id"}, Inner)
		},
		want: func(sales []fsale, _ []fzone) []Row {
			var out []Row
			for _, s := range sales {
				var p any
				if s.Price != nil {
					p = *s.Price
				}
				out = append(out, Row{s.ID, i64(s.Qty), p})
			}
			return out
		},
	},
	{
		name:    "order by and limit",
		query:   func(s, _ Frame) Frame { return s.OrderBy(Desc("qty"), "id").Limit(700).Select("id", "qty") },
		ordered: true,
		want: func(sales []fsale, _ []fzone) []Row {
			s := slices.Clone(sales)
			slices.SortStableFunc(s, func(a, b fsale) int {
				switch {
				case a.Qty == nil && b.Qty == nil:
				case a.Qty == nil:
					return 1
				case b.Qty == nil:
					return -1
				default:
					if c := cmp.Compare(*b.Qty, *a.Qty); c != 0 {
						return c
					}
				}
				return cmp.Compare(a.ID, b.ID)
			})
			var out []Row
			for _, x := range s[:700] {
				out = append(out, Row{x.ID, i64(x.Qty)})
			}
			return out
		},
	},
	{
		name:    "order by every row",
		query:   func(s, _ Frame) Frame { return s.OrderBy(Asc("price"), Desc("id")).Select("id") },
		ordered: true,
		want: func(sales []fsale, _ []fzone) []Row {
			s := slices.Clone(sales)
			slices.SortFunc(s, func(a, b fsale) int {
				switch {
				case a.Price == nil && b.Price == nil:
				case a.Price == nil:
					return -1
				case b.Price == nil:
					return 1
				default:
					if c := cmp.Compare(*a.Price, *b.Price); c != 0 {
						return c
					}
				}
				return cmp.Compare(b.ID, a.ID)
			})
			var out []Row
			for _, x := range s {
				out = append(out, Row{x.ID})
			}
			return out
		},
	},
}

// TestFrameOperations runs every frame operation on random data with nulls and an
// empty input file against a plain-Go reference: on local slots, with the plan
// shipped to in-process executors as data, and with so little memory that the
// aggregates, sorts and joins spill.
func TestFrameOperations(t *testing.T) {
	const n, regions = 40000, 40
	sales := frameData(3, n, regions)
	salesDir, zonesPath := frameInputs(t, sales, regions)
	zones := zonesOf(regions)
	modes := []struct {
		name  string
		ship  bool
		kv    []string
		spill bool
	}{
		{name: "local"},
		{name: "shipped", ship: true, kv: []string{"spindle.default.parallelism", "3"}},
		{name: "spill", kv: []string{"spindle.driver.memory", "304m", "spindle.default.parallelism", "2"}, spill: true},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := newFrameSession(t, m.ship, m.kv...)
			ctx := context.Background()
			for _, tc := range frameCases {
				t.Run(tc.name, func(t *testing.T) {
					f := tc.query(ReadParquet(s, salesDir), ReadParquet(s, zonesPath))
					rows, err := f.Collect(ctx)
					if err != nil {
						t.Fatal(err)
					}
					got, want := rowStrings(rows), rowStrings(tc.want(sales, zones))
					if !tc.ordered {
						got, want = sortedStrings(got), sortedStrings(want)
					}
					if !slices.Equal(got, want) {
						t.Fatalf("%d rows, want %d; first difference: %s", len(got), len(want), firstRowDiff(got, want))
					}
					if cnt, err := f.Count(ctx); err != nil || cnt != int64(len(want)) {
						t.Errorf("Count = %d, %v; want %d", cnt, err, len(want))
					}
				})
			}
			if sum := s.Summary(); m.spill && sum.SpillBytes == 0 {
				t.Errorf("no spill with 2 MiB of memory: %+v", sum)
			}
		})
	}
}

func firstRowDiff(got, want []string) string {
	for i := 0; i < min(len(got), len(want)); i++ {
		if got[i] != want[i] {
			return fmt.Sprintf("row %d: got %s want %s", i, got[i], want[i])
		}
	}
	if len(got) > len(want) {
		return "extra " + got[len(want)]
	}
	if len(want) > len(got) {
		return "missing " + want[len(got)]
	}
	return "none"
}

// newFrameSession is a local session with 4 slots, shipping plans as data to
// in-process executors when ship is set.
func newFrameSession(t testing.TB, ship bool, kv ...string) *Session {
	t.Helper()
	if !ship {
		return newTestSession(t, kv...)
	}
	c := conf.New()
	settings := append([]string{"spindle.master", "local[4]", "spindle.local.dir", t.TempDir()}, kv...)
	for i := 0; i+1 < len(settings); i += 2 {
		if err := c.Set(settings[i], settings[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewSession(context.Background(), c, func(o *sessionOpts) { o.shipInProcess = true })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestFrameTypedBridges goes from a Dataset of structs to a frame and back (FrameOf,
// As), and through Parquet files (SaveAsParquet of a Dataset, ReadParquetAs), with
// nulls in pointer fields, against the plain-Go rows.
func TestFrameTypedBridges(t *testing.T) {
	sales := frameData(11, 5000, 12)
	s := newTestSession(t)
	ctx := context.Background()

	type priced struct {
		ID    int64    `parquet:"id"`
		Price *float64 `parquet:"price"`
	}
	f := FrameOf(Parallelize(s, sales, 3)).Filter(Col("qty").Ge(10)).Select("id", "price")
	got, err := Collect(ctx, As[priced](f))
	if err != nil {
		t.Fatal(err)
	}
	var want []priced
	for _, x := range sales {
		if x.Qty != nil && *x.Qty >= 10 {
			want = append(want, priced{x.ID, x.Price})
		}
	}
	render := func(ps []priced) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = fmt.Sprint(p.ID, "|", rowStrings([]Row{{func() any {
				if p.Price == nil {
					return nil
				}
				return *p.Price
			}()}})[0])
		}
		slices.Sort(out)
		return out
	}
	if g, w := render(got), render(want); !slices.Equal(g, w) {
		t.Fatalf("FrameOf then As: %d rows, want %d; first difference: %s", len(g), len(w), firstRowDiff(g, w))
	}

	dir := filepath.Join(t.TempDir(), "typed")
	if err := SaveAsParquet(ctx, Parallelize(s, sales, 4), dir); err != nil {
		t.Fatal(err)
	}
	back, err := Collect(ctx, ReadParquetAs[fsale](s, dir))
	if err != nil {
		t.Fatal(err)
	}
	key := func(xs []fsale) []string {
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = rowStrings([]Row{{x.ID, str(x.Region), i64(x.Qty), func() any {
				if x.Price == nil {
					return nil
				}
				return *x.Price
			}()}})[0]
		}
		slices.Sort(out)
		return out
	}
	if g, w := key(back), key(sales); !slices.Equal(g, w) {
		t.Fatalf("SaveAsParquet then ReadParquetAs: %d rows, want %d; first difference: %s", len(g), len(w), firstRowDiff(g, w))
	}

	// A struct asking for a column the frame lacks fails naming it.
	type wrong struct {
		Zone string `parquet:"zone"`
	}
	_, err = Collect(ctx, As[wrong](ReadParquet(s, dir)))
	var mc *frame.MissingColumnError
	if !errors.As(err, &mc) || mc.Column != "zone" {
		t.Fatalf("As of a struct with a missing column: %v, want a MissingColumnError for zone", err)
	}
}

// TestCSVFrame reads CSV with a header into a frame (types inferred, empty fields
// null), aggregates it, writes it with SaveAsCSV and reads that back.
func TestCSVFrame(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	var b strings.Builder
	b.WriteString("region,qty,price,note\n")
	sales := frameData(5, 3000, 7)
	for _, x := range sales {
		region, qty, price := "", "", ""
		if x.Region != nil {
			region = *x.Region
		}
		if x.Qty != nil {
			qty = fmt.Sprint(*x.Qty)
		}
		if x.Price != nil {
			price = fmt.Sprint(*x.Price)
		}
		fmt.Fprintf(&b, "%s,%s,%s,\"say \"\"%d\"\", ok\"\n", region, qty, price, x.ID)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newTestSession(t, "spindle.files.maxPartitionBytes", "16k")
	ctx := context.Background()
	f := ReadCSVFrame(s, CSVOptions{}, in)
	if got := fmt.Sprint(f.Schema().Fields); got != "[{region string true} {qty int64 true} {price float64 true} {note string true}]" {
		t.Fatalf("inferred schema %s", got)
	}
	rows, err := f.GroupBy("region").Agg(Col("qty").Sum(), Col("qty").Count(), CountRows()).Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want []Row
	for _, r := range groupAgg(sales, func(x fsale) any { return str(x.Region) }) {
		want = append(want, Row{r[0], r[1], r[2], r[7]})
	}
	if g, w := sortedStrings(rowStrings(rows)), sortedStrings(rowStrings(want)); !slices.Equal(g, w) {
		t.Fatalf("CSV group by: %d rows, want %d; first difference: %s", len(g), len(w), firstRowDiff(g, w))
	}

	out := filepath.Join(dir, "out")
	if err := f.Filter(Col("qty").Gt(15)).Select("note", "qty").SaveAsCSV(ctx, out); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCSVFrame(s, CSVOptions{Schema: &Schema{Fields: []Field{{Name: "note", Type: "string"}, {Name: "qty", Type: "int64"}}}}, out).Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wantBack []Row
	for _, x := range sales {
		if x.Qty != nil && *x.Qty > 15 {
			wantBack = append(wantBack, Row{fmt.Sprintf(`say "%d", ok`, x.ID), *x.Qty})
		}
	}
	if g, w := sortedStrings(rowStrings(back)), sortedStrings(rowStrings(wantBack)); !slices.Equal(g, w) {
		t.Fatalf("SaveAsCSV read back: %d rows, want %d; first difference: %s", len(g), len(w), firstRowDiff(g, w))
	}

	// A value that does not parse as its column's type names the file and column.
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("qty\n1\n2\nlots\n"), 0o644)
	_, err = ReadCSVFrame(s, CSVOptions{Schema: &Schema{Fields: []Field{{Name: "qty", Type: "int64"}}}}, bad).Collect(ctx)
	if err == nil || !strings.Contains(err.Error(), "bad.csv") || !strings.Contains(err.Error(), "qty") {
		t.Fatalf("bad CSV value: %v, want an error naming bad.csv and qty", err)
	}
}

// TestFrameErrors checks that mistakes in frame operations and in input files come
// back from the first action naming the column or the file.
func TestFrameErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	writeParquetFile(t, good, frameData(1, 100, 3))
	bad := filepath.Join(dir, "bad.parquet")
	os.WriteFile(bad, []byte("PAR1 not really parquet PAR1"), 0o644)
	s := newTestSession(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		f     func() Frame
		wants []string
	}{
		{"select a missing column", func() Frame { return ReadParquet(s, good).Select("revenue") }, []string{`"revenue"`, "Select", "frame_test.go"}},
		{"filter on a missing column", func() Frame { return ReadParquet(s, good).Filter(Col("qty").Gt(Col("nope"))) }, []string{`"nope"`}},
		{"group by a missing column", func() Frame { return ReadParquet(s, good).GroupBy("zone").Sum("qty") }, []string{`"zone"`}},
		{"sum of strings", func() Frame { return ReadParquet(s, good).GroupBy("id").Sum("region") }, []string{"region", "string"}},
		{"order by a missing column", func() Frame { return ReadParquet(s, good).OrderBy(Desc("when")) }, []string{`"when"`}},
		{"join on a missing column", func() Frame {
			return ReadParquet(s, good).Join(ReadParquet(s, good).Select("id"), []string{"region"}, Inner)
		}, []string{`"region"`}},
		{"a malformed file", func() Frame { return ReadParquet(s, bad).Select("id") }, []string{bad}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.f().Collect(ctx)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}
