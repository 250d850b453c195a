package main

import "syscall"

// driverProcAttr keeps the driver a child of submit's in life and death. Its own
// process group keeps a terminal's Ctrl-C to submit, which passes it on once as
// SIGTERM; the parent-death signal ends the driver (cleanly: it kills its
// application and removes its staging dir) when submit dies without a word, as
// under kill -9. The kernel sends it when the thread that started the child
// exits; Go ends threads only after LockOSThread, which nothing here uses.
func driverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
