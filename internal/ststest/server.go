package ststest

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
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
	sso          *ssoState // IAM Identity Center; see sso.go

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
// (for AWS_CA_BUNDLE). The certificate also names the real STS, IAM,
// sign-in and IAM Identity Center (oidc.REGION, portal.sso.REGION) host
// names so a client redirected through a proxy accepts it.
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

// ServeHTTP answers STS and IAM Query requests on any path except
// /federation, which is the console sign-in endpoint, and the IAM Identity
// Center paths (see serveSSO).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/federation" {
		s.serveFederation(w, r)
		return
	}
	if s.serveSSO(w, r) {
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
