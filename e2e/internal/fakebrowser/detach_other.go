//go:build !unix

package main

import (
	"os"
	"os/exec"
)

// detach runs the browsing in a child process and returns without waiting;
// without Unix sessions the child simply outlives this process.
func detach(target string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, target)
	cmd.Env = append(os.Environ(), "FAKEBROWSER_CHILD=1")
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}
