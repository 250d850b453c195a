package secure

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/hdfs"
)

// tap records every byte of the connections it dials, both ways, by address.
type tap struct {
	mu    sync.Mutex
	conns []*tapped
}

type tapped struct {
	addr    string
	mu      sync.Mutex
	written bytes.Buffer
	read    bytes.Buffer
	net.Conn
}

func (c *tapped) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.mu.Lock()
	c.written.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *tapped) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.read.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (tp *tap) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c := &tapped{addr: addr, Conn: nc}
	tp.mu.Lock()
	tp.conns = append(tp.conns, c)
	tp.mu.Unlock()
	return c, nil
}

// TestWirePrivacy: with hadoop.rpc.protection=privacy and
// dfs.data.transfer.protection=privacy, a plain-text marker written to HDFS, in a
// file's name (which crosses the NameNode socket) and in its content (which crosses
// the DataNodes'), appears in none of the bytes on those sockets, either way, while
// the file reads back intact.
func TestWirePrivacy(t *testing.T) {
	e := setup(t)
	raw := make([]byte, 12)
	rand.Read(raw)
	marker := "SPINDLE-PLAINTEXT-MARKER-" + hex.EncodeToString(raw)
	content := []byte(strings.Repeat(marker+"\n", 2000))
	tp := &tap{}
	o, err := hdfs.OptionsFrom(e.hadoop, e.login.ShortName())
	if err != nil {
		t.Fatal(err)
	}
	o.Kerberos, o.Dial = e.login.Client(), tp.dial
	fss := hdfs.NewFileSystems(o)
	defer fss.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := e.path(t, marker+".txt")
	fsys, p, err := fss.Resolve(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	w, err := fsys.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := fsys.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read back %d bytes (%v), want %d", len(got), err, len(content))
	}
	if _, err := fsys.Stat(ctx, p); err != nil {
		t.Fatal(err)
	}
	tp.mu.Lock()
	conns := append([]*tapped(nil), tp.conns...)
	tp.mu.Unlock()
	nn, dn := 0, 0
	for _, c := range conns {
		c.mu.Lock()
		w, r := c.written.Bytes(), c.read.Bytes()
		if c.addr == e.c.Info.NN || strings.HasSuffix(e.c.Info.DefaultFS, c.addr) {
			nn++
		} else {
			dn++
		}
		for dir, b := range map[string][]byte{"sent to": w, "received from": r} {
			if len(b) == 0 && dir == "sent to" {
				t.Errorf("nothing %s %s: the tap saw no traffic", dir, c.addr)
			}
			if bytes.Contains(b, []byte(marker)) || bytes.Contains(b, []byte("PLAINTEXT-MARKER")) {
				t.Errorf("the marker crossed the socket to %s in clear (%s it)", c.addr, dir)
			}
		}
		c.mu.Unlock()
	}
	if nn == 0 || dn == 0 {
		t.Fatalf("tapped %d NameNode and %d DataNode connections; want both", nn, dn)
	}
	t.Logf("%d NameNode and %d DataNode connections carried no plaintext", nn, dn)
}
