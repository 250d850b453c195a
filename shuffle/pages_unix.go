//go:build linux || darwin || freebsd || netbsd || openbsd

package shuffle

import "syscall"

// allocPage returns n bytes of zeroed memory outside the Go heap: buffered records
// are accounted to the byte by the memory manager, so they must not also wait for
// the garbage collector to be returned (a heap arena holding a spill's worth of
// records lets garbage grow as large again before a collection).
func allocPage(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		// Out of address space or a refused mapping: the heap still works, and the
		// garbage collector frees it.
		return make([]byte, n)
	}
	return b
}

// freePage returns memory from allocPage. A page from the heap fallback is left to
// the garbage collector.
func freePage(b []byte) {
	if len(b) == 0 {
		return
	}
	if err := syscall.Munmap(b); err != nil {
		return // a heap page: munmap refuses it, which is harmless
	}
}
