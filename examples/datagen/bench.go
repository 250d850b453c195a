package datagen

import (
	"bufio"
	"io"
	"math/rand/v2"
	"strconv"
)

// RecordSize is the length of one Records line, newline included, as gensort's
// records are 100 bytes.
const RecordSize = 100

// Records writes n gensort-like records: a 10-character random key and an
// 89-character payload (the record's number, padded), one per line.
func Records(w io.Writer, n int64, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(seed, 0x5087))
	const keyChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	line := make([]byte, RecordSize)
	for i := int64(0); i < n; i++ {
		for k := 0; k < 10; k++ {
			line[k] = keyChars[rng.IntN(len(keyChars))]
		}
		for k := 10; k < RecordSize-1; k++ {
			line[k] = '.'
		}
		num := strconv.AppendInt(nil, i, 10)
		copy(line[RecordSize-1-len(num):], num)
		line[RecordSize-1] = '\n'
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// FactHeader and DimHeader are the headers of the join benchmark's tables.
const (
	FactHeader = "fact_id,dim_id,amount"
	DimHeader  = "dim_id,name"
)

// Fact writes n fact rows referring to dimension ids below dims, skewed toward
// small ids as real foreign keys are.
func Fact(w io.Writer, n, dims int64, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(seed, 0xfac7))
	zipf := rand.NewZipf(rng, 1.05, 1, uint64(dims-1))
	bw.WriteString(FactHeader + "\n")
	var line []byte
	for i := int64(0); i < n; i++ {
		line = strconv.AppendInt(line[:0], i, 10)
		line = append(line, ',')
		line = strconv.AppendUint(line, zipf.Uint64(), 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, rng.Int64N(100000), 10)
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Dim writes the dimension table: ids 0..n-1 with a name each.
func Dim(w io.Writer, n int64, seed uint64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	rng := rand.New(rand.NewPCG(seed, 0xd1))
	bw.WriteString(DimHeader + "\n")
	var line []byte
	for i := int64(0); i < n; i++ {
		line = strconv.AppendInt(line[:0], i, 10)
		line = append(line, ",name-"...)
		line = strconv.AppendUint(line, rng.Uint64()%1e9, 36)
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	return bw.Flush()
}
