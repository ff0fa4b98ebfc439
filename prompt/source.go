package prompt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Func returns an MFA code for the device mfaSerial. The vault package holds
// prompts as its own function type with this same signature.
type Func func(ctx context.Context, mfaSerial string) (string, error)

// MaxAttempts is how many codes an interactive source asks a person for, per
// serial, before it gives up: malformed codes it refuses and codes AWS rejects
// both count.
const MaxAttempts = 3

var (
	// ErrInvalidCode means a code was refused before it reached AWS because it
	// is not six digits.
	ErrInvalidCode = errors.New("MFA code must be exactly 6 digits")
	// ErrCanceled means the person declined to answer a prompt: Cancel in a
	// dialog, end of input, or an interruption (*InterruptedError).
	ErrCanceled = errors.New("prompt canceled")
	// ErrNoTerminal means no terminal device could be opened (no controlling
	// terminal on Unix, no console on Windows).
	ErrNoTerminal = errors.New("no terminal device")
	// ErrNoPrompt means nothing can ask for a code in this environment. It is
	// returned by the Func of the source Choose picks when nothing fits, so a
	// command that finds a cached session never fails for want of a prompt.
	ErrNoPrompt = errors.New("no way to ask for an MFA code")
	// ErrUnavailable means a named driver cannot run here (its program is not
	// installed, or it belongs to another operating system).
	ErrUnavailable = errors.New("MFA prompt driver is not available")
)

// Source is one way of getting MFA codes.
type Source struct {
	// Name is the driver's name ("terminal", "ykman", "zenity", "kdialog",
	// "osascript", "wincredui", "mfa_process", "mfa-token", or "none"), for
	// messages and `explain`.
	Name string
	// Interactive is true when a person types each code, so asking again
	// after AWS rejects one can help. See Rejected.
	Interactive bool
	// Func asks for one code. Every code it returns is six digits.
	Func Func

	retry *retryState
}

// Rejected tells the source that AWS rejected the last code it gave for
// mfaSerial, and reports whether the caller should call Func again. It is
// false for sources that are not interactive, and once a person has been
// asked MaxAttempts times; when true, the next ask shows the person why.
func (s Source) Rejected(mfaSerial string, err error) bool {
	if !s.Interactive || s.retry == nil {
		return false
	}
	return s.retry.rejected(mfaSerial, err)
}

// ReplyLost tells the source that the call carrying the last code it gave
// for mfaSerial got no usable reply, so AWS may have used that code, and
// reports whether the caller should call Func again for the next one. It
// answers like Rejected; when true, the next ask tells the person to wait for
// a new code.
func (s Source) ReplyLost(mfaSerial string) bool {
	if !s.Interactive || s.retry == nil {
		return false
	}
	return s.retry.again(mfaSerial, func(try int) string {
		return fmt.Sprintf("No usable answer came back from AWS, and it may have used that code: wait for the next code and enter it (try %d of %d).",
			try, MaxAttempts)
	})
}

// asker shows one prompt for mfaSerial and returns what the person entered,
// unchecked. note, when not empty, says why they are asked again and must be
// shown with the prompt.
type asker func(ctx context.Context, mfaSerial, note string) (string, error)

// interactive wraps an asker with validation and the per-serial budget of
// MaxAttempts tries shared with Rejected.
func interactive(name string, ask asker) Source {
	st := &retryState{bySerial: map[string]*tries{}}
	return Source{Name: name, Interactive: true, Func: st.wrap(ask), retry: st}
}

// oneShot wraps a source that cannot be asked again: its output is checked
// once and a malformed code is an error, not a new question.
func oneShot(name string, get Func) Source {
	return Source{Name: name, Func: func(ctx context.Context, mfaSerial string) (string, error) {
		raw, err := get(ctx, mfaSerial)
		if err != nil {
			return "", interruptedMFA(ctx, mfaSerial, err)
		}
		if strings.TrimSpace(raw) == "" {
			return "", fmt.Errorf("%s: %w: it printed nothing", name, ErrInvalidCode)
		}
		code, err := ValidateCode(raw)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		return code, nil
	}}
}

type retryState struct {
	mu       sync.Mutex
	bySerial map[string]*tries
}

// tries is the state of one run of asks for a serial. A run starts with a
// Func call that does not follow a Rejected, so a serial needed again later
// in a long-lived process gets its full budget back.
type tries struct {
	used    int
	pending bool   // Rejected said "ask again"; the next Func continues this run
	note    string // why the next ask happens
}

func (st *retryState) begin(serial string) (used int, note string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	t := st.bySerial[serial]
	if t == nil || !t.pending {
		t = &tries{}
		st.bySerial[serial] = t
	}
	t.pending = false
	note, t.note = t.note, ""
	return t.used, note
}

func (st *retryState) setUsed(serial string, used int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if t := st.bySerial[serial]; t != nil {
		t.used = used
	}
}

func (st *retryState) rejected(serial string, err error) bool {
	return st.again(serial, func(try int) string {
		return fmt.Sprintf("AWS rejected that code (%s). Codes work once and only for about 30 seconds: enter the next one (try %d of %d).",
			rejectionReason(err), try, MaxAttempts)
	})
}

// again arranges another ask for serial, within the budget, shown with
// note(try).
func (st *retryState) again(serial string, note func(try int) string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	t := st.bySerial[serial]
	if t == nil || t.used == 0 || t.used >= MaxAttempts {
		return false
	}
	t.pending = true
	t.note = note(t.used + 1)
	return true
}

func (st *retryState) wrap(ask asker) Func {
	return func(ctx context.Context, mfaSerial string) (string, error) {
		used, note := st.begin(mfaSerial)
		if used >= MaxAttempts {
			return "", fmt.Errorf("asked for the MFA code for %s %d times already", mfaSerial, used)
		}
		for {
			raw, err := ask(ctx, mfaSerial, note)
			if err != nil {
				return "", interruptedMFA(ctx, mfaSerial, err)
			}
			used++
			st.setUsed(mfaSerial, used)
			code, err := ValidateCode(raw)
			if err == nil {
				return code, nil
			}
			if used >= MaxAttempts {
				return "", fmt.Errorf("gave up after %d tries: %w", used, err)
			}
			note = fmt.Sprintf("%v. Try again (try %d of %d).", capitalize(err.Error()), used+1, MaxAttempts)
		}
	}
}

// rejectionReason shortens an STS error for a person: the SDK's message
// carries operation, status and request id before the part that matters.
func rejectionReason(err error) string {
	if err == nil {
		return "no reason given"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, "api error "); i >= 0 {
		msg = msg[i+len("api error "):]
	}
	msg = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(msg), "."))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// interruptedMFA names the MFA code in the error of a source that ended
// because its context did (Ctrl-C, SIGTERM): a dialog or program killed on
// the way says nothing a person can use, and "context canceled" less.
func interruptedMFA(ctx context.Context, mfaSerial string, err error) error {
	var ie *InterruptedError
	if errors.As(err, &ie) || !errors.Is(ctx.Err(), context.Canceled) {
		return err // a deadline is not an interruption
	}
	return &InterruptedError{What: "the MFA code for " + mfaSerial, cause: ctx.Err()}
}
