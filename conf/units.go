package conf

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40, "p": 1 << 50, "pb": 1 << 50,
}

// ParseSize parses a size as Spark does: a number with an optional binary unit, b, k,
// m, g, t, p (with or without a trailing b, any case): "512m", "8g", "1.5g", "300".
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	mult, ok := sizeUnits[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("invalid size %q: want a number with an optional unit (k, m, g, t)", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f*float64(mult) > math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return int64(f * float64(mult)), nil
}

var durationUnits = map[string]time.Duration{
	"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "sec": time.Second,
	"m": time.Minute, "min": time.Minute, "h": time.Hour, "d": 24 * time.Hour,
}

// ParseDuration parses a duration as Spark does: "200ms", "3s", "5min", "1h", "2d";
// a bare number is seconds.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, "s"
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	mult, ok := durationUnits[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("invalid duration %q: want a number with a unit (ms, s, min, h)", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, errors.New("invalid duration " + strconv.Quote(s))
	}
	return time.Duration(f * float64(mult)), nil
}

// Reserved is the memory an executor keeps out of the unified pool, as in Spark.
const Reserved = 300 << 20

// MemoryModel is an executor's memory as Spark's unified memory manager divides it.
type MemoryModel struct {
	ExecutorMemory int64
	Reserved       int64
	Unified        int64 // (executor memory − reserved) × spindle.memory.fraction
	StorageRegion  int64 // unified × spindle.memory.storageFraction
	Overhead       int64 // container memory beyond the executor's
}

// DefaultOverhead is a container's memory beyond its process's heap when none is
// configured, for executors and the AM alike: Spark's rule, max(384 MiB, 10%),
// raised for small processes until YARN's virtual-memory check (Apache Hadoop's
// default: on, 2.1 × the container) has room for a Go process. A Go binary on
// linux/amd64 reserves about 1.1 GiB of address space it never uses (the page
// allocator's summaries and scavenger index), and keeps the heap arenas of its peak
// heap reserved; measured on the test cluster, an executor at 512m with a 351 MiB
// heap and 471 MB resident had 1.97 GB of virtual memory, over the 1.88 GB that
// Spark's rule gives it. The floor leaves 1280 MiB plus 1.5 × the heap limit; from
// about 1 GiB up Spark's rule already does. The floor is rounded up to 64 MiB.
func DefaultOverhead(mem int64) int64 {
	const goReserved, vmemRatio, round = 1280 << 20, 2.1, 64 << 20
	floor := int64((float64(goReserved)+1.5*float64(mem))/vmemRatio) - mem
	if spark := max(384<<20, mem/10); spark >= floor {
		return spark
	}
	return (floor + round - 1) / round * round
}

// Memory computes the executor memory model from spindle.executor.memory.
func (c *Conf) Memory() MemoryModel {
	mem := c.Size("spindle.executor.memory")
	unified := int64(float64(max(0, mem-Reserved)) * c.Float("spindle.memory.fraction"))
	overhead := c.Size("spindle.executor.memoryOverhead")
	if c.Get("spindle.executor.memoryOverhead") == "" {
		overhead = DefaultOverhead(mem)
	}
	return MemoryModel{
		ExecutorMemory: mem,
		Reserved:       Reserved,
		Unified:        unified,
		StorageRegion:  int64(float64(unified) * c.Float("spindle.memory.storageFraction")),
		Overhead:       overhead,
	}
}

// Validate checks the values against each other; errors name the keys.
func (c *Conf) Validate() error {
	var errs []error
	frac := func(key string, lo float64, loOpen bool) {
		f := c.Float(key)
		if f > 1 || f < lo || (loOpen && f == lo) {
			errs = append(errs, &ValueError{Key: key, Value: c.Get(key), Err: errors.New("must be in (0, 1]")})
		}
	}
	frac("spindle.memory.fraction", 0, true)
	frac("spindle.memory.storageFraction", 0, false)
	for _, key := range []string{"spindle.executor.memory", "spindle.driver.memory"} {
		if c.Size(key) <= Reserved {
			errs = append(errs, &ValueError{Key: key, Value: c.Get(key), Err: errors.New("must be more than the 300m reserved memory")})
		}
	}
	// spindle.go.gcPercent too: below 1 the runtime would collect without pause or,
	// negative, not at all until the memory limit, which the GOGC environment
	// variable can ask for on purpose ("off"); a typo must not.
	for _, key := range []string{"spindle.executor.cores", "spindle.executor.instances", "spindle.task.maxFailures", "spindle.driver.cores", "spindle.go.gcPercent"} {
		if c.Int(key) < 1 {
			errs = append(errs, &ValueError{Key: key, Value: c.Get(key), Err: errors.New("must be at least 1")})
		}
	}
	if v := c.Get("spindle.default.parallelism"); v != "" && c.Int("spindle.default.parallelism") < 1 {
		errs = append(errs, &ValueError{Key: "spindle.default.parallelism", Value: v, Err: errors.New("must be at least 1")})
	}
	return errors.Join(errs...)
}
