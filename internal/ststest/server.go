package ststest

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	maxKeysPerUser = 2
	maxBodyBytes   = 1 << 20
)

// Server is the emulator. Its zero value is not usable; call New. All
// methods are safe for concurrent use, including while requests are served.
type Server struct {
	mu           sync.Mutex
	users        map[string]*user
	keys         map[string]*AccessKey
	mfa          map[string]*mfaDevice
	roles        map[string]*role
	sessions     map[string]*Session
	sessionOrder []string
	signin       map[string]*signinToken

	// Identity policies by user key, group key (account/name) and role ARN;
	// see policy.go.
	userPolicies       map[string][]namedPolicy
	groupPolicies      map[string][]namedPolicy
	rolePolicies       map[string][]namedPolicy
	identityConfigured bool

	calls     map[string]int
	mfaChecks int
	history   []Call
	faults    []*Fault
	latency   map[string]time.Duration
	hooks     map[string][]func(Call)
	observers []func(Call)

	clock       func() time.Time
	sigClock    func() time.Time
	maxLifetime time.Duration
	propagation time.Duration
	iamRegion   string
	clockOffset time.Duration

	ts     *httptest.Server
	tmpDir string
}

// New returns an emulator with no users or roles. Use it directly as an
// http.Handler, or call Start or StartTLS.
func New() *Server {
	return &Server{
		users:    map[string]*user{},
		keys:     map[string]*AccessKey{},
		mfa:      map[string]*mfaDevice{},
		roles:    map[string]*role{},
		sessions: map[string]*Session{},
		signin:   map[string]*signinToken{},

		userPolicies:  map[string][]namedPolicy{},
		groupPolicies: map[string][]namedPolicy{},
		rolePolicies:  map[string][]namedPolicy{},
		calls:         map[string]int{},
		latency:       map[string]time.Duration{},
		hooks:         map[string][]func(Call){},
	}
}

// Start serves plain HTTP on a random 127.0.0.1 port and returns the base
// URL, e.g. http://127.0.0.1:41234. It panics if the server cannot listen,
// like httptest.NewServer.
func (s *Server) Start() string {
	u, _, err := s.Listen("127.0.0.1:0", false)
	if err != nil {
		panic(err)
	}
	return u
}

// StartTLS serves HTTPS on a random 127.0.0.1 port with a certificate from a
// throwaway CA, and returns the base URL and the path of the CA's PEM file
// (for AWS_CA_BUNDLE). The certificate also names the real STS, IAM and
// sign-in host names so a client redirected through a proxy accepts it.
func (s *Server) StartTLS() (baseURL, caFile string) {
	u, ca, err := s.Listen("127.0.0.1:0", true)
	if err != nil {
		panic(err)
	}
	return u, ca
}

// Listen serves on addr, which must be a loopback address, with or without
// TLS. It returns the base URL and, with TLS, the CA PEM file.
func (s *Server) Listen(addr string, useTLS bool) (baseURL, caFile string, err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", "", &net.AddrError{Err: "ststest only listens on loopback", Addr: addr}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", "", err
	}
	ts := httptest.NewUnstartedServer(s)
	ts.Listener.Close()
	ts.Listener = l
	if useTLS {
		dir, err := os.MkdirTemp("", "ststest-tls-")
		if err != nil {
			l.Close()
			return "", "", err
		}
		caPEM, cert, err := newTestCertificate()
		if err != nil {
			l.Close()
			os.RemoveAll(dir)
			return "", "", err
		}
		caFile = filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
			l.Close()
			os.RemoveAll(dir)
			return "", "", err
		}
		ts.TLS = newTLSConfig(cert)
		ts.StartTLS()
		s.mu.Lock()
		s.tmpDir = dir
		s.mu.Unlock()
	} else {
		ts.Start()
	}
	s.mu.Lock()
	s.ts = ts
	s.mu.Unlock()
	return ts.URL, caFile, nil
}

// URL is the base URL once started, "" before.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Close stops serving, waits for requests in flight and removes the CA
// file.
func (s *Server) Close() {
	s.mu.Lock()
	ts, dir := s.ts, s.tmpDir
	s.ts, s.tmpDir = nil, ""
	s.mu.Unlock()
	if ts != nil {
		ts.Close()
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// SetNow replaces the emulator's clock, used for session expiry, MFA codes,
// sign-in tokens and key propagation; nil restores time.Now. Request
// signatures are still checked against the wall clock (see
// SetSignatureClock) because real SDKs sign with it.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

// SetSignatureClock sets the clock that request dates are compared with
// (AWS allows five minutes of skew); nil means time.Now.
func (s *Server) SetSignatureClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sigClock = now
}

// SetClockOffset makes the emulator's idea of the wall clock run d ahead
// of this machine's (behind for negative d), as when the client's clock is
// off by -d: the Date header of every answer and the signature date check
// use it. Five minutes or more makes SigV4 requests fail with
// SignatureDoesNotMatch, as AWS's do. It does not move SetNow's clock.
func (s *Server) SetClockOffset(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clockOffset = d
}

// Now is the emulator's current time, for computing MFA codes.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Server) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// SetMaxSessionLifetime caps the lifetime of every role, federation and web
// identity session issued from now on (0 removes the cap), so refresh logic
// can be exercised without waiting hours. GetSessionToken sessions keep the
// lifetime asked for, so refreshes from one MFA session need no new code.
// Requests are still validated against the durations asked for.
func (s *Server) SetMaxSessionLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxLifetime = d
}

// SetKeyPropagationDelay makes keys created through IAM CreateAccessKey
// authenticate only after d, like IAM's eventual consistency (requests fail
// with InvalidClientTokenId until then).
func (s *Server) SetKeyPropagationDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.propagation = d
}

// SetIAMRegion makes IAM accept only signatures scoped to region, as real
// IAM accepts only us-east-1 in the aws partition. The default "" accepts
// any region, because a client pointed at the emulator through an endpoint
// override signs with its configured region.
func (s *Server) SetIAMRegion(region string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.iamRegion = region
}

// Call is one request as the emulator saw it.
type Call struct {
	Time        time.Time
	Service     string // "sts", "iam" or "federation"
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

// ResetCounters zeroes Calls, MFAChecks and History.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.mfaChecks = 0
	s.history = nil
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

// ServeHTTP answers STS and IAM Query requests on any path except
// /federation, which is the console sign-in endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/federation" {
		s.serveFederation(w, r)
		return
	}
	requestID := newRequestID()
	s.mu.Lock()
	offset := s.clockOffset
	s.mu.Unlock()
	if offset != 0 {
		// net/http keeps a Date header the handler set.
		w.Header().Set("Date", time.Now().Add(offset).UTC().Format(http.TimeFormat))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(body) > maxBodyBytes {
		writeError(w, stsNamespace, newError(http.StatusBadRequest, "MalformedInput", "The request body could not be read."), requestID)
		return
	}
	params := r.URL.Query()
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			writeError(w, stsNamespace, newError(http.StatusBadRequest, "MalformedQueryString", "The query string could not be parsed."), requestID)
			return
		}
		for k, vs := range form {
			params[k] = append(params[k], vs...)
		}
	}
	action := params.Get("Action")
	ns := stsNamespace
	if params.Get("Version") == iamVersion {
		ns = iamNamespace
	}
	s.countCall(action)
	call := Call{Action: action, TokenCode: params.Get("TokenCode")}
	finish := func(e *apiError) {
		call.Time = s.Now()
		if e != nil {
			call.Code, call.Status = e.Code, e.Status
			writeError(w, ns, e, requestID)
		} else {
			call.Status = http.StatusOK
		}
		s.record(call)
	}

	s.delay(r.Context(), action)
	if f := s.takeFault(action, false); f != nil {
		call.Time, call.Code, call.Status = s.Now(), f.Code, f.Status
		if f.Drop {
			call.Code, call.Status, call.ReplyLost = "", 0, true
			s.record(call)
			dropConnection(w)
			return
		}
		s.record(call)
		writeError(w, ns, &apiError{Status: f.Status, Code: f.Code, Message: f.Message}, requestID)
		return
	}

	var c *caller
	svc := "sts"
	if op, ok := stsActions[action]; ok && op.unsigned {
		call.Service = svc
	} else {
		auth, e := s.authenticate(r, body, params)
		if e != nil {
			call.Service = guessService(r, params)
			if auth != nil {
				call.Service, call.AccessKeyID = auth.service, auth.accessKeyID
			}
			if call.Service == "iam" {
				ns = iamNamespace
			}
			finish(e)
			return
		}
		c, svc = auth.caller, auth.service
		call.Service, call.AccessKeyID = svc, c.accessKeyID
	}

	table, version := stsActions, stsVersion
	ns = stsNamespace
	if svc == "iam" {
		table, version, ns = iamActions, iamVersion, iamNamespace
	}
	op, ok := table[action]
	if v := params.Get("Version"); !ok || v != version {
		finish(newError(http.StatusBadRequest, "InvalidAction",
			"Could not find operation %s for version %s", action, orNone(params.Get("Version"))))
		return
	}
	s.mu.Lock()
	result, e := op.handle(s, c, params)
	s.mu.Unlock()
	if e != nil {
		finish(e)
		return
	}
	call.Time, call.Status = s.Now(), http.StatusOK
	s.runHooks(action, call)
	if f := s.takeFault(action, true); f != nil {
		call.Code, call.Status = f.Code, f.Status
		if f.Drop {
			call.Code, call.Status, call.ReplyLost = "", 0, true
			s.record(call)
			dropConnection(w)
			return
		}
		s.record(call)
		writeError(w, ns, &apiError{Status: f.Status, Code: f.Code, Message: f.Message}, requestID)
		return
	}
	s.record(call)
	writeResult(w, ns, action, result, requestID)
}

func orNone(s string) string {
	if s == "" {
		return "NONE"
	}
	return s
}

// operation is one Query action. handle runs with s.mu held.
type operation struct {
	unsigned bool
	handle   func(s *Server, c *caller, p url.Values) ([]node, *apiError)
}
