package shuffle

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spindle-engine/spindle/internal/nettest"
)

// TestReplayedFetchIsRefused records a real fetch's connection and replays its bytes
// later: the service's fresh nonce makes the recording worthless, and it answers
// with no shuffle data.
func TestReplayedFetchIsRefused(t *testing.T) {
	addr, dirs, _ := registered(t)
	proxy := nettest.NewTap(t, addr)
	a := NewFetcher("app-a", testSecrets["app-a"])
	rc, err := a.Open(context.Background(), proxy.Addr(), "exec-1", 3, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, rc)
	rc.Close()
	a.Close()
	recorded := proxy.FirstSent(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go conn.Write(recorded)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	answer, _ := io.ReadAll(conn)
	// The handshake's reply (flags, nonce, proof) and a refusal byte, then nothing.
	if len(answer) > 1+32+32+1 {
		t.Fatalf("a replayed fetch got %d bytes back", len(answer))
	}
	seg, _, err := OpenSegment(dirs, 3, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(seg)
	seg.Close()
	if len(data) < 64 || bytes.Contains(answer, data[:64]) {
		t.Fatal("the replay got shuffle data")
	}
}

// TestEncryptedFetchHidesTheData: with encryption on, a known marker in the map
// output never crosses the socket in clear; without, it does (so the tap sees).
func TestEncryptedFetchHidesTheData(t *testing.T) {
	addr := serve(t, testSecrets)
	dirs := []string{t.TempDir()}
	marker := "MARKER-" + strings.Repeat("spindle", 4)
	writeValues(t, dirs, 7, 0, marker, 2000)
	for _, encrypt := range []bool{false, true} {
		proxy := nettest.NewTap(t, addr)
		f := NewFetcher("app-a", testSecrets["app-a"], WithEncryption(encrypt))
		if err := f.RegisterExecutor(context.Background(), addr, "exec-1", dirs); err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open(context.Background(), proxy.Addr(), "exec-1", 7, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		values := decode(t, rc)
		f.Close()
		if len(values) != 2000 || !strings.Contains(values[0].v, marker) {
			t.Fatalf("encrypt=%v: read %d records", encrypt, len(values))
		}
		seen := proxy.Answered([]byte(marker))
		if seen == encrypt {
			t.Fatalf("encrypt=%v: the marker crossed the socket in clear: %v", encrypt, seen)
		}
	}
}

// writeValues writes one map output of one partition whose n values hold marker.
func writeValues(t *testing.T, dirs []string, shuffleID, mapID int, marker string, n int) {
	t.Helper()
	w, err := NewWriter(WriterConfig{Dirs: dirs, ShuffleID: shuffleID, MapID: mapID, NumPartitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.Write(0, fmt.Appendf(nil, "k%06d", i), []byte(marker+fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}
