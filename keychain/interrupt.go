package keychain

import "context"

// InterruptedError is a wait that Ctrl-C or a signal ended: for STS or IAM to
// answer, or for another process that holds a lock. Its message names what
// was being waited for, so a person sees "interrupted while waiting for AWS
// STS to answer …" rather than "context canceled". It matches
// context.Canceled, and through Cause whatever the context was cancelled
// with (the CLI cancels with the signal, to exit 128+N).
type InterruptedError struct {
	Doing string // "waiting for AWS STS to answer GetSessionToken for profile \"login\""
	Cause error
}

func (e *InterruptedError) Error() string { return "interrupted while " + e.Doing }

func (e *InterruptedError) Unwrap() []error {
	if e.Cause == nil || e.Cause == context.Canceled {
		return []error{context.Canceled}
	}
	return []error{context.Canceled, e.Cause}
}

// InterruptedWhile is the error for a wait that ctx's end stopped.
func InterruptedWhile(ctx context.Context, doing string) error {
	return &InterruptedError{Doing: doing, Cause: context.Cause(ctx)}
}
