package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// MetadataIP is where SDKs look for the EC2 instance metadata service
	// when nothing tells them otherwise.
	MetadataIP = "169.254.169.254"
	// MetadataAddr is what `rolevault proxy` listens on.
	MetadataAddr = MetadataIP + ":80"
	// EC2ProxyTarget is the fixed loopback address of the EC2 server when the
	// proxy fronts it. The proxy runs as root in its own process and has no
	// other way to find the server: like aws-vault (which uses the same
	// port), `exec --ec2-server` binds here and the proxy forwards here. One
	// such server can run at a time; a second exec fails to bind.
	EC2ProxyTarget = "127.0.0.1:9099"
	// DefaultRoleName is the role name the EC2 server lists, aws-vault's, so
	// scripts that fetch …/security-credentials/local-credentials keep working.
	DefaultRoleName = "local-credentials"

	// imdsPrefix is the version of the metadata API served; SDKs ask for
	// "latest".
	imdsPrefix = "/latest"
	credsPath  = imdsPrefix + "/meta-data/iam/security-credentials"

	tokenPath       = imdsPrefix + "/api/token"
	tokenHeader     = "X-Aws-Ec2-Metadata-Token"
	tokenTTLHeader  = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
	fakeInstanceID  = "i-00000000000000000"
	metadataListing = "iam/\ninstance-id\nplacement/\n"
)

// EC2Options tune StartEC2. The zero value is a good default.
type EC2Options struct {
	// Addr is the loopback IP:port to listen on. Empty means 127.0.0.1 and a
	// random port; EC2ProxyTarget when `rolevault proxy` fronts the server.
	Addr string
	// RoleName is the single role the server lists. Empty means
	// DefaultRoleName.
	RoleName string
	// Region, when set, is served where SDKs look for the instance's region
	// (placement/region, placement/availability-zone and the instance
	// identity document). Unset, those paths are 404 and SDKs fall back to
	// their other region sources.
	Region string
	// RequireToken refuses IMDSv1 reads, as an instance with
	// HttpTokens=required does. By default reads without a token are
	// served, for older SDKs and curl; a read with a bad token is refused
	// either way.
	RequireToken bool

	// Lazy, MinTTL, RefreshTimeout, Now and Logf mean what they mean in
	// ECSOptions.
	Lazy           bool
	MinTTL         time.Duration
	RefreshTimeout time.Duration
	Now            func() time.Time
	Logf           func(format string, args ...any)
}

// EC2Server serves credentials the way the EC2 instance metadata service does
// (IMDSv2 sessions, and IMDSv1 reads unless RequireToken) on a loopback address.
type EC2Server struct {
	addr   string
	hosts  []string
	role   string
	region string
	v2only bool
	tokens *imdsTokens
	users  userCheck
	ref    *refresher
	log    logf

	lifecycle
}

// StartEC2 starts an EC2-metadata-style credential server. It runs until ctx
// is done or Close is called.
func StartEC2(ctx context.Context, creds CredentialsFunc, opts EC2Options) (*EC2Server, error) {
	if creds == nil {
		return nil, errors.New("server: StartEC2 needs a CredentialsFunc")
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	role := opts.RoleName
	if role == "" {
		role = DefaultRoleName
	}
	if strings.ContainsAny(role, "/\r\n") {
		return nil, fmt.Errorf("ec2 server: role name %q must not contain '/' or line breaks", role)
	}
	tokens, err := newIMDSTokens()
	if err != nil {
		return nil, fmt.Errorf("ec2 server: %w", err)
	}
	ln, err := loopbackListen(addr)
	if err != nil {
		return nil, fmt.Errorf("ec2 server: %w", err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	port := strconv.Itoa(tcp.Port)

	base, cancel := context.WithCancel(ctx)
	s := &EC2Server{
		addr: ln.Addr().String(),
		// The metadata IP is what clients coming through the proxy (or an
		// SDK's default endpoint) put in Host; the loopback address is what
		// clients told AWS_EC2_METADATA_SERVICE_ENDPOINT put there. A
		// DNS-rebinding page can produce neither (aws-vault #578).
		hosts:  []string{MetadataIP, MetadataAddr, ln.Addr().String(), "localhost:" + port},
		role:   role,
		region: opts.Region,
		v2only: opts.RequireToken,
		tokens: tokens,
		users:  userCheck{uidOf: peerUID, allowed: sameUser},
		ref: newRefresher(base, creds, refreshOptions{
			minTTL: opts.MinTTL, timeout: opts.RefreshTimeout, now: opts.Now,
		}),
		log: opts.Logf,
	}
	s.serve(base, cancel, ln, s)

	// Fetching up front matters more here than for ECS: the Go SDK's IMDS
	// client waits 0.5 s for a response header and botocore 1 s, far less
	// than an STS round trip plus a keychain unlock.
	if !opts.Lazy {
		c, _, err := s.ref.get(ctx)
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("ec2 server: %w", err)
		}
		s.log.printf("ec2 server: first credentials %s fetched", maskKey(c.AccessKeyID))
	}
	s.log.printf("ec2 server: listening on http://%s/", s.addr)
	return s, nil
}

// Addr is the loopback address the server listens on.
func (s *EC2Server) Addr() string { return s.addr }

// URL is the endpoint to give SDKs.
func (s *EC2Server) URL() string { return "http://" + s.addr + "/" }

// Env points the child's SDKs at the server. AWS_EC2_METADATA_DISABLED=false
// overrides an inherited "true", which would otherwise silently switch off the
// server the person asked for. With the proxy running, clients that ignore
// the endpoint variable reach the same server through 169.254.169.254.
func (s *EC2Server) Env() []string {
	return []string{
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + s.URL(),
		"AWS_EC2_METADATA_DISABLED=false",
	}
}

// Close stops the server and any refresh in flight. It is safe to call more
// than once.
func (s *EC2Server) Close() error { return s.close() }

// ServeHTTP checks the peer, Host and origin, then routes. IMDS answers plain
// text except for the JSON documents; errors follow that where SDKs read
// them.
func (s *EC2Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Listening on loopback already keeps other machines out; this also
	// refuses anything that arrives some other way (a forwarded port, a
	// container NAT) and reports it as such.
	if ip, ok := peerIP(r); !ok || !ip.IsLoopback() {
		s.log.printf("ec2 server: refused %s %s from %s: not a loopback peer", r.Method, r.URL.Path, r.RemoteAddr)
		writeError(w, http.StatusForbidden, "InvalidPeer", "only local clients are served")
		return
	}
	// IMDS has no secret that keeps other accounts on this machine out, so
	// check who they are (Linux; see peeruser.go).
	if err := s.users.check(r); err != nil {
		s.log.printf("ec2 server: refused %s %s from %s: %v", r.Method, r.URL.Path, r.RemoteAddr, err)
		writeError(w, http.StatusForbidden, "InvalidUser", "%v", err)
		return
	}
	if !hostIn(r, s.hosts...) {
		s.log.printf("ec2 server: refused %s %s from %s: Host %q", r.Method, r.URL.Path, r.RemoteAddr, r.Host)
		writeError(w, http.StatusForbidden, "InvalidHost", "requests must be addressed to %s or %s", MetadataIP, s.addr)
		return
	}
	if fromBrowser(r) {
		s.log.printf("ec2 server: refused %s %s from %s: sent by a web browser", r.Method, r.URL.Path, r.RemoteAddr)
		writeError(w, http.StatusForbidden, "BrowserRequest", "this endpoint does not serve web pages")
		return
	}

	if r.URL.Path == tokenPath {
		s.serveToken(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET is supported here")
		return
	}
	// A client that sent a token uses IMDSv2 and must send a good one: 401
	// tells the Go SDK to fetch a new token and retry. Without a token the
	// read is IMDSv1, served unless the server requires v2.
	if tok := r.Header.Get(tokenHeader); tok != "" {
		if !s.tokens.valid(tok, s.ref.opts.now()) {
			s.log.printf("ec2 server: refused %s from %s: invalid or expired token", r.URL.Path, r.RemoteAddr)
			writeError(w, http.StatusUnauthorized, "InvalidToken", "the metadata token is invalid or expired")
			return
		}
	} else if s.v2only {
		writeError(w, http.StatusUnauthorized, "TokenRequired", "IMDSv1 is disabled: PUT %s first", tokenPath)
		return
	}
	s.route(w, r)
}

// serveToken issues an IMDSv2 session token.
func (s *EC2Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", http.MethodPut)
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "tokens are issued by PUT")
		return
	}
	// EC2 refuses token requests that went through an HTTP proxy: a server
	// tricked into proxying a request (SSRF) says so in X-Forwarded-For, and
	// the PUT it would need is what keeps such servers from getting tokens.
	if r.Header.Get("X-Forwarded-For") != "" {
		writeError(w, http.StatusForbidden, "Forwarded", "token requests must not come through a proxy")
		return
	}
	raw := r.Header.Get(tokenTTLHeader)
	ttl, err := strconv.Atoi(raw)
	if err != nil || ttl < minTokenTTL || ttl > maxTokenTTL {
		// 400 is terminal for both the Go SDK and botocore; a 403/404/405
		// would make them fall back to IMDSv1 and hide the mistake.
		writeError(w, http.StatusBadRequest, "InvalidTTL", "%s must be a whole number of seconds from %d to %d, not %q",
			tokenTTLHeader, minTokenTTL, maxTokenTTL, raw)
		return
	}
	tok, err := s.tokens.issue(s.ref.opts.now().Add(time.Duration(ttl) * time.Second))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalError", "issuing token: %v", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("Cache-Control", "no-store")
	// The Go SDK reads the granted TTL from this header and fails without it.
	h.Set(tokenTTLHeader, strconv.Itoa(ttl))
	_, _ = io.WriteString(w, tok)
}

// route serves the metadata paths SDKs read. botocore asks for some with a
// trailing slash and the Go SDK without, so both match.
func (s *EC2Server) route(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case p == credsPath:
		writeText(w, s.role)
	case p == credsPath+"/"+s.role:
		s.serveCreds(w, r)
	case p == imdsPrefix+"/meta-data":
		writeText(w, metadataListing)
	case p == imdsPrefix+"/meta-data/iam/info":
		// The .NET SDK reads this before the credentials; the Go SDK's
		// GetIAMInfo needs Code and an RFC 3339 LastUpdated.
		writeJSON(w, http.StatusOK, map[string]string{"Code": "Success", "LastUpdated": isoTime(s.ref.lastUpdated())})
	case p == imdsPrefix+"/meta-data/instance-id":
		// The v1 Go SDK probes this to decide whether IMDS is there at all.
		writeText(w, fakeInstanceID)
	case s.region != "" && p == imdsPrefix+"/meta-data/placement/region":
		writeText(w, s.region)
	case s.region != "" && p == imdsPrefix+"/meta-data/placement/availability-zone":
		// botocore (defaults_mode auto) derives the region by dropping the
		// zone letter; no client here places anything by zone.
		writeText(w, s.region+"a")
	case s.region != "" && p == imdsPrefix+"/dynamic/instance-identity/document":
		// The Go SDK's imds.GetRegion reads the region from here.
		writeJSON(w, http.StatusOK, map[string]string{"region": s.region, "instanceId": fakeInstanceID})
	default:
		writeError(w, http.StatusNotFound, "NotFound", "%s is not served", r.URL.Path)
	}
}

// serveCreds serves the role's credentials document.
func (s *EC2Server) serveCreds(w http.ResponseWriter, r *http.Request) {
	c, at, err := s.ref.get(r.Context())
	if err != nil {
		if r.Context().Err() != nil {
			return // the client left; the refresh carries on for its retry
		}
		s.log.printf("ec2 server: refresh failed: %v", err)
		// IMDS reports a role it cannot get credentials for as a 200 whose
		// Code is not "Success", and that is the shape SDKs parse: the Go
		// SDK turns Code and Message into its error ("api error
		// CredentialsUnavailable: …") and does not retry, where for a 500 it
		// retries three times and reports only the status. botocore treats
		// both alike (no credentials, the body in its debug log). Nothing in
		// the document is a credential, stale or otherwise.
		writeJSON(w, http.StatusOK, imdsError{Code: "CredentialsUnavailable", Message: "rolevault: " + err.Error(),
			LastUpdated: isoTime(s.ref.opts.now())})
		return
	}
	now := s.ref.opts.now()
	s.log.printf("ec2 server: served %s to %s, %s left", maskKey(c.AccessKeyID), r.RemoteAddr,
		expiration(c, now).Sub(now).Round(time.Second))
	writeJSON(w, http.StatusOK, imdsCreds{
		Code:            "Success",
		LastUpdated:     isoTime(at),
		Type:            "AWS-HMAC",
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		Token:           c.SessionToken,
		Expiration:      isoTime(expiration(c, now)),
	})
}

// imdsCreds is the instance role credentials document.
type imdsCreds struct {
	Code            string `json:"Code"`
	LastUpdated     string `json:"LastUpdated"`
	Type            string `json:"Type"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
}

type imdsError struct {
	Code        string `json:"Code"`
	Message     string `json:"Message"`
	LastUpdated string `json:"LastUpdated"`
}

func writeText(w http.ResponseWriter, s string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, s)
}
