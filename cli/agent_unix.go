//go:build !windows

package cli

import "syscall"

// detachAttr makes the agent its own session, so the terminal's hang-up and
// job control signals do not reach it.
func detachAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

func umask(m int) int { return syscall.Umask(m) }
