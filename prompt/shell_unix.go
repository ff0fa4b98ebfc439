//go:build !windows

package prompt

import (
	"context"
	"os/exec"
)

// shellCommand runs command with /bin/sh by absolute path, as aws-vault
// does, so PATH cannot swap the shell.
func shellCommand(ctx context.Context, command string, _ environ) *exec.Cmd {
	return exec.CommandContext(ctx, "/bin/sh", "-c", command)
}
