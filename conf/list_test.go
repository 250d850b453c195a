package conf

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's configuration table from the keys")

// The README's configuration table lies between these lines.
const (
	tableBegin = "<!-- conf table: generated from conf/keys.go; `go test ./conf/ -run TestREADMEConfTable -update` rewrites it -->\n"
	tableEnd   = "<!-- end of conf table -->\n"
)

// TestREADMEConfTable checks that the README's table lists every key with the
// default, Spark name and meaning `spindle conf` prints, so that the two never drift.
func TestREADMEConfTable(t *testing.T) {
	const path = "../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin := bytes.Index(readme, []byte(tableBegin))
	end := bytes.Index(readme, []byte(tableEnd))
	if begin < 0 || end < begin {
		t.Fatalf("%s has no configuration table between %q and %q", path, tableBegin, tableEnd)
	}
	var want bytes.Buffer
	if err := WriteMarkdown(&want, Listed()); err != nil {
		t.Fatal(err)
	}
	got := readme[begin+len(tableBegin) : end]
	if bytes.Equal(got, want.Bytes()) {
		return
	}
	if *update {
		out := append(append(append([]byte(nil), readme[:begin+len(tableBegin)]...), want.Bytes()...), readme[end:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	gotRows, wantRows := strings.Split(string(got), "\n"), strings.Split(want.String(), "\n")
	for i := range max(len(gotRows), len(wantRows)) {
		g, w := "", ""
		if i < len(gotRows) {
			g = gotRows[i]
		}
		if i < len(wantRows) {
			w = wantRows[i]
		}
		if g != w {
			t.Fatalf("%s's configuration table differs from conf/keys.go at row %d:\n README: %s\n keys:   %s\nRun: go test ./conf/ -run TestREADMEConfTable -update", path, i+1, g, w)
		}
	}
}

func TestDefaultTextAndMeaning(t *testing.T) {
	for _, tt := range []struct {
		k                  Key
		wantDef, wantMeans string
	}{
		{Key{Default: "1g", Doc: "memory per executor"}, "1g", "memory per executor"},
		{Key{Doc: "extra memory; unset means max(384m, 10% of executor memory)"}, "max(384m, 10% of executor memory)", "extra memory"},
		{Key{Doc: "attempts; unset means YARN's maximum. Only AM failures count"}, "YARN's maximum", "attempts. Only AM failures count"},
		{Key{Doc: "Kerberos principal to log in as"}, "unset", "Kerberos principal to log in as"},
		{Key{Default: "3", Doc: "retries; unset means never"}, "3", "retries; unset means never"},
	} {
		if got := tt.k.DefaultText(); got != tt.wantDef {
			t.Errorf("DefaultText(%q) = %q, want %q", tt.k.Doc, got, tt.wantDef)
		}
		if got := tt.k.Meaning(); got != tt.wantMeans {
			t.Errorf("Meaning(%q) = %q, want %q", tt.k.Doc, got, tt.wantMeans)
		}
	}
}

// TestListedKeys checks that every key is listed, but the test-only ones, each with
// a meaning.
func TestListedKeys(t *testing.T) {
	listed := map[string]bool{}
	for _, k := range Listed() {
		listed[k.Name] = true
		if k.Meaning() == "" {
			t.Errorf("%s has no meaning", k.Name)
		}
	}
	for _, k := range Keys() {
		if want := !strings.HasPrefix(k.Name, testingPrefix); listed[k.Name] != want {
			t.Errorf("%s listed = %v, want %v", k.Name, listed[k.Name], want)
		}
	}
	for _, name := range []string{"spindle.yarn.maxAppAttempts", "spindle.yarn.submit.waitAppCompletion", "spindle.files.maxPartitionBytes", "spindle.yarn.am.memory"} {
		if !listed[name] {
			t.Errorf("%s is not listed", name)
		}
	}
}
