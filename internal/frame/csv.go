package frame

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/spindle-engine/spindle/hdfs"
	"github.com/spindle-engine/spindle/internal/engine"
)

// CSVScan is a CSV read as data: the paths and the file's columns (from the header,
// with types given or inferred on the driver).
type CSVScan struct {
	Paths  []string `json:"paths"`
	Header bool     `json:"header"`
	Schema *Schema  `json:"schema"`
}

// InferCSV reads the header and up to sample data lines of the first file of paths
// and returns its schema: each column is int64 if every sampled value is an
// integer, float64 if a number, bool if true/false, else string. Without a header
// the columns are _c0, _c1, ...
func InferCSV(ctx context.Context, fss Filesystems, paths []string, header bool, sample int) (*Schema, error) {
	if len(paths) == 0 {
		return nil, errors.New("no input path given")
	}
	fsys, inner, err := fss.Resolve(ctx, paths[0])
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", paths[0], err)
	}
	files, err := hdfs.ExpandPaths(ctx, fsys, []string{inner})
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", paths[0], err)
	}
	f := files[0]
	r, err := hdfs.NewLineReader(ctx, fsys, hdfs.Split{Path: f.Path, Start: 0, Length: f.Size, FileSize: f.Size})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Path, err)
	}
	defer r.Close()
	var names []string
	var kinds []int // 0 int, 1 float, 2 bool, 3 string; -1 none seen
	var fields []string
	line := 0
	for r.Next() && line <= sample {
		line++
		if fields, err = splitCSV(fields[:0], r.Line()); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", f.Path, line, err)
		}
		if names == nil {
			for i := range fields {
				if header {
					names = append(names, fields[i])
				} else {
					names = append(names, "_c"+strconv.Itoa(i))
				}
				kinds = append(kinds, -1)
			}
			if header {
				continue
			}
		}
		for i := 0; i < len(fields) && i < len(kinds); i++ {
			if fields[i] != "" {
				kinds[i] = max(kinds[i], inferKind(fields[i]))
			}
		}
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Path, err)
	}
	if names == nil {
		return nil, fmt.Errorf("%s: empty CSV file, no header", f.Path)
	}
	s := &Schema{}
	for i, n := range names {
		t := [...]string{TInt64, TFloat64, TBool, TString}[max(0, kinds[i])]
		if kinds[i] < 0 {
			t = TString
		}
		s.Fields = append(s.Fields, Field{Name: n, Type: t, Nullable: true})
	}
	return s, nil
}

func inferKind(v string) int {
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return 0
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return 1
	}
	if strings.EqualFold(v, "true") || strings.EqualFold(v, "false") {
		return 2
	}
	return 3
}

// splitCSV splits one CSV line into fields, unquoting quoted ones.
func splitCSV(dst []string, line []byte) ([]string, error) {
	s := string(line)
	s = strings.TrimSuffix(s, "\r")
	for {
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for {
				j := strings.IndexByte(s[i:], '"')
				if j < 0 {
					return nil, errors.New("unterminated quoted field")
				}
				b.WriteString(s[i : i+j])
				i += j + 1
				if i < len(s) && s[i] == '"' {
					b.WriteByte('"')
					i++
					continue
				}
				break
			}
			dst = append(dst, b.String())
			if i == len(s) {
				return dst, nil
			}
			if s[i] != ',' {
				return nil, errors.New("text after a quoted field")
			}
			s = s[i+1:]
			continue
		}
		j := strings.IndexByte(s, ',')
		if j < 0 {
			return append(dst, s), nil
		}
		dst = append(dst, s[:j])
		s = s[j+1:]
	}
}

// CSVError is a CSV value that does not parse into its column's type.
type CSVError struct {
	Path   string
	Line   int64
	Column string
	Err    error
}

func (e *CSVError) Error() string {
	return fmt.Sprintf("%s:%d: column %q: %v", e.Path, e.Line, e.Column, e.Err)
}

func (e *CSVError) Unwrap() error { return e.Err }

// scanCSV parses a split's lines into batches of the columns of out.
func scanCSV(tc *engine.TaskContext, sc *CSVScan, sp engine.InputSplit, out *Schema, yield func(arrow.RecordBatch) bool) error {
	idx := make([]int, len(out.Fields))
	for i, f := range out.Fields {
		if idx[i] = sc.Schema.Index(f.Name); idx[i] < 0 {
			return &MissingColumnError{Column: f.Name, Have: sc.Schema.Names(), File: sp.Path}
		}
	}
	var bs []array.Builder
	reset := func() {
		bs = bs[:0]
		for _, f := range out.Fields {
			t, _ := ArrowType(f.Type)
			bs = append(bs, array.NewBuilder(mem, t))
		}
	}
	reset()
	rows := 0
	emit := func() bool {
		cols := make([]arrow.Array, len(bs))
		for i, b := range bs {
			cols[i] = b.NewArray()
		}
		n := rows
		rows = 0
		reset()
		return yield(newBatch(out, cols, n))
	}
	var fields []string
	var bad error
	stopped := false
	err := engine.ReadLines(tc, sp, func(line []byte, off int64) bool {
		if (sc.Header && off == 0) || len(line) == 0 {
			return true
		}
		var err error
		if fields, err = splitCSV(fields[:0], line); err != nil {
			bad = &CSVError{Path: sp.Path, Line: engine.LineOf(tc.Ctx, sp, off), Err: err}
			return false
		}
		if len(fields) != len(sc.Schema.Fields) {
			bad = &CSVError{Path: sp.Path, Line: engine.LineOf(tc.Ctx, sp, off), Err: fmt.Errorf("%d fields, the header has %d", len(fields), len(sc.Schema.Fields))}
			return false
		}
		for i, c := range idx {
			if err := appendParsed(bs[i], out.Fields[i].Type, fields[c]); err != nil {
				bad = &CSVError{Path: sp.Path, Line: engine.LineOf(tc.Ctx, sp, off), Column: out.Fields[i].Name, Err: err}
				return false
			}
		}
		rows++
		if rows == batchRows && !emit() {
			stopped = true
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if bad != nil {
		return bad
	}
	if rows > 0 && !stopped {
		emit()
	}
	return nil
}

// appendParsed parses v as type t; an empty value is null.
func appendParsed(b array.Builder, t, v string) error {
	if v == "" {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.Int64Builder:
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return err
		}
		b.Append(x)
	case *array.Int32Builder:
		x, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return err
		}
		b.Append(int32(x))
	case *array.Float64Builder:
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return err
		}
		b.Append(x)
	case *array.BooleanBuilder:
		x, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			return err
		}
		b.Append(x)
	case *array.StringBuilder:
		b.Append(v)
	default:
		return b.AppendValueFromString(v)
	}
	return nil
}
