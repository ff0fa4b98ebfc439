//go:build windows

package prompt

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
)

// shellCommand runs command with cmd.exe. The command line is written out
// whole: Go's usual argument quoting is for programs that parse argv the C
// way, and cmd.exe does not, so quotes inside command would be mangled.
// /d skips AutoRun scripts, which could print to stdout and spoil the code;
// /s with the outer quotes makes cmd.exe keep command's own quotes as typed.
func shellCommand(ctx context.Context, command string, env environ) *exec.Cmd {
	shell := env.get("ComSpec")
	if root := env.get("SystemRoot"); shell == "" && root != "" {
		shell = filepath.Join(root, "System32", "cmd.exe")
	}
	if shell == "" {
		shell = "cmd.exe"
	}
	cmd := exec.CommandContext(ctx, shell)
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: `"` + shell + `" /d /s /c "` + command + `"`}
	return cmd
}
