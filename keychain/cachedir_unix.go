//go:build unix

package keychain

import (
	"fmt"
	"os"
	"syscall"
)

// unsafeDir says why a directory is not private to this user, or "".
func unsafeDir(fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Sprintf("is owned by uid %d, not by you (uid %d)", st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Sprintf("is writable by other users (mode %s)", modeString(fi.Mode()))
	}
	return ""
}

// modeString is the octal mode as chmod takes it, sticky bit included.
func modeString(m os.FileMode) string {
	n := uint32(m.Perm())
	if m&os.ModeSticky != 0 {
		n |= 0o1000
	}
	if m&os.ModeSetgid != 0 {
		n |= 0o2000
	}
	if m&os.ModeSetuid != 0 {
		n |= 0o4000
	}
	return fmt.Sprintf("%04o", n)
}
