//go:build unix

package vault

import "syscall"

func umask(m int) int { return syscall.Umask(m) }

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }
