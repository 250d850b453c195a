package external

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/spindle-engine/spindle/shuffle"
)

// The benchmark's shuffle: 16 map outputs of 64 MiB, 8 reduce partitions each, 1 GiB
// in all, read by 4 reducers at once (each fetches its 2 partitions of every map
// output in one call).
const (
	benchMaps     = 16
	benchParts    = 8
	benchReducers = 4
	benchMapBytes = 64 << 20
	benchValue    = 1000
)

// BenchmarkServiceFetch1GB measures the fetch throughput of one running service
// over loopback (MB/s = 10^6 bytes per second of segments served; the map output
// files are in the page cache, as they are just after the map stage), and beside it
// the limits measured in the same run: loopback TCP (one connection) and a cold
// sequential read of the same files.
func BenchmarkServiceFetch1GB(b *testing.B) {
	dirs := []string{b.TempDir(), b.TempDir()}
	total := writeBenchShuffle(b, dirs)
	ctx := context.Background()
	d := startDaemon(b, b.TempDir(), nil)
	addr := d.addr
	secret := []byte("bench-secret")
	if a := d.send("init", "bench", secret); a.Error != "" {
		b.Fatal(a.Error)
	}
	reg := shuffle.NewFetcher("bench", secret)
	defer reg.Close()
	if err := reg.RegisterExecutor(ctx, addr, "1", dirs); err != nil {
		b.Fatal(err)
	}
	loop, disk := loopbackMBps(b, total), coldReadMBps(b, dirs)

	b.SetBytes(total)
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		errs := make(chan error, benchReducers)
		for r := range benchReducers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- reduce(ctx, addr, secret, r)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	// On a shared machine the wall clock depends on the neighbours; the CPU time
	// this process (service and reducers together) spent per GB does not.
	b.ReportMetric((cpuTime(b)-cpu0).Seconds()/float64(b.N)/(float64(total)/1e9), "cpu_s/GB")
	b.ReportMetric(loop, "loopback_MB/s")
	b.ReportMetric(disk, "disk_read_MB/s")
}

// reduce is one reducer: it fetches its partitions of every map output.
func reduce(ctx context.Context, addr string, secret []byte, r int) error {
	f := shuffle.NewFetcher("bench", secret)
	defer f.Close()
	var blocks []shuffle.BlockID
	for m := range benchMaps {
		for p := r; p < benchParts; p += benchReducers {
			blocks = append(blocks, shuffle.BlockID{Shuffle: 1, Map: m, Reduce: p})
		}
	}
	s, err := f.OpenBlocks(ctx, addr, "1", blocks)
	if err != nil {
		return err
	}
	defer s.Close()
	buf := make([]byte, 256<<10)
	for range blocks {
		_, size, rd, err := s.Next()
		if err != nil {
			return err
		}
		n, err := io.CopyBuffer(io.Discard, rd, buf)
		if err != nil {
			return err
		}
		if n != size {
			return fmt.Errorf("read %d of %d bytes", n, size)
		}
	}
	return nil
}

// writeBenchShuffle writes the map outputs with shuffle.Writer (incompressible
// values, uncompressed blocks) and returns their size.
func writeBenchShuffle(b *testing.B, dirs []string) int64 {
	val := make([]byte, benchValue)
	var total int64
	for m := range benchMaps {
		w, err := shuffle.NewWriter(shuffle.WriterConfig{Dirs: dirs, ShuffleID: 1, MapID: m, NumPartitions: benchParts})
		if err != nil {
			b.Fatal(err)
		}
		for i := range benchMapBytes / benchValue {
			rand.Read(val)
			if err := w.Write(i%benchParts, fmt.Appendf(nil, "%012d", i), val); err != nil {
				b.Fatal(err)
			}
		}
		sizes, err := w.Commit()
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range sizes {
			total += s
		}
	}
	return total
}

// loopbackMBps sends n bytes over one loopback TCP connection, as
// scripts/bench/limits does.
func loopbackMBps(b *testing.B, n int64) float64 {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
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
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	start := time.Now()
	for sent := int64(0); sent < n; sent += int64(len(buf)) {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return float64(n) / 1e6 / time.Since(start).Seconds()
}

// coldReadMBps reads the data files after asking the kernel to drop their cached
// pages (advice it may ignore), then reads them once more, untimed, so that the
// fetches find them cached as they would just after the map stage.
func coldReadMBps(b *testing.B, dirs []string) float64 {
	buf := make([]byte, 4<<20)
	read := func() int64 {
		var n int64
		for m := range benchMaps {
			f, err := os.Open(shuffle.DataPath(dirs, 1, m))
			if err != nil {
				b.Fatal(err)
			}
			k, err := io.CopyBuffer(io.Discard, f, buf)
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			n += k
		}
		return n
	}
	for m := range benchMaps {
		if f, err := os.Open(shuffle.DataPath(dirs, 1, m)); err == nil {
			_ = f.Sync()
			_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
			f.Close()
		}
	}
	start := time.Now()
	n := read()
	mbps := float64(n) / 1e6 / time.Since(start).Seconds()
	read()
	return mbps
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
