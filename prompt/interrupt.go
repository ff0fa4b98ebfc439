package prompt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// InterruptedError means a prompt was interrupted: Ctrl-C, a signal (SIGTERM,
// SIGHUP, SIGQUIT) or the end of the caller's context. The terminal is
// restored before it is returned. Its message names what was being asked
// for, and it matches ErrCanceled.
type InterruptedError struct {
	// What was asked for, e.g. "the secret access key" or "the MFA code for
	// arn:aws:iam::111111111111:mfa/alice".
	What string
	// Signal is the signal that interrupted the prompt; nil when the caller's
	// context ended (which in rolevault is Ctrl-C or SIGTERM).
	Signal os.Signal

	cause error // the context's error, when the context ended
}

func (e *InterruptedError) Error() string {
	if s, ok := e.Signal.(syscall.Signal); ok && e.Signal != os.Interrupt {
		return fmt.Sprintf("interrupted by %s while asking for %s", signalName(s), e.What)
	}
	return "interrupted while asking for " + e.What
}

// Is makes an interruption by the person (Ctrl-C, a signal) match
// ErrCanceled, so callers that only tell "the person declined" from other
// failures keep working.
// A caller's context ending is not the person canceling, so it does not.
func (e *InterruptedError) Is(target error) bool { return target == ErrCanceled && e.cause == nil }

// Unwrap is context.Canceled: the prompt was cancelled, whether by the
// person or by the caller's context (which in rolevault a signal cancels
// too, so the two race; either way the caller should stop, not wrap it).
func (e *InterruptedError) Unwrap() error {
	if e.cause != nil {
		return e.cause
	}
	return context.Canceled
}

// ExitCode is the status a shell reports for a process ended by the signal:
// 130 for Ctrl-C (or a cancelled context), 128+N for signal N.
func (e *InterruptedError) ExitCode() int {
	if s, ok := e.Signal.(syscall.Signal); ok && e.Signal != os.Interrupt {
		return 128 + int(s)
	}
	return 130
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	}
	return s.String()
}

// errCtrlC is what the hidden-input editor returns for the Ctrl-C byte; the
// prompt turns it into an InterruptedError naming what it asked for.
var errCtrlC = fmt.Errorf("%w: interrupted", ErrCanceled)

// interrupted wraps err, when it is an interruption, into an
// InterruptedError that names what; other errors pass through.
func interrupted(what string, err error) error {
	var ie *InterruptedError
	if errors.As(err, &ie) {
		if ie.What == "" {
			ie.What = what
		}
		return ie
	}
	if errors.Is(err, errCtrlC) {
		return &InterruptedError{What: what, Signal: os.Interrupt}
	}
	if errors.Is(err, errEndOfInput) {
		return fmt.Errorf("%w: end of input while asking for %s", ErrCanceled, what)
	}
	return err
}
