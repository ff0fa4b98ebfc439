package prompt

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Process is the source for a profile's mfa_process: a command line run by
// the shell (sh -c; cmd /C on Windows), as aws-vault runs it, whose trimmed
// stdout is the code. env is its environment; nil means the process's.
func Process(command string, env []string) Source {
	return processSource(command, Options{Env: env}.system())
}

func processSource(command string, sys system) Source {
	return oneShot("mfa_process", func(ctx context.Context, _ string) (string, error) {
		cmd := shellCommand(ctx, command, sys.env)
		cmd.Env = sys.env
		res, err := sys.runAttached(ctx, cmd)
		if err != nil {
			return "", programError(fmt.Sprintf("mfa_process %q", command), res, err)
		}
		return strings.TrimSpace(res.stdout), nil
	})
}

// runAttached runs a program that may need the person: stdin and stderr on
// the terminal device, when there is one, so a YubiKey's "Touch your key"
// shows and a password manager can ask to be unlocked, even when rolevault's
// own stdin and stderr are pipes. It holds the terminal for the duration so
// no other prompt talks over it. Without a terminal, stderr is shown on
// sys.stderr and kept for the error message.
func (s system) runAttached(ctx context.Context, cmd *exec.Cmd) (programResult, error) {
	// A device of its own: handing a file to a child makes its descriptor
	// blocking, which would break cancellation for any later prompt.
	d, err := s.open()
	if err != nil {
		return runProgram(ctx, cmd, s.stderr)
	}
	defer d.Close()
	unlock, err := lockTTY(ctx)
	if err != nil {
		return programResult{}, err
	}
	defer unlock()
	cmd.Stdin, cmd.Stderr = d.in, d.out
	return runProgram(ctx, cmd, nil)
}
