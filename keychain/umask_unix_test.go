//go:build unix

package keychain

import "syscall"

func umask(m int) int { return syscall.Umask(m) }

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }
