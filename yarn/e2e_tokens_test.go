package yarn

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/spindle-engine/spindle/integration/cluster"
	"github.com/spindle-engine/spindle/ipc"
)

// hadoopLines renders credentials the way the harness's read-tokens does.
func hadoopLines(c *Credentials) []string {
	b64 := base64.StdEncoding.EncodeToString
	var out []string
	for alias, t := range c.Tokens {
		out = append(out, strings.Join([]string{"token", alias, t.Kind, t.Service, b64(t.Identifier), b64(t.Password)}, " "))
	}
	for alias, v := range c.Secrets {
		out = append(out, "secret "+alias+" "+b64(v))
	}
	sort.Strings(out)
	return out
}

// Token files round-trip with Hadoop's own Credentials class: we read what
// it writes in both layouts, and it reads what we write in both layouts.
func TestE2ECredentialsWithHadoop(t *testing.T) {
	cluster.FromEnv(t)
	ctx := e2eCtx(t)
	dir := t.TempDir()
	for _, format := range []string{"writable", "protobuf"} {
		t.Run("hadoop writes "+format, func(t *testing.T) {
			path := filepath.Join(dir, "hadoop."+format)
			if out, err := cluster.HarnessCommand(ctx, "write-tokens", "--out", path, "--format", format).CombinedOutput(); err != nil {
				t.Fatalf("write-tokens: %v\n%s", err, out)
			}
			c, err := ReadCredentials(path)
			if err != nil {
				t.Fatal(err)
			}
			amrm := c.TokenOfKind("YARN_AM_RM_TOKEN")
			if amrm == nil || !bytes.Equal(amrm.Password, []byte{1, 2, 3, 4}) || amrm.Service != "rm:8030" {
				t.Errorf("AMRM token %+v", amrm)
			}
			if h := c.Tokens["hdfs"]; h == nil || string(h.Identifier) != "hdfs-identifier" || h.Kind != "HDFS_DELEGATION_TOKEN" {
				t.Errorf("hdfs token %+v", h)
			}
			if string(c.Secrets["spindle.secret"]) != "s3cr3t" {
				t.Errorf("secrets %q", c.Secrets)
			}
			// Our encoding of what we read equals Hadoop's file.
			var buf bytes.Buffer
			if format == "writable" {
				err = c.WriteWritable(&buf)
			} else {
				err = c.WriteProtobuf(&buf)
			}
			raw, _ := os.ReadFile(path)
			if err != nil || !bytes.Equal(buf.Bytes(), raw) {
				t.Errorf("re-encoding differs from Hadoop's (%v):\n got % x\nwant % x", err, buf.Bytes(), raw)
			}
		})
	}
	ours := NewCredentials()
	ours.Tokens[""] = &ipc.Token{Identifier: []byte{10, 6, 8, 1}, Password: bytes.Repeat([]byte{7}, 200), Kind: "YARN_AM_RM_TOKEN"}
	ours.Tokens["hdfs"] = &ipc.Token{Identifier: []byte("id"), Password: []byte("pw"), Kind: "HDFS_DELEGATION_TOKEN", Service: "ha-hdfs:ns1"}
	ours.Secrets["spindle.secret"] = []byte("s3cr3t")
	ours.Secrets["empty"] = []byte{}
	for _, format := range []string{"writable", "protobuf"} {
		t.Run("hadoop reads "+format, func(t *testing.T) {
			var buf bytes.Buffer
			var err error
			if format == "writable" {
				err = ours.WriteWritable(&buf)
			} else {
				err = ours.WriteProtobuf(&buf)
			}
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "ours."+format)
			if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := cluster.HarnessCommand(ctx, "read-tokens", "--in", path).Output()
			if err != nil {
				t.Fatalf("read-tokens: %v", err)
			}
			got := strings.Split(strings.TrimSpace(string(out)), "\n")
			if want := hadoopLines(ours); !reflect.DeepEqual(got, want) {
				t.Errorf("Hadoop read:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
