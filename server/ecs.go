package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// ECSPath is the one path the ECS server answers on. There is deliberately no
// route that takes a role ARN (aws-vault's /role-arn/…): the server serves the
// one set of credentials it was started with and assumes nothing on request.
const ECSPath = "/credentials"

// tokenBytes is the size of the authorization token: 256 bits from crypto/rand.
const tokenBytes = 32

// ECSOptions tune StartECS. The zero value is a good default.
type ECSOptions struct {
	// Lazy defers the first call of the CredentialsFunc to the first request.
	// By default StartECS fetches before it returns, so a bad profile or a
	// declined MFA prompt fails the command at start, not in the middle of
	// the child's work, and the first request (botocore waits 2 s) is fast.
	Lazy bool
	// MinTTL is the least lifetime served credentials have left; with less,
	// the server asks the CredentialsFunc again. Zero means DefaultMinTTL.
	// Pass the MinTTL the CredentialsFunc's cache uses.
	MinTTL time.Duration
	// RefreshTimeout bounds one call of the CredentialsFunc. Zero means
	// DefaultRefreshTimeout.
	RefreshTimeout time.Duration
	// Now is the clock; nil means time.Now. Tests move it.
	Now func() time.Time
	// Logf receives one line per request and refresh, keys masked; nil is
	// silent.
	Logf func(format string, args ...any)
}

// ECSServer serves credentials in the format of the ECS container credentials
// endpoint on 127.0.0.1, to clients that present its token.
type ECSServer struct {
	addr  string // 127.0.0.1:PORT
	token string
	hosts []string
	ref   *refresher
	log   logf

	lifecycle
}

// StartECS starts an ECS-style credential server on 127.0.0.1 and a random
// port. It runs until ctx is done or Close is called.
func StartECS(ctx context.Context, creds CredentialsFunc, opts ECSOptions) (*ECSServer, error) {
	if creds == nil {
		return nil, errors.New("server: StartECS needs a CredentialsFunc")
	}
	token, err := newSecret(tokenBytes)
	if err != nil {
		return nil, fmt.Errorf("ecs server: making token: %w", err)
	}
	// The literal 127.0.0.1, not "localhost": awscli v2 accepts only
	// 127.0.0.1 and localhost in the URI, and "localhost" may resolve to ::1
	// or, through a hostile resolver or hosts file, somewhere else entirely.
	ln, err := loopbackListen("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("ecs server: %w", err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	base, cancel := context.WithCancel(ctx)
	s := &ECSServer{
		addr:  ln.Addr().String(),
		token: token,
		// Exactly the names the child is told to use, with the port. A
		// rebinding page reaches us as evil.example:PORT and is refused.
		hosts: []string{"127.0.0.1:" + port, "localhost:" + port},
		ref: newRefresher(base, creds, refreshOptions{
			minTTL: opts.MinTTL, timeout: opts.RefreshTimeout, now: opts.Now,
		}),
		log: opts.Logf,
	}
	s.serve(base, cancel, ln, s)

	if !opts.Lazy {
		c, _, err := s.ref.get(ctx)
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("ecs server: %w", err)
		}
		s.log.printf("ecs server: first credentials %s fetched", maskKey(c.AccessKeyID))
	}
	s.log.printf("ecs server: listening on http://%s%s", s.addr, ECSPath)
	return s, nil
}

// URL is the address the child reads credentials from.
func (s *ECSServer) URL() string { return "http://" + s.addr + ECSPath }

// Env is what the child process needs to find the server: the Go SDK,
// botocore and awscli read these two variables, in that form.
func (s *ECSServer) Env() []string {
	return []string{
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + s.URL(),
		"AWS_CONTAINER_AUTHORIZATION_TOKEN=" + s.token,
	}
}

// Close stops the server and any refresh in flight. It is safe to call more
// than once.
func (s *ECSServer) Close() error { return s.close() }

// ServeHTTP checks, in order: Host, browser origin, token, path, method. Each
// refusal says why in a JSON error document; the Go SDK does not retry 403 and
// shows the message, botocore shows the body after its three tries.
func (s *ECSServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !hostIn(r, s.hosts...) {
		s.log.printf("ecs server: refused %s %s from %s: Host %q", r.Method, r.URL.Path, r.RemoteAddr, r.Host)
		writeError(w, http.StatusForbidden, "InvalidHost", "requests must be addressed to %s", s.hosts[0])
		return
	}
	if fromBrowser(r) {
		s.log.printf("ecs server: refused %s %s from %s: sent by a web browser", r.Method, r.URL.Path, r.RemoteAddr)
		writeError(w, http.StatusForbidden, "BrowserRequest", "this endpoint does not serve web pages")
		return
	}
	// The SDKs send AWS_CONTAINER_AUTHORIZATION_TOKEN verbatim as the
	// Authorization header. 403 for a missing and a wrong token alike: the
	// caller learns nothing about which, and no SDK treats 401 better.
	if got := r.Header.Get("Authorization"); got == "" || !equalSecret(got, s.token) {
		s.log.printf("ecs server: refused %s %s from %s: missing or wrong token", r.Method, r.URL.Path, r.RemoteAddr)
		writeError(w, http.StatusForbidden, "InvalidToken", "missing or wrong authorization token")
		return
	}
	if r.URL.Path != ECSPath {
		writeError(w, http.StatusNotFound, "NotFound", "credentials are served at %s only", ECSPath)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET is supported")
		return
	}

	c, _, err := s.ref.get(r.Context())
	if err != nil {
		if r.Context().Err() != nil {
			return // the client left; the refresh carries on for its retry
		}
		s.log.printf("ecs server: refresh failed: %v", err)
		// 500 with {"code","message"}: the Go SDK surfaces both after its
		// retries, botocore quotes the body. Never the stale credentials.
		writeError(w, http.StatusInternalServerError, "CredentialsUnavailable", "rolevault: %v", err)
		return
	}
	now := s.ref.opts.now()
	doc := ecsDoc{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		Token:           c.SessionToken,
		Expiration:      isoTime(expiration(c, now)),
		AccountID:       c.AccountID,
	}
	s.log.printf("ecs server: served %s to %s, %s left", maskKey(c.AccessKeyID), r.RemoteAddr,
		expiration(c, now).Sub(now).Round(time.Second))
	writeJSON(w, http.StatusOK, doc)
}

// ecsDoc is the container credentials document, as the ECS agent serves it.
type ecsDoc struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	// botocore indexes Token and Expiration unconditionally, so both are
	// always present.
	Token      string `json:"Token"`
	Expiration string `json:"Expiration"`
	AccountID  string `json:"AccountId,omitempty"`
}
