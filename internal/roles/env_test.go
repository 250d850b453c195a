package roles

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/spindle-engine/spindle/conf"
	"github.com/spindle-engine/spindle/deploy"
)

// TestContainerLoggerLeavesZerologAlone checks the containers' JSON lines: the
// fields, the level from the configuration and the environment, and an RFC 3339
// time with nanoseconds, without changing zerolog's process-wide settings.
func TestContainerLoggerLeavesZerologAlone(t *testing.T) {
	before := zerolog.TimeFieldFormat
	c := conf.New()
	if err := c.Set("spindle.log.level", "warn"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, envLevel string
		wantInfo       bool
	}{
		{"configured warn drops info", "", false},
		{"SPINDLE_LOG_LEVEL wins", "debug", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(deploy.EnvLogLevel, tt.envLevel)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			stderr := os.Stderr
			os.Stderr = w
			log := containerLogger(c, map[string]string{"role": "executor", "executor": "3"})
			os.Stderr = stderr
			log.Info().Msg("info line")
			log.Warn().Msg("warn line")
			w.Close()
			var out bytes.Buffer
			out.ReadFrom(r)
			lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
			if want := map[bool]int{true: 2, false: 1}[tt.wantInfo]; len(lines) != want {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), want, out.String())
			}
			var rec map[string]string
			if err := json.Unmarshal(lines[len(lines)-1], &rec); err != nil {
				t.Fatalf("not a JSON line: %s", lines[len(lines)-1])
			}
			ts, err := time.Parse(time.RFC3339Nano, rec["time"])
			if err != nil || rec["role"] != "executor" || rec["executor"] != "3" || rec["message"] != "warn line" {
				t.Fatalf("line %v (time: %v)", rec, err)
			}
			if d := time.Since(ts); d < 0 || d > time.Minute {
				t.Fatalf("time %s is not this line's", rec["time"])
			}
		})
	}
	if zerolog.TimeFieldFormat != before {
		t.Fatalf("zerolog.TimeFieldFormat changed to %q", zerolog.TimeFieldFormat)
	}
}

// TestConsoleLoggerColoursOnlyTerminals: a person reading a file or a pipe gets no
// ANSI escapes; a terminal gets colours.
func TestConsoleLoggerColoursOnlyTerminals(t *testing.T) {
	t.Setenv(deploy.EnvLogLevel, "")
	for _, tt := range []struct {
		name     string
		terminal bool
		escapes  bool
	}{
		{"file or pipe", false, false},
		{"terminal", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			log := newConsoleLogger(&b, tt.terminal, "")
			log.Info().Msg("hidden at the default warn level")
			log.Warn().Msg("unknown configuration key x")
			out := b.String()
			if got := strings.Contains(out, "\x1b["); got != tt.escapes {
				t.Fatalf("escapes = %v, want %v: %q", got, tt.escapes, out)
			}
			if strings.Count(out, "\n") != 1 || !strings.Contains(out, "WRN") || !strings.Contains(out, "unknown configuration key x") {
				t.Fatalf("want one WRN line, got %q", out)
			}
		})
	}
}

// TestConfFromEnvLeavesUnknownKeysToSubmit: `spindle submit` warns about an
// unknown key; the driver it starts keeps the key and does not warn again.
func TestConfFromEnvLeavesUnknownKeysToSubmit(t *testing.T) {
	t.Setenv(deploy.EnvConf, `{"spindle.executor.memroy":"2g","spindle.task.maxFailures":"2"}`)
	t.Setenv(deploy.EnvLogLevel, "")
	var b bytes.Buffer
	c, err := confFromEnv(newConsoleLogger(&b, false, ""))
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 {
		t.Fatalf("the driver logged %q; spindle submit warns about unknown keys", b.String())
	}
	if c.Get("spindle.executor.memroy") != "2g" || c.Int("spindle.task.maxFailures") != 2 {
		t.Fatalf("conf = %v", c.Explicit())
	}
	t.Setenv(deploy.EnvConf, `{"spindle.task.maxFailures":"many"}`)
	if _, err := confFromEnv(newConsoleLogger(&b, false, "")); err == nil || !strings.Contains(err.Error(), "spindle.task.maxFailures") {
		t.Fatalf("a bad value: %v, want an error naming the key", err)
	}
}
