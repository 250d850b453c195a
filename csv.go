package spindle

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spindle-engine/spindle/internal/csvrow"
	"github.com/spindle-engine/spindle/internal/engine"
)

// ReadCSV reads CSV files with a header line into values of the struct type T: each
// column maps to the field tagged `csv:"name"`, or else the field whose name matches
// the header case-insensitively. Paths are as for [ReadText]; fields may not hold line
// breaks (as in Spark without multiLine).
//
// A malformed row (a wrong number of fields, or a value that does not parse into its
// field) fails the job naming the file, line and column, unless spindle.csv.mode is
// DROPMALFORMED: then such rows are skipped and counted in the job summary.
func ReadCSV[T any](s *Session, paths ...string) Dataset[T] {
	splits, err := s.g.PlanInput(paths)
	drop := strings.EqualFold(s.Conf().String("spindle.csv.mode"), "DROPMALFORMED")
	n := s.newNode("ReadCSV", max(1, len(splits)), nil, func(tc *engine.TaskContext, part int) (any, error) {
		return seq[T](func(yield func(T) bool) error {
			if part >= len(splits) {
				return nil
			}
			sp := splits[part]
			header, err := readHeader(tc.Ctx, sp)
			if err != nil {
				return err
			}
			dec, err := csvrow.NewDecoder[T](header)
			if err != nil {
				return &InputError{Path: sp.Path, Line: 1, Err: err}
			}
			var fields []string
			var views [][]byte
			var rowErr error
			err = engine.ReadLines(tc, sp, func(line []byte, off int64) bool {
				if off == 0 || len(line) == 0 {
					// The header, or a blank line: ReadLines counted it, but
					// it is no record.
					tc.Metrics.RecordsRead--
					return true
				}
				var t T
				var bad *InputError
				// Lines without quotes are decoded from views of their bytes; only
				// quoted ones are split into strings.
				var ok bool
				var err error
				views, ok = csvrow.SplitBytes(views[:0], line)
				n := len(views)
				if !ok {
					fields, err = splitCSV(fields[:0], line)
					n = len(fields)
				}
				switch {
				case err != nil:
					bad = &InputError{Err: err}
				case n != len(header):
					bad = &InputError{Err: fmt.Errorf("%d fields, the header has %d", n, len(header))}
				default:
					if ok {
						err = dec.DecodeBytes(views, &t)
					} else {
						err = dec.Decode(fields, &t)
					}
					if err != nil {
						bad = &InputError{Err: err}
						var fe *csvrow.FieldError
						if errors.As(err, &fe) {
							bad.Column = fe.Column
						}
					}
				}
				if bad != nil {
					if drop {
						tc.Metrics.DroppedMalformed++
						return true
					}
					bad.Path, bad.Line = sp.Path, engine.LineOf(tc.Ctx, sp, off)
					rowErr = bad
					return false
				}
				return yield(t)
			})
			if err != nil {
				return err
			}
			return rowErr
		}), nil
	})
	n.Err = err
	n.Hosts = engine.SplitHosts(splits)
	n.Bytes = splitBytes(splits)
	return newDataset[T](s, n)
}

// readHeader reads the first line of the split's file.
func readHeader(ctx context.Context, sp engine.InputSplit) ([]string, error) {
	f, err := sp.FS.Open(ctx, sp.Path)
	if err != nil {
		return nil, fmt.Errorf("read header of %s: %w", sp.Path, err)
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(f, 64<<10).ReadBytes('\n')
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		return nil, &InputError{Path: sp.Path, Line: 1, Err: fmt.Errorf("no header line: %w", err)}
	}
	header, err := splitCSV(nil, bytes.TrimRight(line, "\r\n"))
	if err != nil {
		return nil, &InputError{Path: sp.Path, Line: 1, Err: err}
	}
	return header, nil
}

// splitCSV splits one CSV line, quickly when it has no quotes.
func splitCSV(dst []string, line []byte) ([]string, error) {
	if bytes.IndexByte(line, '"') < 0 {
		for {
			i := bytes.IndexByte(line, ',')
			if i < 0 {
				return append(dst, string(line)), nil
			}
			dst = append(dst, string(line[:i]))
			line = line[i+1:]
		}
	}
	r := csv.NewReader(bytes.NewReader(line))
	r.FieldsPerRecord = -1
	rec, err := r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("column %d: %w", pe.Column, pe.Err)
		}
		return nil, err
	}
	return append(dst, rec...), nil
}

// SaveAsCSV writes d as CSV files with a header line into the directory path, one
// part file per partition, through the output committer (see [SaveAsText]).
func SaveAsCSV[T any](ctx context.Context, d Dataset[T], path string) error {
	if _, err := csvrow.NewEncoder[T](); err != nil {
		return fmt.Errorf("SaveAsCSV %s: %w", path, err)
	}
	return saveFiles(ctx, d, path, "SaveAsCSV", formatCSV)
}

// writeCSV writes a header line and one record per element.
func writeCSV[T any](w io.Writer, enc *csvrow.Encoder[T], in seq[T]) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(enc.Header()); err != nil {
		return err
	}
	var rec []string
	var werr error
	if err := in(func(t T) bool {
		rec = enc.Encode(rec[:0], &t)
		werr = cw.Write(rec)
		return werr == nil
	}); err != nil {
		return err
	}
	if werr != nil {
		return werr
	}
	cw.Flush()
	return cw.Error()
}
