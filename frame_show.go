package spindle

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spindle-engine/spindle/internal/frame"
)

// Show prints the first n rows as a table on stdout, in the layout of Spark's show():
// cells right-aligned, longer than 20 characters cut with "...". Like Spark it runs
// the first partition, then more partitions at a time, until it has n rows.
func (f Frame) Show(ctx context.Context, n int) error {
	s, err := f.showString(ctx, n, 20, "Show"+callSite())
	if err != nil {
		return err
	}
	_, err = os.Stdout.WriteString(s)
	return err
}

// ShowString returns what Show(ctx, n) prints; truncate is the widest cell (0 for
// no limit, which also left-aligns the cells, as Spark does).
func (f Frame) ShowString(ctx context.Context, n, truncate int) (string, error) {
	return f.showString(ctx, n, truncate, "ShowString"+callSite())
}

func (f Frame) showString(ctx context.Context, n, truncate int, name string) (string, error) {
	drv, cp, err := f.compile(ctx, name)
	if err != nil {
		return "", err
	}
	bs, err := frame.Take(ctx, drv, cp, name, n+1)
	if err != nil {
		return "", err
	}
	return frame.ShowString(cp.Schema, bs, n, truncate), nil
}

// Collect runs the frame and returns its rows, in partition order. Keep the result
// small: it is held in the driver's memory.
func (f Frame) Collect(ctx context.Context) ([]Row, error) {
	name := "Collect" + callSite()
	drv, cp, err := f.compile(ctx, name)
	if err != nil {
		return nil, err
	}
	parts, err := frame.Collect(ctx, drv, cp, name, nil, -1)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, bs := range parts {
		for _, b := range bs {
			for r := 0; r < int(b.NumRows()); r++ {
				row := make(Row, b.NumCols())
				for c := range row {
					row[c] = frame.Value(b.Column(c), r)
				}
				rows = append(rows, row)
			}
		}
	}
	return rows, nil
}

// Count runs the frame and returns how many rows it has.
func (f Frame) Count(ctx context.Context) (int64, error) {
	name := "Count" + callSite()
	drv, cp, err := f.compile(ctx, name)
	if err != nil {
		return 0, err
	}
	return frame.Count(ctx, drv, cp, name)
}

// SaveAsParquet writes the frame as Parquet files into the directory path, one
// part-NNNNN.parquet per partition, through the output committer (see
// [SaveAsText]). The codec is spindle.parquet.compression (snappy by default; zstd,
// gzip, none); files carry min/max statistics and the Arrow schema.
func (f Frame) SaveAsParquet(ctx context.Context, path string) error {
	return f.save(ctx, path, frame.FormatParquet, "SaveAsParquet"+callSite())
}

// SaveAsCSV writes the frame as CSV files with a header line into the directory
// path, through the output committer; nulls are empty fields.
func (f Frame) SaveAsCSV(ctx context.Context, path string) error {
	return f.save(ctx, path, frame.FormatCSV, "SaveAsCSV"+callSite())
}

func (f Frame) save(ctx context.Context, path, format, name string) error {
	drv, cp, err := f.compile(ctx, name)
	if err != nil {
		return fmt.Errorf("%s %s: %w", name, path, err)
	}
	c := f.s.Conf()
	err = frame.Save(ctx, drv, f.s.g.FS(), cp, name, frame.SaveOptions{
		Path: path, Format: format, Overwrite: c.Bool("spindle.output.overwrite"),
		Compression: strings.ToLower(c.String("spindle.parquet.compression")),
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", name, path, err)
	}
	return nil
}
