// Command limits measures the machine's physical limits the benchmarks are judged
// against: memory copy bandwidth of one core, loopback TCP throughput, and
// sequential disk write and read. It prints one JSON object (MB/s).
//
//	go run ./scripts/bench/limits -dir build/bench -size 1GB
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/spindle-engine/spindle/conf"
)

// Limits are the measured rates in MB/s (10^6 bytes per second).
type Limits struct {
	MemcpyMBps    float64 `json:"memcpy_mbps"`
	LoopbackMBps  float64 `json:"loopback_tcp_mbps"`
	DiskWriteMBps float64 `json:"disk_write_mbps"`
	// DiskReadMBps may include page-cache hits: dropping a file's cached pages is
	// advice the kernel may ignore.
	DiskReadMBps float64 `json:"disk_read_mbps"`
}

func main() {
	dir := flag.String("dir", os.TempDir(), "directory on the disk to measure")
	size := flag.String("size", "1GB", "bytes to move in each measurement")
	flag.Parse()
	n, err := conf.ParseSize(*size)
	if err != nil {
		fmt.Fprintf(os.Stderr, "limits: -size %s: %v\n", *size, err)
		os.Exit(2)
	}
	var l Limits
	l.MemcpyMBps = memcpy(n)
	if l.LoopbackMBps, err = loopback(n); err == nil {
		l.DiskWriteMBps, l.DiskReadMBps, err = disk(*dir, n)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "limits: %v\n", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(l)
}

func mbps(bytes int64, d time.Duration) float64 { return float64(bytes) / 1e6 / d.Seconds() }

// memcpy copies a 64 MiB buffer on one goroutine, locked to its thread.
func memcpy(total int64) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	src, dst := make([]byte, 64<<20), make([]byte, 64<<20)
	for i := range src {
		src[i] = byte(i)
	}
	copy(dst, src) // fault the pages in before timing
	start := time.Now()
	var moved int64
	for moved < total {
		moved += int64(copy(dst, src))
	}
	return mbps(moved, time.Since(start))
}

// loopback sends total bytes over a loopback TCP connection.
func loopback(total int64) (float64, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer lis.Close()
	done := make(chan error, 1)
	go func() {
		c, err := lis.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_, err = io.Copy(io.Discard, c)
		done <- err
	}()
	c, err := net.Dial("tcp", lis.Addr().String())
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	start := time.Now()
	for sent := int64(0); sent < total; {
		n, err := c.Write(buf)
		if err != nil {
			return 0, err
		}
		sent += int64(n)
	}
	c.Close()
	if err := <-done; err != nil {
		return 0, err
	}
	return mbps(total, time.Since(start)), nil
}

// disk writes total bytes sequentially with a final fsync, asks the kernel to drop
// the file's cached pages, and reads it back.
func disk(dir string, total int64) (write, read float64, err error) {
	p := filepath.Join(dir, "limits.tmp")
	defer os.Remove(p)
	f, err := os.Create(p)
	if err != nil {
		return 0, 0, err
	}
	buf := make([]byte, 4<<20)
	start := time.Now()
	for written := int64(0); written < total; written += int64(len(buf)) {
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return 0, 0, err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, 0, err
	}
	write = mbps(total, time.Since(start))
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	f.Close()
	f, err = os.Open(p)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	start = time.Now()
	n, err := io.CopyBuffer(io.Discard, f, buf)
	if err != nil {
		return 0, 0, err
	}
	return write, mbps(n, time.Since(start)), nil
}
