// Where the socket is, and the checks that it is this user's alone.

package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// SockEnv names the socket, as SSH_AUTH_SOCK does ssh-agent's.
const SockEnv = "ROLEVAULT_AGENT_SOCK"

// SwitchEnv set to "off" makes every run use the keyring directly.
const SwitchEnv = "ROLEVAULT_AGENT"

// SocketPath is $ROLEVAULT_AGENT_SOCK, else $XDG_RUNTIME_DIR/rolevault/agent.sock,
// else agent.sock in rolevault's folder of the user cache directory — fixed
// per user, so an agent a systemd user unit or launchd started is found
// without any variable.
func SocketPath(lookupEnv func(string) (string, bool)) (string, error) {
	if v, ok := lookupEnv(SockEnv); ok && v != "" {
		return v, nil
	}
	if v, ok := lookupEnv("XDG_RUNTIME_DIR"); ok && v != "" && filepath.IsAbs(v) {
		return filepath.Join(v, "rolevault", "agent.sock"), nil
	}
	dir, err := userCacheDir(lookupEnv)
	if err != nil {
		return "", fmt.Errorf("finding a place for the agent's socket: %w", err)
	}
	return filepath.Join(dir, "rolevault", "agent.sock"), nil
}

// userCacheDir is os.UserCacheDir read through lookupEnv where it reads
// variables (XDG_CACHE_HOME, HOME), so tests see what a run sees.
func userCacheDir(lookupEnv func(string) (string, bool)) (string, error) {
	if v, ok := lookupEnv("XDG_CACHE_HOME"); ok && v != "" && filepath.IsAbs(v) && cacheDirFromXDG {
		return v, nil
	}
	return os.UserCacheDir()
}

// DirError is a socket directory that is not private to this user.
type DirError struct {
	Dir, Problem string
}

func (e *DirError) Error() string {
	return fmt.Sprintf("the agent's socket directory %s %s", e.Dir, e.Problem)
}

// Hint says what to do.
func (e *DirError) Hint() string {
	return fmt.Sprintf("Make it yours and private (chmod 700 %s), or set %s to a socket in a directory only you can open.", e.Dir, SockEnv)
}

// PrepareDir makes the socket's directory (0700) and checks it.
func PrepareDir(sock string) error {
	dir := filepath.Dir(sock)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the agent's socket directory: %w", err)
	}
	return CheckDir(dir)
}

// CheckDir refuses a socket directory that another user owns or that others
// may enter: whoever can, can replace the socket with their own and be handed
// the file passphrase.
func CheckDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return err
		}
		return fmt.Errorf("the agent's socket directory: %w", err)
	}
	if !fi.IsDir() {
		return &DirError{Dir: dir, Problem: "is not a directory"}
	}
	return checkOwner(dir, fi)
}
