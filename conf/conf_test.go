package conf

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{"300", 300, false}, {"512m", 512 << 20, false}, {"8g", 8 << 30, false}, {"8G", 8 << 30, false},
		{"1024k", 1 << 20, false}, {"1.5g", 3 << 29, false}, {"2tb", 2 << 40, false}, {"64 MB", 64 << 20, false},
		{"12x", 0, true}, {"g", 0, true}, {"", 0, true}, {"-1m", 0, true}, {"1..2m", 0, true},
	} {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, bad=%v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"3s", 3 * time.Second, false}, {"200ms", 200 * time.Millisecond, false}, {"5min", 5 * time.Minute, false},
		{"1h", time.Hour, false}, {"120", 120 * time.Second, false}, {"1.5s", 1500 * time.Millisecond, false},
		{"3 weeks", 0, true}, {"s", 0, true},
	} {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, bad=%v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestSetAliasesAndErrors(t *testing.T) {
	c := New()
	if err := c.Set("spark.executor.memory", "4g"); err != nil {
		t.Fatal(err)
	}
	if c.Size("spindle.executor.memory") != 4<<30 || c.Explicit()["spindle.executor.memory"] != "4g" {
		t.Fatalf("alias did not set its spindle.* twin: %v", c.Explicit())
	}
	err := c.Set("spindle.executor.memory", "12x")
	var ve *ValueError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), `spindle.executor.memory="12x"`) {
		t.Fatalf("bad value: %v", err)
	}
	err = c.Set("spindle.executor.memroy", "2g")
	var uk *UnknownKeyError
	if !errors.As(err, &uk) || uk.Suggestion != "spindle.executor.memory" {
		t.Fatalf("unknown key: %v", err)
	}
	if err := c.Set("spindle.csv.mode", "dropmalformed"); err != nil {
		t.Fatalf("enum is case-insensitive: %v", err)
	}
	if err := c.Set("spindle.csv.mode", "LENIENT"); err == nil {
		t.Fatal("bad enum accepted")
	}
	if err := c.ParseFlag("spindle.master"); err == nil || !strings.Contains(err.Error(), "spindle.master") {
		t.Fatalf("--conf without '=': %v", err)
	}
	if got := c.Get("spindle.task.maxFailures"); got != "4" {
		t.Fatalf("default = %q", got)
	}
}

func TestLoadProperties(t *testing.T) {
	c := New()
	err := c.LoadProperties("testdata/bad.properties")
	if err == nil {
		t.Fatal("no error for bad lines")
	}
	for _, want := range []string{"testdata/bad.properties:6", "spindle.memory.fraction", "testdata/bad.properties:7"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if c.Size("spindle.executor.memory") != 2<<30 || c.Int("spindle.task.maxFailures") != 7 {
		t.Fatalf("good lines not applied: %v", c.Explicit())
	}
}

func TestMemoryModel(t *testing.T) {
	const mb = 1 << 20
	for _, tt := range []struct {
		mem                     string
		unified, storage, overh int64
	}{
		{"1g", 455501414, 227750707, 384 * mb},         // (1024−300) MiB × 0.6
		{"512m", 133378867, 66689433, 512 * mb},        // Go's virtual-memory floor passes Spark's 384m
		{"4g", 2388236697, 1194118348, 4096 * mb / 10}, // 10% overhead passes the 384m floor
		{"8g", 4965217075, 2482608537, 8192 * mb / 10}, // the seed's 8 GB executor: ~4.6 GiB unified
	} {
		c := New()
		c.Set("spindle.executor.memory", tt.mem)
		m := c.Memory()
		if m.Unified != tt.unified || m.StorageRegion != tt.storage || m.Overhead != tt.overh {
			t.Errorf("%s: %+v; want unified %d storage %d overhead %d", tt.mem, m, tt.unified, tt.storage, tt.overh)
		}
	}
}

func TestValidate(t *testing.T) {
	c := New()
	c.Set("spindle.memory.fraction", "1.2")
	c.Set("spindle.executor.memory", "200m")
	c.Set("spindle.go.gcPercent", "-1")
	err := c.Validate()
	for _, key := range []string{"spindle.memory.fraction", "spindle.executor.memory", "spindle.go.gcPercent"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Fatalf("Validate: %v, want an error naming %s", err, key)
		}
	}
	if err := New().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

func TestHadoopXML(t *testing.T) {
	t.Setenv("SPINDLE_TEST_HOME", "/home/x")
	h, err := LoadHadoop("testdata/hadoop")
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"fs.defaultFS": "hdfs://namenode:8020",
		"locked":       "core", // final in core-site.xml
		"home":         "/home/x/x",
	} {
		if got, _ := h.Get(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if got, ok := h.Get("loop"); !ok || !strings.HasPrefix(got, "${loop}") {
		t.Errorf("self reference: %q", got)
	}
	if got := h.Strings("yarn.resourcemanager.ha.rm-ids"); strings.Join(got, "|") != "rm1|rm2" {
		t.Errorf("Strings = %v", got)
	}
	if _, err := LoadHadoop("testdata/badxml"); err == nil || !strings.Contains(err.Error(), "hdfs-site.xml") {
		t.Fatalf("malformed XML: %v", err)
	}
}
