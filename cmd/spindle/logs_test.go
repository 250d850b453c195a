package main

import (
	"io"
	"testing"
)

func TestParseLogsArgs(t *testing.T) {
	tests := []struct {
		args      []string
		ok        bool
		id, cont  string
		follow    bool
		principal string
	}{
		{[]string{"application_1_0001"}, true, "application_1_0001", "", false, ""},
		{[]string{"--container", "container_1_0001_01_000002", "-f", "application_1_0001"}, true, "application_1_0001", "container_1_0001_01_000002", true, ""},
		{[]string{"--follow", "--principal", "u@R", "--keytab", "k", "application_1_0001"}, true, "application_1_0001", "", true, "u@R"},
		{[]string{}, false, "", "", false, ""},
		{[]string{"a", "b"}, false, "", "", false, ""},
		{[]string{"--bogus", "application_1_0001"}, false, "", "", false, ""},
	}
	for _, tt := range tests {
		a, ok := parseLogsArgs(tt.args, io.Discard)
		if ok != tt.ok || (ok && (a.id != tt.id || a.container != tt.cont || a.follow != tt.follow || a.principal != tt.principal)) {
			t.Errorf("parseLogsArgs(%q) = %+v, %v", tt.args, a, ok)
		}
	}
}

func TestParseHistoryArgs(t *testing.T) {
	tests := []struct {
		args      []string
		ok        bool
		dir       string
		port      int
		bind      string
		retainApp int
	}{
		{[]string{}, true, "", 18080, "", 50},
		{[]string{"--dir", "hdfs:///events", "--port", "0", "--bind", "127.0.0.1"}, true, "hdfs:///events", 0, "127.0.0.1", 50},
		{[]string{"--conf", "spark.history.retainedApplications=3", "--conf", "spindle.history.fs.logDirectory=/e"}, true, "/e", 18080, "", 3},
		{[]string{"--conf", "novalue"}, false, "", 0, "", 0},
		{[]string{"stray"}, false, "", 0, "", 0},
	}
	for _, tt := range tests {
		a, err := parseHistoryArgs(tt.args, io.Discard)
		if (err == nil) != tt.ok {
			t.Errorf("parseHistoryArgs(%q): %v", tt.args, err)
			continue
		}
		if err != nil {
			continue
		}
		if got := a.conf.Get("spindle.history.fs.logDirectory"); got != tt.dir || a.conf.Int("spindle.history.ui.port") != tt.port ||
			a.bind != tt.bind || a.conf.Int("spindle.history.retainedApplications") != tt.retainApp {
			t.Errorf("parseHistoryArgs(%q): dir %q port %d bind %q retained %d", tt.args, got, a.conf.Int("spindle.history.ui.port"), a.bind,
				a.conf.Int("spindle.history.retainedApplications"))
		}
	}
}
