package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"golang.org/x/term"
)

// errNoTerminal means there is no terminal device to ask on: rolevault is run
// by a program (credential_process, CI) rather than a person.
var errNoTerminal = errors.New("no terminal to ask on")

// terminal is the controlling terminal device, opened directly so prompts
// work, and stay off stdout, even when stdin and stdout are pipes.
type terminal struct {
	in, out *os.File
}

// openTerminal opens /dev/tty (CONIN$/CONOUT$ on Windows). The error wraps
// errNoTerminal when the process has no terminal.
func openTerminal() (*terminal, error) {
	if runtime.GOOS == "windows" {
		in, err := os.OpenFile("CONIN$", os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errNoTerminal, err)
		}
		out, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0)
		if err != nil {
			in.Close()
			return nil, fmt.Errorf("%w: %v", errNoTerminal, err)
		}
		return &terminal{in: in, out: out}, nil
	}
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoTerminal, err)
	}
	return &terminal{in: f, out: f}, nil
}

func (t *terminal) Close() {
	t.in.Close()
	if t.out != t.in {
		t.out.Close()
	}
}

// ReadSecret prints label and reads a line without echoing it.
func (t *terminal) ReadSecret(label string) (string, error) {
	fmt.Fprint(t.out, label)
	b, err := term.ReadPassword(int(t.in.Fd()))
	fmt.Fprintln(t.out)
	if err != nil {
		return "", fmt.Errorf("reading from the terminal: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ReadLine prints label and reads a visible line. It reads byte by byte so
// nothing typed after the newline is swallowed from a later prompt.
func (t *terminal) ReadLine(label string) (string, error) {
	fmt.Fprint(t.out, label)
	var line []byte
	buf := make([]byte, 1)
	for {
		n, err := t.in.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				break
			}
			line = append(line, buf[0])
		}
		if err == io.EOF {
			if len(line) == 0 {
				return "", fmt.Errorf("reading from the terminal: %w", io.ErrUnexpectedEOF)
			}
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading from the terminal: %w", err)
		}
	}
	return strings.TrimSpace(string(line)), nil
}

// Printf writes a message to the terminal, never to stdout.
func (t *terminal) Printf(format string, args ...any) {
	fmt.Fprintf(t.out, format, args...)
}
