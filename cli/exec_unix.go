//go:build !windows

package cli

import (
	"os"
	"os/exec"
	"syscall"
)

// canExecInPlace: Unix can replace rolevault with the child (execve), so the
// child's exit code and signals need no forwarding.
const canExecInPlace = true

// forwardedSignals are passed on to a child rolevault waits for.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// exitStatus turns a child's end into a shell-style exit code: its status, or
// 128 + the signal that killed it.
func exitStatus(ee *exec.ExitError) int {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}
