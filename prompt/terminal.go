package prompt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
)

// device is the terminal: one file on Unix (/dev/tty), two on Windows
// (CONIN$ and CONOUT$).
type device struct {
	in, out *os.File
}

func (d *device) Close() error {
	err := d.in.Close()
	if d.out != d.in {
		if cerr := d.out.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// ttyLock lets one prompt at a time use the terminal. There is one terminal
// per process however many sources exist, and two prompts reading it at once
// would each get half of what the person types.
var ttyLock = make(chan struct{}, 1)

func lockTTY(ctx context.Context) (unlock func(), err error) {
	select {
	case ttyLock <- struct{}{}:
		return func() { <-ttyLock }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// errEndOfInput is Ctrl-D on an empty line, or a closed terminal.
var errEndOfInput = fmt.Errorf("%w: end of input", ErrCanceled)

// maxInput bounds what a prompt accepts, so a stuck key or a pasted file
// cannot grow memory without end.
const maxInput = 4096

// TerminalAvailable reports whether the terminal device can be opened: false
// without a controlling terminal (a daemon, CI, a setsid'd child) or console.
func TerminalAvailable() bool {
	d, err := openDevice()
	if err != nil {
		return false
	}
	d.Close()
	return true
}

// Terminal asks for codes on the terminal device, not on stdin and stdout,
// so it works under credential_process where both are pipes. Input is
// visible: an MFA code is useless a minute later, and seeing it avoids typos.
func Terminal() Source { return terminalSource(openDevice) }

func terminalSource(open func() (*device, error)) Source {
	return interactive("terminal", func(ctx context.Context, mfaSerial, note string) (string, error) {
		label := fmt.Sprintf("Enter MFA code for %s: ", mfaSerial)
		if note != "" {
			label = note + "\n" + label
		}
		return withTerminal(ctx, open, "the MFA code for "+mfaSerial, label, readVisible)
	})
}

// ReadSecret asks on the terminal device for a secret without echoing it;
// ReadSecretFor names what is asked for in the error an interruption gives.
func ReadSecret(label string) (string, error) { return ReadSecretFor("a secret", label) }

// ReadSecretFor asks on the terminal device for what (a keyring passphrase,
// a secret access key) without echoing it. Ctrl-C, SIGTERM, SIGHUP and
// SIGQUIT return an *InterruptedError naming what, with the terminal
// restored. The answer is not trimmed: spaces may belong to a passphrase.
func ReadSecretFor(what, label string) (string, error) {
	return withTerminal(context.Background(), openDevice, what, label, readHidden)
}

// ReadLine asks on the terminal device for one visible line; ReadLineFor
// names what is asked for in the error an interruption gives.
func ReadLine(label string) (string, error) { return ReadLineFor("a line of input", label) }

// ReadLineFor asks on the terminal device for what, as one visible line,
// and returns it with surrounding space trimmed.
func ReadLineFor(what, label string) (string, error) {
	s, err := withTerminal(context.Background(), openDevice, what, label, readVisible)
	return strings.TrimSpace(s), err
}

// Confirm asks a yes/no question on the terminal device. Only "y" or "yes"
// (any case) is yes: a stray Enter must not delete anything.
func Confirm(label string) (bool, error) {
	s, err := ReadLineFor("a yes/no answer", label+" [y/N] ")
	if err != nil {
		return false, err
	}
	switch strings.ToLower(s) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// withTerminal runs one prompt for what on the terminal device. From before
// the terminal is touched until it is restored, the signals that would kill
// the process (promptSignals) are caught instead: they end the prompt, the
// terminal gets its settings back, and the caller gets an *InterruptedError
// to report and exit on.
func withTerminal(ctx context.Context, open func() (*device, error), what, label string,
	read func(ctx context.Context, d *device, label string) (string, error)) (string, error) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, promptSignals...)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case s := <-sigs:
			cancel(&InterruptedError{What: what, Signal: s})
		case <-stop:
		}
	}()
	unlock, err := lockTTY(ctx)
	if err != nil {
		return "", interruptedBy(ctx, what, err)
	}
	defer unlock()
	d, err := open()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoTerminal, err)
	}
	defer d.Close()
	s, err := read(ctx, d, label)
	if err != nil {
		return "", interruptedBy(ctx, what, err)
	}
	return s, nil
}

// interruptedBy turns the error of a prompt that ended early into an
// *InterruptedError: the signal that arrived, the Ctrl-C byte, or the
// caller's context ending (rolevault cancels it on Ctrl-C and SIGTERM).
func interruptedBy(ctx context.Context, what string, err error) error {
	var ie *InterruptedError
	if errors.As(context.Cause(ctx), &ie) {
		return ie
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return &InterruptedError{What: what, cause: ctx.Err()}
	}
	return interrupted(what, err)
}

func writeLabel(d *device, label string) error {
	if _, err := io.WriteString(d.out, label); err != nil {
		return fmt.Errorf("write to terminal: %w", err)
	}
	return nil
}

// readVisible reads one line in the terminal's own line mode, so the person
// gets the editing keys they are used to.
func readVisible(ctx context.Context, d *device, label string) (string, error) {
	if err := writeLabel(d, label); err != nil {
		return "", err
	}
	s, err := readCancelable(ctx, d.in, func() (string, error) {
		var line []byte
		next := byteReader(d.in)
		for {
			b, err := next()
			if err == io.EOF && len(line) > 0 {
				break
			}
			if err == io.EOF {
				return "", errEndOfInput
			}
			if err != nil {
				return "", err
			}
			if b == '\n' {
				break
			}
			if line = append(line, b); len(line) > maxInput {
				return "", fmt.Errorf("input longer than %d bytes", maxInput)
			}
		}
		return strings.TrimSuffix(string(line), "\r"), nil
	})
	if err != nil {
		// Ctrl-D or a cancel leaves the cursor after the prompt; end the
		// line so the next message does not run into it.
		fmt.Fprintln(d.out)
	}
	return s, err
}

// readHidden reads a line with echo off. It puts the terminal in raw mode
// rather than only turning echo off, so Ctrl-C arrives as a byte and the
// terminal is restored before returning: a SIGINT would kill the process
// with echo still off and leave the person's shell blind. Echo goes off
// before the label is shown, so a person who starts typing the moment it
// appears does not see the first characters echoed.
func readHidden(ctx context.Context, d *device, label string) (string, error) {
	restore, err := makeRaw(d.in)
	if err != nil {
		return "", fmt.Errorf("hide input on terminal: %w", err)
	}
	defer restore()
	// Raw mode turns off output processing: "\n" alone would not return
	// the cursor to the start of the line.
	if err := writeLabel(d, strings.ReplaceAll(label, "\n", "\r\n")); err != nil {
		return "", err
	}
	s, err := readCancelable(ctx, d.in, func() (string, error) { return editHidden(byteReader(d.in)) })
	io.WriteString(d.out, "\r\n")
	return s, err
}

// makeRaw switches f to raw mode through SyscallConn: f.Fd() would put the
// descriptor back in blocking mode and make the read impossible to cancel.
func makeRaw(f *os.File) (restore func(), err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var st *term.State
	var rawErr error
	if err := rc.Control(func(fd uintptr) { st, rawErr = term.MakeRaw(int(fd)) }); err != nil {
		return nil, err
	}
	if rawErr != nil {
		return nil, rawErr
	}
	return func() { _ = rc.Control(func(fd uintptr) { _ = term.Restore(int(fd), st) }) }, nil
}

// editHidden turns raw keystrokes into a line: Enter ends it, Backspace and
// Ctrl-U edit it, Ctrl-C cancels, Ctrl-D on an empty line cancels, and escape
// sequences (arrow keys) are dropped rather than becoming part of a secret.
func editHidden(next func() (byte, error)) (string, error) {
	var buf []byte
	for {
		b, err := next()
		if err == io.EOF && len(buf) > 0 {
			return string(buf), nil
		}
		if err == io.EOF {
			return "", errEndOfInput
		}
		if err != nil {
			return "", err
		}
		switch {
		case b == '\r' || b == '\n':
			return string(buf), nil
		case b == 0x03: // Ctrl-C
			return "", errCtrlC
		case b == 0x04: // Ctrl-D
			if len(buf) == 0 {
				return "", errEndOfInput
			}
		case b == 0x7f || b == 0x08: // Backspace (Unix, Windows)
			if len(buf) > 0 {
				_, size := utf8.DecodeLastRune(buf)
				buf = buf[:len(buf)-size]
			}
		case b == 0x15: // Ctrl-U
			buf = buf[:0]
		case b == 0x1b:
			if err := skipEscape(next); err != nil && err != io.EOF {
				return "", err
			}
		case b < 0x20:
			// Other control keys mean nothing in a secret.
		default:
			if buf = append(buf, b); len(buf) > maxInput {
				return "", fmt.Errorf("input longer than %d bytes", maxInput)
			}
		}
	}
}

// skipEscape consumes the rest of an escape sequence: CSI and SS3 sequences
// ("ESC [ … final", "ESC O x") end with a byte in 0x40–0x7e; any other byte
// after ESC is an Alt-chord and is dropped with it.
func skipEscape(next func() (byte, error)) error {
	b, err := next()
	if err != nil {
		return err
	}
	switch b {
	case '[':
		for {
			b, err := next()
			if err != nil {
				return err
			}
			if b >= 0x40 && b <= 0x7e {
				return nil
			}
		}
	case 'O':
		_, err := next()
		return err
	}
	return nil
}

func byteReader(r io.Reader) func() (byte, error) {
	var b [1]byte
	return func() (byte, error) {
		for {
			// One byte at a time: the terminal hands out what was typed, and
			// anything read past the line would be lost to the next prompt.
			n, err := r.Read(b[:])
			if n == 1 {
				return b[0], nil
			}
			if err != nil {
				return 0, err
			}
		}
	}
}

// readCancelable runs read and returns early when ctx ends. Reading a
// terminal blocks in the kernel; a past read deadline wakes it on Unix, where
// the device is in the runtime poller. Where it is not (a Windows console)
// the read is left behind and ends with the next line typed.
func readCancelable(ctx context.Context, f *os.File, read func() (string, error)) (string, error) {
	type result struct {
		s   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := read()
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.s, r.err
	case <-ctx.Done():
		_ = f.SetReadDeadline(time.Now())
		select {
		case <-done:
		case <-time.After(200 * time.Millisecond):
		}
		return "", ctx.Err()
	}
}
