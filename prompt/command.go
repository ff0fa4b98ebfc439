package prompt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// environ is an environment in os.Environ form. Sources read their settings
// and PATH from it rather than from the process, so tests can give them a
// PATH of fake programs.
type environ []string

// get returns the last value of key, as exec does when a key repeats.
// Windows keys are case-insensitive.
func (e environ) get(key string) string {
	for i := len(e) - 1; i >= 0; i-- {
		k, v, ok := strings.Cut(e[i], "=")
		if !ok {
			continue
		}
		if k == key || (runtime.GOOS == "windows" && strings.EqualFold(k, key)) {
			return v
		}
	}
	return ""
}

// lookPath finds name in env's PATH. Each candidate goes through
// exec.LookPath, which checks that it is an executable file (and tries
// PATHEXT on Windows). Empty and relative PATH entries are skipped: they
// resolve against the working directory, where a checked-out repository
// could plant a "zenity" (the trap exec.ErrDot exists for).
func lookPath(name string, env environ) (string, error) {
	for _, dir := range filepath.SplitList(env.get("PATH")) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, exec.ErrNotFound)
}

// Bounds on what a program may print: a code is six digits, so a megabyte
// of output is a misconfigured command, not a code.
const (
	maxStdout     = 4096
	maxStderrTail = 2048
)

// programResult is what a finished program left behind.
type programResult struct {
	stdout     string
	stderr     string // the last maxStderrTail bytes, for error messages
	onTerminal bool   // stderr went straight to the terminal, uncaptured
}

// runProgram runs cmd with stdout captured, so the program can never write
// to rolevault's stdout. A cmd.Stderr set by the caller is the terminal and
// is left alone: the person sees the program's messages, and the program
// sees a terminal (some only prompt when stderr is one). Otherwise stderr is
// kept for the error message and, when show is set, shown there as it comes.
func runProgram(ctx context.Context, cmd *exec.Cmd, show io.Writer) (programResult, error) {
	stdout := &cappedBuffer{max: maxStdout}
	tail := &tailBuffer{max: maxStderrTail}
	cmd.Stdout = stdout
	onTerminal := cmd.Stderr != nil
	switch {
	case onTerminal:
	case show != nil:
		cmd.Stderr = io.MultiWriter(ignoreErrors{show}, tail)
	default:
		cmd.Stderr = tail
	}
	// After a cancel kills the program, a child it started (sh -c "op …")
	// may still hold the pipes; without a delay Wait would wait for it.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		// It exited 0; only something it left running (an agent it
		// started) still holds the pipes. What it printed is complete.
		err = nil
	}
	res := programResult{stdout: stdout.String(), stderr: tail.String(), onTerminal: onTerminal}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return res, ctxErr
	}
	if err == nil && stdout.overflow {
		return res, fmt.Errorf("printed more than %d bytes; expected a 6-digit code", maxStdout)
	}
	return res, err
}

// programError describes a failed run on one line: what failed, how (exit
// status), and the end of what it said on stderr.
func programError(what string, res programResult, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if msg := oneLine(res.stderr); msg != "" {
		return fmt.Errorf("%s failed (%w): %s", what, err, msg)
	}
	if res.onTerminal {
		return fmt.Errorf("%s failed (%w); its messages are on the terminal above", what, err)
	}
	return fmt.Errorf("%s failed: %w", what, err)
}

func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " | ")
}

// lastField is the last word of the last non-empty line: the code in
// "123456" and in "Amazon Web Services:alice  123456" alike.
func lastField(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

type cappedBuffer struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); len(p) > room {
		c.overflow = true
		c.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return c.buf.Write(p)
}

func (c *cappedBuffer) String() string { return c.buf.String() }

type tailBuffer struct {
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }

// ignoreErrors keeps a failing live view (a terminal that went away) from
// failing the program whose output it shows.
type ignoreErrors struct{ w io.Writer }

func (i ignoreErrors) Write(p []byte) (int, error) {
	i.w.Write(p)
	return len(p), nil
}
