package shuffle

import (
	"context"
	"io"
	"testing"
)

// BenchmarkFetchCrypto measures what encryption (spindle.network.crypto.enabled)
// costs on the fetch path: one reducer streaming a 64 MiB segment from a service
// over loopback, in clear and encrypted. Compare the two MB/s figures.
func BenchmarkFetchCrypto(b *testing.B) {
	addr := serve(b, testSecrets)
	dirs := []string{b.TempDir()}
	sizes := writeMapOutput(b, dirs, 1, 0, 1, 1, 64<<10, 1000) // ~64 MiB in one segment
	f := NewFetcher("app-a", testSecrets["app-a"])
	if err := f.RegisterExecutor(context.Background(), addr, "exec-1", dirs); err != nil {
		b.Fatal(err)
	}
	f.Close()
	for _, tt := range []struct {
		name    string
		encrypt bool
	}{{"clear", false}, {"encrypted", true}} {
		b.Run(tt.name, func(b *testing.B) {
			f := NewFetcher("app-a", testSecrets["app-a"], WithEncryption(tt.encrypt))
			defer f.Close()
			b.SetBytes(sizes[0])
			for b.Loop() {
				rc, err := f.Open(context.Background(), addr, "exec-1", 1, 0, 0)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
	}
}
