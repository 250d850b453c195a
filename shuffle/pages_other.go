//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package shuffle

// allocPage returns n bytes of zeroed memory; without mmap it comes from the heap.
func allocPage(n int) []byte { return make([]byte, n) }

// freePage leaves a heap page to the garbage collector.
func freePage([]byte) {}
