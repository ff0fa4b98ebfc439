// The SSO OIDC service (oidc.REGION.amazonaws.com): RegisterClient,
// StartDeviceAuthorization and CreateToken, REST-JSON, unsigned.

package ststest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// ssoError is an error of the OIDC service or the portal. The OIDC service
// answers {"error": "invalid_grant", "error_description": "…"}; the portal
// {"message": "…"}. Both name the exception in x-amzn-ErrorType, which is
// what aws-sdk-go-v2 maps to its typed errors.
type ssoError struct {
	Status int
	Code   string // InvalidGrantException, UnauthorizedException, …
	Desc   string
}

var oidcErrorField = map[string]string{
	"AccessDeniedException":          "access_denied",
	"AuthorizationPendingException":  "authorization_pending",
	"ExpiredTokenException":          "expired_token",
	"InternalServerException":        "server_error",
	"InvalidClientException":         "invalid_client",
	"InvalidClientMetadataException": "invalid_client_metadata",
	"InvalidGrantException":          "invalid_grant",
	"InvalidRedirectUriException":    "invalid_redirect_uri",
	"InvalidRequestException":        "invalid_request",
	"InvalidScopeException":          "invalid_scope",
	"SlowDownException":              "slow_down",
	"UnauthorizedClientException":    "unauthorized_client",
	"UnsupportedGrantTypeException":  "unsupported_grant_type",
}

func oidcErr(code, desc string) *ssoError {
	st := http.StatusBadRequest
	switch code {
	case "InvalidClientException":
		st = http.StatusUnauthorized
	case "InternalServerException":
		st = http.StatusInternalServerError
	}
	return &ssoError{Status: st, Code: code, Desc: desc}
}

func writeSSOError(w http.ResponseWriter, service string, e *ssoError, requestID string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-amzn-RequestId", requestID)
	h.Set("x-amzn-ErrorType", e.Code)
	var body any
	if service == "sso-oidc" {
		field := oidcErrorField[e.Code]
		if field == "" {
			field = strings.TrimSuffix(e.Code, "Exception")
		}
		body = map[string]string{"error": field, "error_description": e.Desc}
	} else {
		body = map[string]string{"message": e.Desc}
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(body)
}

// ssoOp is one REST-JSON operation. handle runs with s.mu held and returns
// the response document.
type ssoOp struct {
	method, path, service, action string
	handle                        func(s *Server, r *http.Request, body []byte) (any, *ssoError)
}

var ssoOps = []ssoOp{
	{"POST", "/client/register", "sso-oidc", "RegisterClient", (*Server).ssoRegisterClient},
	{"POST", "/device_authorization", "sso-oidc", "StartDeviceAuthorization", (*Server).ssoStartDeviceAuthorization},
	{"POST", "/token", "sso-oidc", "CreateToken", (*Server).ssoCreateToken},
	{"GET", "/federation/credentials", "sso", "GetRoleCredentials", (*Server).ssoGetRoleCredentials},
	{"GET", "/assignment/accounts", "sso", "ListAccounts", (*Server).ssoListAccounts},
	{"GET", "/assignment/roles", "sso", "ListAccountRoles", (*Server).ssoListAccountRoles},
	{"POST", "/logout", "sso", "Logout", (*Server).ssoLogout},
}

// serveSSO answers the Identity Center paths and reports whether the
// request was one: the OIDC operations, the portal operations, and the
// pages a browser visits (/authorize, /device, /consent). None collides
// with STS and IAM, which clients POST to /.
func (s *Server) serveSSO(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case "/authorize", "/device", "/consent":
		s.serveSSOPage(w, r)
		return true
	}
	for i := range ssoOps {
		op := &ssoOps[i]
		if r.URL.Path != op.path {
			continue
		}
		if r.Method != op.method {
			w.Header().Set("Allow", op.method)
			writeSSOError(w, op.service, &ssoError{Status: http.StatusMethodNotAllowed, Code: "UnknownOperationException",
				Desc: op.path + " answers " + op.method + " only"}, newRequestID())
			return true
		}
		s.serveSSOOp(w, r, op)
		return true
	}
	return false
}

func (s *Server) serveSSOOp(w http.ResponseWriter, r *http.Request, op *ssoOp) {
	requestID := newRequestID()
	s.mu.Lock()
	offset := s.clockOffset
	s.mu.Unlock()
	if offset != 0 {
		w.Header().Set("Date", time.Now().Add(offset).UTC().Format(http.TimeFormat))
	}
	s.countCall(op.action)
	s.countSSO(op.action)
	call := Call{Service: op.service, Action: op.action}
	fail := func(e *ssoError) {
		call.Time, call.Code, call.Status = s.Now(), e.Code, e.Status
		s.record(call)
		writeSSOError(w, op.service, e, requestID)
	}
	fault := func(f *Fault) {
		if f.Drop {
			call.Time, call.ReplyLost = s.Now(), true
			s.record(call)
			dropConnection(w)
			return
		}
		fail(&ssoError{Status: f.Status, Code: f.Code, Desc: f.Message})
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil || len(body) > maxBodyBytes {
		fail(&ssoError{Status: http.StatusBadRequest, Code: "InvalidRequestException", Desc: "The request body could not be read."})
		return
	}
	s.delay(r.Context(), op.action)
	if f := s.takeFault(op.action, false); f != nil {
		fault(f)
		return
	}
	s.mu.Lock()
	out, e := op.handle(s, r, body)
	s.mu.Unlock()
	if e != nil {
		fail(e)
		return
	}
	call.Time, call.Status = s.Now(), http.StatusOK
	s.runHooks(op.action, call)
	if f := s.takeFault(op.action, true); f != nil {
		fault(f)
		return
	}
	s.record(call)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-RequestId", requestID)
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) countSSO(action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &s.ssoLocked().counts
	switch action {
	case "RegisterClient":
		c.RegisterClient++
	case "StartDeviceAuthorization":
		c.DeviceAuthorization++
	case "GetRoleCredentials":
		c.GetRoleCredentials++
	case "ListAccounts":
		c.ListAccounts++
	case "ListAccountRoles":
		c.ListAccountRoles++
	case "Logout":
		c.Logout++
	case "Authorize":
		c.Authorize++
	case "DeviceVerification":
		c.DeviceVerification++
	}
}

func decodeJSON(body []byte, v any) *ssoError {
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return oidcErr("InvalidRequestException", "Invalid request body")
	}
	return nil
}

// baseURL is how the client reached the emulator, for the URLs it hands
// out (verification page, authorization endpoint).
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

var scopeRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.*-]+)+$|^openid$`)

var knownGrants = []string{GrantAuthorizationCode, GrantRefreshToken, GrantDeviceCode}

type registerClientRequest struct {
	ClientName             string   `json:"clientName"`
	ClientType             string   `json:"clientType"`
	Scopes                 []string `json:"scopes"`
	RedirectURIs           []string `json:"redirectUris"`
	GrantTypes             []string `json:"grantTypes"`
	IssuerURL              string   `json:"issuerUrl"`
	EntitledApplicationArn string   `json:"entitledApplicationArn"`
}

func (s *Server) ssoRegisterClient(r *http.Request, body []byte) (any, *ssoError) {
	var in registerClientRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, e
	}
	switch {
	case in.ClientName == "":
		return nil, oidcErr("InvalidRequestException", "clientName is required")
	case in.ClientType == "":
		return nil, oidcErr("InvalidRequestException", "clientType is required")
	case in.ClientType != "public":
		return nil, oidcErr("InvalidClientMetadataException", "Invalid client type: "+in.ClientType)
	}
	for _, sc := range in.Scopes {
		if !scopeRE.MatchString(sc) {
			return nil, oidcErr("InvalidScopeException", "Invalid scope: "+sc)
		}
	}
	for _, g := range in.GrantTypes {
		if !slices.Contains(knownGrants, g) {
			return nil, oidcErr("InvalidClientMetadataException", "Invalid grant type: "+g)
		}
	}
	for _, u := range in.RedirectURIs {
		if !loopbackRedirect(u) {
			return nil, oidcErr("InvalidRedirectUriException", "Invalid redirect URI: "+u)
		}
	}
	if slices.Contains(in.GrantTypes, GrantAuthorizationCode) && len(in.RedirectURIs) == 0 {
		return nil, oidcErr("InvalidRequestException", "redirectUris is required for the authorization_code grant")
	}
	st := s.ssoLocked()
	if in.IssuerURL != "" && st.instances[in.IssuerURL] == nil {
		return nil, oidcErr("InvalidRequestException", "Invalid issuerUrl")
	}
	now := s.now().UTC().Truncate(time.Second)
	c := &ssoClient{id: newSSOClientID(), secret: newSSOClientSecret(), name: in.ClientName,
		scopes: slices.Clone(in.Scopes), grantTypes: slices.Clone(in.GrantTypes),
		redirectURIs: slices.Clone(in.RedirectURIs), issuerURL: in.IssuerURL,
		issued: now, expires: now.Add(st.life.ClientSecret)}
	st.clients[c.id] = c
	out := map[string]any{
		"clientId":              c.id,
		"clientSecret":          c.secret,
		"clientIdIssuedAt":      c.issued.Unix(),
		"clientSecretExpiresAt": c.expires.Unix(),
	}
	if c.allows(GrantAuthorizationCode) {
		out["authorizationEndpoint"] = baseURL(r) + "/authorize"
		out["tokenEndpoint"] = baseURL(r) + "/token"
	}
	return out, nil
}

// loopbackRedirect: only http://127.0.0.1, http://[::1] or
// http://localhost redirect URIs, with any port, as for native apps
// (RFC 8252 7.3).
func loopbackRedirect(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// redirectRegistered compares a redirect_uri with the client's registered
// ones, ignoring the port (the client's listener picks one at random).
func redirectRegistered(c *ssoClient, raw string) bool {
	if !loopbackRedirect(raw) {
		return false
	}
	u, _ := url.Parse(raw)
	for _, reg := range c.redirectURIs {
		ru, err := url.Parse(reg)
		if err != nil {
			continue
		}
		if ru.Hostname() == u.Hostname() && strings.TrimSuffix(ru.Path, "/") == strings.TrimSuffix(u.Path, "/") &&
			(ru.Port() == "" || ru.Port() == u.Port()) {
			return true
		}
	}
	return false
}

// ssoClientAuth checks a client's ID and secret.
func (s *Server) ssoClientAuth(id, secret string) (*ssoClient, *ssoError) {
	c := s.ssoLocked().clients[id]
	if c == nil || subtle.ConstantTimeCompare([]byte(c.secret), []byte(secret)) != 1 {
		return nil, oidcErr("InvalidClientException", "Invalid client")
	}
	if !s.now().Before(c.expires) {
		return nil, oidcErr("InvalidClientException", "Client registration expired")
	}
	return c, nil
}

// instanceFor finds the instance a client signs in to without a start URL
// (the authorization-code flow): the one named by issuerUrl, or the only one.
func (st *ssoState) instanceFor(c *ssoClient) *ssoInstance {
	if c.issuerURL != "" {
		return st.instances[c.issuerURL]
	}
	if len(st.instanceOrder) == 1 {
		return st.instances[st.instanceOrder[0]]
	}
	return nil
}

type startDeviceAuthorizationRequest struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	StartURL     string `json:"startUrl"`
}

func (s *Server) ssoStartDeviceAuthorization(r *http.Request, body []byte) (any, *ssoError) {
	var in startDeviceAuthorizationRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, e
	}
	if in.ClientID == "" || in.ClientSecret == "" || in.StartURL == "" {
		return nil, oidcErr("InvalidRequestException", "clientId, clientSecret and startUrl are required")
	}
	c, e := s.ssoClientAuth(in.ClientID, in.ClientSecret)
	if e != nil {
		return nil, e
	}
	if !c.allows(GrantDeviceCode) {
		return nil, oidcErr("UnauthorizedClientException", "Client is not authorized for the device code grant")
	}
	st := s.ssoLocked()
	inst := st.instances[in.StartURL]
	if inst == nil {
		return nil, oidcErr("InvalidRequestException", "Invalid start URL")
	}
	d := &ssoDevice{deviceCode: newSSODeviceCode(), clientID: c.id, inst: inst,
		expires: s.now().Add(st.life.DeviceCode)}
	for {
		d.userCode = newSSOUserCode()
		if st.userCodes[d.userCode] == nil {
			break
		}
	}
	st.devices[d.deviceCode] = d
	st.userCodes[d.userCode] = d
	verify := baseURL(r) + "/device"
	return map[string]any{
		"deviceCode":              d.deviceCode,
		"userCode":                d.userCode,
		"verificationUri":         verify,
		"verificationUriComplete": verify + "?user_code=" + url.QueryEscape(d.userCode),
		"expiresIn":               int64(st.life.DeviceCode / time.Second),
		"interval":                intervalSeconds(st.life.Interval),
	}, nil
}

func intervalSeconds(d time.Duration) int64 {
	n := int64((d + time.Second - 1) / time.Second)
	if n < 1 {
		n = 1
	}
	return n
}

type createTokenRequest struct {
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret"`
	GrantType    string   `json:"grantType"`
	DeviceCode   string   `json:"deviceCode"`
	Code         string   `json:"code"`
	RefreshToken string   `json:"refreshToken"`
	Scope        []string `json:"scope"`
	RedirectURI  string   `json:"redirectUri"`
	CodeVerifier string   `json:"codeVerifier"`
}

func (s *Server) ssoCreateToken(r *http.Request, body []byte) (any, *ssoError) {
	var in createTokenRequest
	if e := decodeJSON(body, &in); e != nil {
		return nil, e
	}
	out, e := s.createToken(r, &in)
	st := s.ssoLocked()
	g := shortGrant(in.GrantType)
	if e != nil {
		st.counts.TokenFailures[g]++
		st.counts.TokenErrors[e.Code]++
	} else {
		st.counts.TokenByGrant[g]++
	}
	return out, e
}

func (s *Server) createToken(r *http.Request, in *createTokenRequest) (any, *ssoError) {
	if r.URL.Query().Has("aws_iam") {
		return nil, oidcErr("InvalidRequestException", "CreateTokenWithIAM is not emulated")
	}
	if in.ClientID == "" || in.ClientSecret == "" || in.GrantType == "" {
		return nil, oidcErr("InvalidRequestException", "clientId, clientSecret and grantType are required")
	}
	c, e := s.ssoClientAuth(in.ClientID, in.ClientSecret)
	if e != nil {
		return nil, e
	}
	if !slices.Contains(knownGrants, in.GrantType) {
		return nil, oidcErr("UnsupportedGrantTypeException", "Unsupported grant type: "+in.GrantType)
	}
	if !c.allows(in.GrantType) {
		return nil, oidcErr("UnauthorizedClientException", "Client is not authorized for the "+in.GrantType+" grant")
	}
	st := s.ssoLocked()
	now := s.now()
	switch in.GrantType {
	case GrantDeviceCode:
		if in.DeviceCode == "" {
			return nil, oidcErr("InvalidRequestException", "deviceCode is required")
		}
		d := st.devices[in.DeviceCode]
		if d == nil || d.clientID != c.id || d.state == deviceUsed {
			return nil, oidcErr("InvalidGrantException", "Invalid device code provided")
		}
		if !now.Before(d.expires) {
			return nil, oidcErr("ExpiredTokenException", "Device code has expired")
		}
		// The interval is measured on this machine's monotonic clock: the
		// client sleeps in real time whatever SetNow says.
		wall := time.Now()
		tooSoon := !d.lastPoll.IsZero() && wall.Sub(d.lastPoll) < st.life.Interval
		d.lastPoll = wall
		switch {
		case d.state == deviceDenied:
			return nil, oidcErr("AccessDeniedException", "The user denied the authorization request")
		case tooSoon:
			return nil, oidcErr("SlowDownException", "Client is polling too fast")
		case d.state == devicePending:
			return nil, oidcErr("AuthorizationPendingException", "Authorization is still pending")
		}
		d.state = deviceUsed
		delete(st.userCodes, d.userCode)
		grant := &ssoGrant{inst: d.inst, user: d.user, clientID: c.id, scopes: slices.Clone(c.scopes)}
		return s.issueSSOTokens(grant, true, ""), nil

	case GrantAuthorizationCode:
		if in.Code == "" || in.RedirectURI == "" || in.CodeVerifier == "" {
			return nil, oidcErr("InvalidRequestException", "code, redirectUri and codeVerifier are required")
		}
		ac := st.authCodes[in.Code]
		if ac == nil || ac.clientID != c.id || ac.used {
			return nil, oidcErr("InvalidGrantException", "Invalid authorization code provided")
		}
		ac.used = true // one attempt, right or wrong, as OAuth asks
		if !now.Before(ac.expires) {
			return nil, oidcErr("InvalidGrantException", "Authorization code has expired")
		}
		if in.RedirectURI != ac.redirectURI {
			return nil, oidcErr("InvalidGrantException", "Redirect URI does not match the authorization request")
		}
		sum := sha256.Sum256([]byte(in.CodeVerifier))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != ac.challenge {
			return nil, oidcErr("InvalidGrantException", "Code verifier does not match the code challenge")
		}
		grant := &ssoGrant{inst: ac.inst, user: ac.user, clientID: c.id, scopes: slices.Clone(ac.scopes)}
		return s.issueSSOTokens(grant, true, ""), nil

	default: // refresh_token
		if in.RefreshToken == "" {
			return nil, oidcErr("InvalidRequestException", "refreshToken is required")
		}
		rt := st.refresh[in.RefreshToken]
		if rt == nil || rt.retired || rt.grant.revoked || rt.grant.clientID != c.id {
			return nil, oidcErr("InvalidGrantException", "Invalid refresh token provided")
		}
		if !now.Before(rt.expires) {
			return nil, oidcErr("InvalidGrantException", "Refresh token has expired")
		}
		for _, sc := range in.Scope {
			if !slices.Contains(rt.grant.scopes, sc) {
				return nil, oidcErr("InvalidScopeException", "Invalid scope: "+sc)
			}
		}
		if st.noRotation {
			return s.issueSSOTokens(rt.grant, false, in.RefreshToken), nil
		}
		rt.retired = true
		return s.issueSSOTokens(rt.grant, true, ""), nil
	}
}

// issueSSOTokens mints an access token for grant and, for a client
// registered with scopes, a refresh token (a new one, or keep again).
func (s *Server) issueSSOTokens(grant *ssoGrant, newRefresh bool, keep string) map[string]any {
	st := s.ssoLocked()
	now := s.now()
	if grant.ends.IsZero() {
		grant.ends = now.Add(st.life.RefreshToken)
	}
	at := newSSOAccessToken()
	st.access[at] = &ssoAccessToken{grant: grant, expires: now.Add(st.life.AccessToken)}
	out := map[string]any{
		"accessToken": at,
		"tokenType":   "Bearer",
		"expiresIn":   int64(st.life.AccessToken / time.Second),
	}
	switch {
	case len(grant.scopes) == 0:
	case newRefresh:
		rt := newSSORefreshToken()
		st.refresh[rt] = &ssoRefreshToken{grant: grant, expires: grant.ends}
		out["refreshToken"] = rt
	default:
		out["refreshToken"] = keep
	}
	return out
}
