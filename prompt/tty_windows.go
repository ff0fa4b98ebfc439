//go:build windows

package prompt

import (
	"os"
	"syscall"
)

// openDevice opens the console. CONIN$ and CONOUT$ name the console even when
// the standard handles are redirected, like /dev/tty on Unix. CONIN$ is opened
// read-write because changing its mode (hidden input) needs write access.
func openDevice() (*device, error) {
	in, err := os.OpenFile("CONIN$", os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	out, err := os.OpenFile("CONOUT$", os.O_RDWR, 0)
	if err != nil {
		in.Close()
		return nil, err
	}
	return &device{in: in, out: out}, nil
}

// promptSignals are the signals that end a prompt with the console restored.
var promptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}
