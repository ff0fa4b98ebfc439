//go:build windows

package cli

import (
	"os"
	"os/exec"
)

// canExecInPlace: Windows has no execve; rolevault waits for the child.
const canExecInPlace = false

var forwardedSignals = []os.Signal{os.Interrupt}

func exitStatus(ee *exec.ExitError) int { return ee.ExitCode() }
