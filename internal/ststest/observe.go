// Observing and disturbing the emulator: what it saw (Call, counters,
// history, hooks) and the faults and latency a test injects.

package ststest

import (
	"context"
	"net/http"
	"slices"
	"time"
)

// Call is one request as the emulator saw it.
type Call struct {
	Time        time.Time
	Service     string // "sts", "iam", "federation", "sso-oidc", "sso" (the portal) or "sso-signin" (pages)
	Action      string
	AccessKeyID string // the signing key, "" if unsigned
	Code        string // error code, "" on success
	Status      int
	// TokenCode is the MFA code the request carried, so a test can check
	// that a client never sends one code twice. The standalone command does
	// not log it.
	TokenCode string
	// ReplyLost is true when a fault dropped the connection instead of
	// answering (Status and Code then say nothing).
	ReplyLost bool
}

// Calls counts requests naming action (successful or not) since the last
// ResetCounters. Federation requests count as "getSigninToken" and "login".
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// MFAChecks counts TOTP codes verified, right or wrong.
func (s *Server) MFAChecks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mfaChecks
}

// History returns every request since the last ResetCounters, in order.
func (s *Server) History() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.history...)
}

// ResetCounters zeroes Calls, MFAChecks, History and SSOCounts.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.mfaChecks = 0
	s.history = nil
	s.ssoLocked().counts = newSSOCounts()
}

// Fault is an injected failure.
type Fault struct {
	// Action it applies to ("GetSessionToken", "getSigninToken", …); ""
	// matches every request.
	Action string
	// After lets the action take effect (a key is created, a session is
	// issued) and then fails the response, like a reply lost on the way
	// back. Otherwise the request fails before anything happens.
	After bool
	// Code and Message form the error document; Status defaults to the
	// status AWS uses for Code.
	Code    string
	Message string
	Status  int
	// Drop closes the connection without any response instead.
	Drop bool
	// Times is how many matching requests fail; 0 means 1.
	Times int
	// Skip lets that many matching requests through untouched before the
	// fault applies, so a test can fail the Nth call of an action. With
	// After, only requests that succeeded are counted.
	Skip int
}

// InjectFault queues f. Faults are consumed in the order they were added.
func (s *Server) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.Status == 0 {
		f.Status = faultStatus(f.Code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// FailNext fails the next n requests for action with code and message,
// before the action takes effect.
func (s *Server) FailNext(action, code, message string, n int) {
	s.InjectFault(Fault{Action: action, Code: code, Message: message, Times: n})
}

// FailAfter lets the next n requests for action take effect and then answers
// them with the error instead of the result.
func (s *Server) FailAfter(action, code, message string, n int) {
	s.InjectFault(Fault{Action: action, After: true, Code: code, Message: message, Times: n})
}

// LoseReply lets the nth next successful request for action (1 for the
// next one) take effect and then closes the connection without a reply, as
// when a reply is lost on the way back: a session is issued, an MFA code is
// used up, and the client sees only a broken connection.
func (s *Server) LoseReply(action string, nth int) {
	if nth < 1 {
		nth = 1
	}
	s.InjectFault(Fault{Action: action, After: true, Drop: true, Skip: nth - 1})
}

// ClearFaults drops faults not yet consumed.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *Server) takeFault(action string, after bool) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.After != after || (f.Action != "" && f.Action != action) {
			continue
		}
		if f.Skip > 0 {
			// The first matching fault decides: this request passes.
			f.Skip--
			return nil
		}
		f.Times--
		if f.Times <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		c := *f
		return &c
	}
	return nil
}

// SetLatency delays every request for action by d before it is handled; ""
// applies to all requests (the two add up).
func (s *Server) SetLatency(action string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency[action] = d
}

// OnSuccess registers fn to run after action succeeds and before the
// response is written, e.g. to change state between a client's calls. fn
// must not block on the client.
func (s *Server) OnSuccess(action string, fn func(Call)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks[action] = append(s.hooks[action], fn)
}

func (s *Server) delay(ctx context.Context, action string) {
	s.mu.Lock()
	d := s.latency[""] + s.latency[action]
	s.mu.Unlock()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	s.history = append(s.history, c)
	obs := slices.Clone(s.observers)
	s.mu.Unlock()
	for _, o := range obs {
		o(c)
	}
}

// OnRequest registers fn to see every request once it is answered,
// successful or not (the standalone command logs through it).
func (s *Server) OnRequest(fn func(Call)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observers = append(s.observers, fn)
}

func (s *Server) countCall(action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[action]++
}

func (s *Server) runHooks(action string, c Call) {
	s.mu.Lock()
	hooks := slices.Clone(s.hooks[action])
	s.mu.Unlock()
	for _, h := range hooks {
		h(c)
	}
}

// dropConnection emulates a reply lost in transit.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
