package yarn

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// testdata/hadoop341.* were written by Hadoop 3.4.1's own
// Credentials.writeTokenStorageFile (WRITABLE and PROTOBUF formats) with the
// tokens and secret below; our writer must reproduce them byte for byte.
func TestHadoopWrittenCredentials(t *testing.T) {
	big := make([]byte, 300)
	for i := range big {
		big[i] = byte(i)
	}
	for _, name := range []string{"hadoop341.writable", "hadoop341.protobuf"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			c, err := ReadCredentials(path)
			if err != nil {
				t.Fatal(err)
			}
			amrm := c.TokenOfKind("YARN_AM_RM_TOKEN")
			if amrm == nil || !bytes.Equal(amrm.Identifier, []byte{10, 6, 8, 1}) || !bytes.Equal(amrm.Password, []byte{1, 2, 3}) || amrm.Service != "" {
				t.Errorf("AMRM token %+v", amrm)
			}
			h := c.Tokens["hdfs"]
			if h == nil || !bytes.Equal(h.Identifier, big) || string(h.Password) != "pw" || h.Kind != "HDFS_DELEGATION_TOKEN" || h.Service != "127.0.0.1:8020" {
				t.Errorf("hdfs token %+v", h)
			}
			if string(c.Secrets["s"]) != "secret-bytes" || len(c.Tokens) != 2 || len(c.Secrets) != 1 {
				t.Errorf("credentials %+v", c)
			}
			var buf bytes.Buffer
			if filepath.Ext(name) == ".writable" {
				err = c.WriteWritable(&buf)
			} else {
				err = c.WriteProtobuf(&buf)
			}
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(path)
			if !bytes.Equal(buf.Bytes(), raw) {
				t.Errorf("our encoding differs from Hadoop's:\n got % x\nwant % x", buf.Bytes(), raw)
			}
		})
	}
}
