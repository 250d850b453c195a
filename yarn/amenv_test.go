package yarn

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spindle-engine/spindle/ipc"
)

func TestAMContext(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "container_tokens")
	creds := NewCredentials()
	amrm := &ipc.Token{Identifier: []byte{1}, Password: []byte{2}, Kind: "YARN_AM_RM_TOKEN"}
	creds.Tokens[""] = amrm
	if err := os.WriteFile(tokFile, creds.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"CONTAINER_ID": "container_e03_1700000000000_0012_02_000001", "NM_HOST": "localhost",
		"NM_PORT": "4545", "NM_HTTP_PORT": "8042", "LOCAL_DIRS": "/a,/b", "LOG_DIRS": "/l",
		"HADOOP_TOKEN_FILE_LOCATION": tokFile, "USER": "alice",
	}
	e, err := amContextFrom(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Attempt.String(); got != "appattempt_1700000000000_0012_000002" {
		t.Errorf("attempt %s", got)
	}
	if e.Container.Epoch() != 3 || e.NMPort != 4545 || e.NMHTTPPort != 8042 || len(e.LocalDirs) != 2 || e.User != "alice" {
		t.Errorf("env parsed as %+v", e)
	}
	if e.AMRMToken == nil || !bytes.Equal(e.AMRMToken.Password, amrm.Password) {
		t.Errorf("AMRM token %+v", e.AMRMToken)
	}
}

func TestAMContextErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad_tokens")
	if err := os.WriteFile(bad, []byte("HDTS\x00\x05"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no container", map[string]string{}, "CONTAINER_ID"},
		{"bad container", map[string]string{"CONTAINER_ID": "container_x"}, "CONTAINER_ID"},
		{"bad port", map[string]string{"CONTAINER_ID": "container_1_0001_01_000001", "NM_PORT": "x"}, "NM_PORT"},
		{"corrupt tokens", map[string]string{"CONTAINER_ID": "container_1_0001_01_000001", "HADOOP_TOKEN_FILE_LOCATION": bad}, bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := amContextFrom(func(k string) string { return tt.env[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want mention of %q", err, tt.want)
			}
		})
	}
}
