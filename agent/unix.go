//go:build linux || darwin

package agent

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// Supported says whether this system has the agent.
const Supported = true

// UnsupportedReason is empty where the agent is offered.
const UnsupportedReason = ""

// cacheDirFromXDG: os.UserCacheDir reads XDG_CACHE_HOME on Linux, not on macOS.
const cacheDirFromXDG = isLinux

func checkOwner(dir string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return &DirError{Dir: dir, Problem: "has no owner this system reports"}
	}
	if int(st.Uid) != os.Getuid() {
		return &DirError{Dir: dir, Problem: fmt.Sprintf("belongs to uid %d, not to you (uid %d)", st.Uid, os.Getuid())}
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return &DirError{Dir: dir, Problem: fmt.Sprintf("is open to others (mode %04o)", fi.Mode().Perm())}
	}
	return nil
}

// checkSocketFile refuses a socket file another user owns.
func checkSocketFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if fi.Mode()&fs.ModeSocket == 0 || !ok {
		return fmt.Errorf("%s is not a socket", path)
	}
	if int(st.Uid) != os.Getuid() {
		return fmt.Errorf("the agent's socket %s belongs to uid %d, not to you", path, st.Uid)
	}
	return nil
}
