//go:build !linux

package main

import "syscall"

// driverProcAttr puts the driver in its own process group; this system has no
// parent-death signal, so a driver outlives a submit killed with SIGKILL.
func driverProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
