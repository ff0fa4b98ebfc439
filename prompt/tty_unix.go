//go:build !windows

package prompt

import (
	"os"
	"syscall"
)

// openDevice opens the controlling terminal. /dev/tty is the terminal even
// when stdin, stdout and stderr are pipes, as they are for a credential_process
// run by botocore, so the prompt reaches the person and never the JSON reader.
func openDevice() (*device, error) {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &device{in: f, out: f}, nil
}

// promptSignals are the signals that end a prompt with the terminal restored
// instead of killing the process with echo off: Ctrl-C (when the terminal
// sends it as a signal), kill, a closed terminal window, Ctrl-\.
var promptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}
