//go:build unix

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// detach runs the browsing in a child of its own session with no terminal
// and no inherited output, and returns without waiting, as xdg-open hands
// the URL to an already running browser.
func detach(target string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, target)
	cmd.Env = append(os.Environ(), "FAKEBROWSER_CHILD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}
