// Package shuffle is Spindle's sort-based shuffle on bytes: a map task writes its
// records (already-encoded key and value) into one data file and one index file, one
// segment per reduce partition, sorted by key when asked; reducers open segments and
// merge them by key.
//
// File format. A segment is a sequence of blocks:
//
//	uvarint(uncompressed length) flags(1 byte: 1 = s2) uvarint(payload length)
//	crc32c(payload, 4 bytes big-endian) payload
//
// and a block's records are uvarint(len(key)) key uvarint(len(value)) value. The data
// file is the segments of partitions 0..N-1 in order. The index file is "SPIX", a
// version byte (1), uint32 N, N+1 big-endian int64 segment offsets, and the crc32c of
// all before it. Spill files use the same segment encoding, so one reader serves
// both. The index is renamed into place last: its presence means the map output is
// complete, and the first attempt to publish it wins.
package shuffle
