package deploy

import (
	"errors"
	"strings"
	"testing"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/yarn"
)

func TestContainerMemoryMB(t *testing.T) {
	tests := []struct {
		mem      int64
		overhead string
		want     int64
	}{
		{512 << 20, "", 512 + 512},          // Go's virtual floor: (1280 + 768)/2.1 − 512 = 463, to 512
		{768 << 20, "", 768 + 448},          // (1280 + 1152)/2.1 − 768 = 390, to 448
		{1 << 30, "", 1024 + 384},           // 10% is 102 MiB and the Go floor 317: Spark's 384
		{4 << 30, "", 4096 + 410},           // 10% of 4096 MiB, rounded up to a whole MiB
		{8 << 30, "", 8192 + 819 + 1},       // 819.2 MiB rounds up
		{2 << 30, "100m", 2048 + 100},       // explicit overhead replaces the rule
		{2 << 30, "1g", 2048 + 1024},        // in any unit
		{1 << 30, "not a size", 1024 + 384}, // unparsable keeps the rule
	}
	for _, tt := range tests {
		if got := ContainerMemoryMB(tt.mem, tt.overhead); got != tt.want {
			t.Errorf("ContainerMemoryMB(%d MiB, %q) = %d, want %d", tt.mem>>20, tt.overhead, got, tt.want)
		}
	}
}

func TestCheckResources(t *testing.T) {
	max := yarn.Resource{MemoryMB: 8192, VCores: 4}
	tests := []struct {
		name  string
		mode  string
		conf  map[string]string
		ok    bool
		parts []string // the error names these
	}{
		{"defaults fit", ModeCluster, nil, true, nil},
		{"largest executor that fits", ModeCluster, map[string]string{"spindle.executor.memory": "7372m"}, true, nil},
		{"executor memory", ModeCluster, map[string]string{"spindle.executor.memory": "64g"},
			false, []string{"executor", "72090 MB", "8192 MB", "--executor-memory", "spindle.executor.memory 64g"}},
		{"executor overhead", ModeCluster, map[string]string{"spindle.executor.memory": "7g", "spindle.executor.memoryOverhead": "2g"},
			false, []string{"executor", "9216 MB", "8192 MB", "spindle.executor.memoryOverhead"}},
		{"executor cores", ModeClient, map[string]string{"spindle.executor.cores": "8"},
			false, []string{"executor", "8 vcores", "4 vcores", "--executor-cores"}},
		{"driver memory in cluster mode", ModeCluster, map[string]string{"spindle.driver.memory": "10g"},
			false, []string{"ApplicationMaster", "11264 MB", "8192 MB", "--driver-memory"}},
		{"driver memory ignored in client mode", ModeClient, map[string]string{"spindle.driver.memory": "10g"}, true, nil},
		{"AM memory in client mode", ModeClient, map[string]string{"spindle.yarn.am.memory": "9g"},
			false, []string{"ApplicationMaster", "10138 MB", "8192 MB", "spindle.yarn.am.memory"}},
		{"driver cores", ModeCluster, map[string]string{"spindle.driver.cores": "5"},
			false, []string{"ApplicationMaster", "5 vcores", "--driver-cores"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := conf.New()
			if errs := c.SetAll(tt.conf); len(errs) > 0 {
				t.Fatal(errs)
			}
			err := CheckResources(&Spec{Conf: c, Mode: tt.mode}, max)
			if tt.ok {
				if err != nil {
					t.Fatalf("CheckResources: %v", err)
				}
				return
			}
			var re *ResourceError
			if !errors.As(err, &re) || re.Max != max {
				t.Fatalf("CheckResources = %v, want a *ResourceError with the maximum", err)
			}
			for _, p := range tt.parts {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q does not name %q", err, p)
				}
			}
		})
	}
}

func TestStagingURL(t *testing.T) {
	tests := []struct {
		defaultFS, stagingDir, want string
	}{
		{"hdfs://nn:8020", "", "hdfs://nn:8020/user/ann/.spindleStaging/application_1_0001"},
		{"hdfs://nn:8020/", "/tmp/stage", "hdfs://nn:8020/tmp/stage/.spindleStaging/application_1_0001"},
		{"hdfs://nn:8020", "hdfs://other:9000/s", "hdfs://other:9000/s/.spindleStaging/application_1_0001"},
		{"", "/tmp/stage", "file:///tmp/stage/.spindleStaging/application_1_0001"},
	}
	for _, tt := range tests {
		c, h := conf.New(), conf.NewHadoop()
		if tt.defaultFS != "" {
			h.Set("fs.defaultFS", tt.defaultFS)
		}
		if tt.stagingDir != "" {
			if err := c.Set("spindle.yarn.stagingDir", tt.stagingDir); err != nil {
				t.Fatal(err)
			}
		}
		got, err := StagingURL(c, h, "ann", "application_1_0001")
		if err != nil || got != tt.want {
			t.Errorf("StagingURL(%q, %q) = %q, %v; want %q", tt.defaultFS, tt.stagingDir, got, err, tt.want)
		}
	}
}

func TestSplitList(t *testing.T) {
	got := SplitList(" a.txt, ,hdfs:///b.zip#b ,")
	if strings.Join(got, "|") != "a.txt|hdfs:///b.zip#b" {
		t.Fatalf("SplitList = %q", got)
	}
	if SplitList("") != nil {
		t.Fatal("SplitList(\"\") is not empty")
	}
}
