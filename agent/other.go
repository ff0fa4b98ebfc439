//go:build !linux && !darwin

package agent

import (
	"errors"
	"io/fs"
	"net"
	"runtime"
)

// Supported says whether this system has the agent. Elsewhere than Linux
// and macOS it is not offered: its one guard that matters, the peer's uid
// on every connection, has no equivalent here that rolevault checks.
const Supported = false

// UnsupportedReason is the one line commands print.
const UnsupportedReason = "the rolevault agent is not offered on " + runtime.GOOS + " (only on Linux and macOS, where the socket's peer can be checked)"

const (
	isLinux         = false
	cacheDirFromXDG = false
)

var errUnsupported = errors.New(UnsupportedReason)

func checkOwner(string, fs.FileInfo) error { return errUnsupported }

func checkSocketFile(string) error { return errUnsupported }

func peerUID(*net.UnixConn) (int, error) { return -1, errUnsupported }
