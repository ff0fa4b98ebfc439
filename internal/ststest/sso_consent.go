// The pages a person's browser visits to sign in: the authorization
// endpoint (GET /authorize, the authorization-code flow with PKCE), the
// device verification page (GET /device?user_code=…) and the consent form
// both show, which posts the choice to POST /consent.
//
// A real person can click through them. The fake browser
// (e2e/internal/fakebrowser) posts the form the same way. A visit that
// does not ask for HTML gets the decision SetSSOConsent set instead.

package ststest

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

var consentPage = template.Must(template.New("consent").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} - ststest IAM Identity Center</title></head>
<body>
<h1>{{.Title}}</h1>
{{if .Message}}<p id="sso-message">{{.Message}}</p>{{end}}
{{if .Form}}
<p>Signed in to <code>{{.StartURL}}</code> as <strong>{{.User}}</strong>.</p>
<p>Allow <strong>{{.ClientName}}</strong> to access your data?{{if .Scopes}} Scopes: <code>{{.Scopes}}</code>.{{end}}</p>
{{if .UserCode}}<p>Code: <code id="sso-user-code">{{.UserCode}}</code></p>{{end}}
<form id="sso-consent" method="post" action="/consent">
<input type="hidden" name="kind" value="{{.Kind}}">
<input type="hidden" name="request" value="{{.Request}}">
<button type="submit" name="action" value="approve">Allow access</button>
<button type="submit" name="action" value="deny">Deny</button>
</form>
{{end}}
{{if .AskCode}}
<form id="sso-user-code-form" method="get" action="/device">
<label>Code <input type="text" name="user_code" autocomplete="off"></label>
<button type="submit">Next</button>
</form>
{{end}}
</body></html>
`))

type consentView struct {
	Title, Message                     string
	Form                               bool
	StartURL, User, ClientName, Scopes string
	UserCode, Kind, Request            string
	AskCode                            bool
}

func writePage(w http.ResponseWriter, status int, v consentView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = consentPage.Execute(w, v)
}

// wantsHTML: a browser's navigation asks for text/html.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// pageResult is what a page handler decided, written once s.mu is released.
type pageResult struct {
	status   int
	location string
	view     consentView
	code     string // for History: the OAuth error, "" on success
}

func (s *Server) serveSSOPage(w http.ResponseWriter, r *http.Request) {
	action := map[string]string{"/authorize": "Authorize", "/device": "DeviceVerification", "/consent": "Consent"}[r.URL.Path]
	s.delay(r.Context(), action)
	var res pageResult
	switch {
	case r.URL.Path == "/consent" && r.Method == http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		if err := r.ParseForm(); err != nil {
			res = pageResult{status: http.StatusBadRequest, view: consentView{Title: "Bad request", Message: "The form could not be read."}, code: "invalid_request"}
			break
		}
		s.countCall(action)
		s.mu.Lock()
		res = s.consentPost(r.PostForm)
		s.mu.Unlock()
	case r.Method == http.MethodGet && r.URL.Path != "/consent":
		s.countCall(action)
		s.countSSO(action)
		s.mu.Lock()
		if r.URL.Path == "/authorize" {
			res = s.authorizeVisit(r)
		} else {
			res = s.deviceVisit(r)
		}
		s.mu.Unlock()
	default:
		w.Header().Set("Allow", "GET")
		if r.URL.Path == "/consent" {
			w.Header().Set("Allow", "POST")
		}
		res = pageResult{status: http.StatusMethodNotAllowed, view: consentView{Title: "Method not allowed"}, code: "method_not_allowed"}
	}
	s.record(Call{Time: s.Now(), Service: "sso-signin", Action: action, Code: res.code, Status: res.status})
	if res.location != "" {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, res.location, res.status)
		return
	}
	writePage(w, res.status, res.view)
}

func errorPage(status int, code, msg string) pageResult {
	return pageResult{status: status, view: consentView{Title: "Sign-in failed", Message: msg}, code: code}
}

// redirectWith appends params to a (registered, loopback) redirect URI.
func redirectWith(redirectURI string, params url.Values) string {
	u, _ := url.Parse(redirectURI)
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *Server) authorizeVisit(r *http.Request) pageResult {
	q := r.URL.Query()
	st := s.ssoLocked()
	c := st.clients[q.Get("client_id")]
	if c == nil || !s.now().Before(c.expires) {
		return errorPage(http.StatusBadRequest, "invalid_client", "The client is not registered, or its registration expired.")
	}
	redirectURI := q.Get("redirect_uri")
	if !redirectRegistered(c, redirectURI) {
		// Never redirect to a URI the client did not register.
		return errorPage(http.StatusBadRequest, "invalid_redirect_uri", "The redirect_uri is not a loopback URI the client registered.")
	}
	state := q.Get("state")
	fail := func(code, desc string) pageResult {
		p := url.Values{"error": {code}, "error_description": {desc}}
		if state != "" {
			p.Set("state", state)
		}
		return pageResult{status: http.StatusFound, location: redirectWith(redirectURI, p), code: code}
	}
	if !c.allows(GrantAuthorizationCode) {
		return fail("unauthorized_client", "The client is not registered for the authorization_code grant")
	}
	if q.Get("response_type") != "code" {
		return fail("unsupported_response_type", "response_type must be code")
	}
	if q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
		return fail("invalid_request", "code_challenge with code_challenge_method=S256 is required")
	}
	var scopes []string
	for _, v := range append(q["scopes"], q["scope"]...) {
		scopes = append(scopes, strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })...)
	}
	if len(scopes) == 0 {
		scopes = slices.Clone(c.scopes)
	}
	for _, sc := range scopes {
		if !slices.Contains(c.scopes, sc) {
			return fail("invalid_scope", "Scope not registered by the client: "+sc)
		}
	}
	inst := st.instanceFor(c)
	if inst == nil {
		return errorPage(http.StatusBadRequest, "invalid_request", "The client names no Identity Center instance (issuerUrl).")
	}
	ar := &ssoAuthRequest{id: randomURLToken(24), client: c, inst: inst, redirectURI: redirectURI, state: state,
		challenge: q.Get("code_challenge"), scopes: scopes, expires: s.now().Add(st.life.AuthCode)}
	st.authRequests[ar.id] = ar
	if wantsHTML(r) {
		return pageResult{status: http.StatusOK, view: consentView{Title: "Authorize request", Form: true,
			StartURL: inst.startURL, User: inst.user, ClientName: c.name, Scopes: strings.Join(scopes, " "),
			Kind: "authorize", Request: ar.id}}
	}
	return s.decideAuthorize(ar, st.consent)
}

func (s *Server) decideAuthorize(ar *ssoAuthRequest, action string) pageResult {
	st := s.ssoLocked()
	if action == "ignore" {
		return pageResult{status: http.StatusOK, view: consentView{Title: "Authorize request", Message: "Waiting for you to allow or deny the request."}}
	}
	delete(st.authRequests, ar.id)
	st.counts.Consent++
	p := url.Values{}
	if ar.state != "" {
		p.Set("state", ar.state)
	}
	if action != "approve" {
		p.Set("error", "access_denied")
		p.Set("error_description", "The user denied the authorization request")
		return pageResult{status: http.StatusFound, location: redirectWith(ar.redirectURI, p), code: "access_denied"}
	}
	code := newSSOAuthCode()
	st.authCodes[code] = &ssoAuthCode{code: code, clientID: ar.client.id, redirectURI: ar.redirectURI,
		challenge: ar.challenge, inst: ar.inst, user: ar.inst.user, scopes: ar.scopes, expires: s.now().Add(st.life.AuthCode)}
	p.Set("code", code)
	return pageResult{status: http.StatusFound, location: redirectWith(ar.redirectURI, p)}
}

func (s *Server) deviceVisit(r *http.Request) pageResult {
	st := s.ssoLocked()
	raw := r.URL.Query().Get("user_code")
	if raw == "" {
		return pageResult{status: http.StatusOK, view: consentView{Title: "Authorize request", Message: "Enter the code shown by the application.", AskCode: true}}
	}
	d := st.userCodes[normalizeUserCode(raw)]
	if d == nil || d.state != devicePending || !s.now().Before(d.expires) {
		return pageResult{status: http.StatusBadRequest, code: "invalid_grant",
			view: consentView{Title: "Authorize request", Message: "The code is not valid, or it expired or was already used.", AskCode: true}}
	}
	if wantsHTML(r) {
		c := st.clients[d.clientID]
		name := ""
		if c != nil {
			name = c.name
		}
		return pageResult{status: http.StatusOK, view: consentView{Title: "Authorize request", Form: true,
			StartURL: d.inst.startURL, User: d.inst.user, ClientName: name, UserCode: d.userCode,
			Kind: "device", Request: d.userCode}}
	}
	return s.decideDevice(d, st.consent)
}

func (s *Server) decideDevice(d *ssoDevice, action string) pageResult {
	st := s.ssoLocked()
	switch action {
	case "approve":
		st.counts.Consent++
		d.state, d.user = deviceApproved, d.inst.user
		return pageResult{status: http.StatusOK, view: consentView{Title: "Request approved", Message: "You can close this window and return to the application."}}
	case "deny":
		st.counts.Consent++
		d.state = deviceDenied
		return pageResult{status: http.StatusOK, code: "access_denied", view: consentView{Title: "Request denied", Message: "The application was not given access."}}
	}
	return pageResult{status: http.StatusOK, view: consentView{Title: "Authorize request", Message: "Waiting for you to allow or deny the request."}}
}

func (s *Server) consentPost(f url.Values) pageResult {
	action := f.Get("action")
	if action != "approve" && action != "deny" {
		return errorPage(http.StatusBadRequest, "invalid_request", "Choose Allow access or Deny.")
	}
	st := s.ssoLocked()
	switch f.Get("kind") {
	case "authorize":
		ar := st.authRequests[f.Get("request")]
		if ar == nil || !s.now().Before(ar.expires) {
			return errorPage(http.StatusBadRequest, "invalid_request", "This sign-in request expired or was already answered. Start again from the application.")
		}
		return s.decideAuthorize(ar, action)
	case "device":
		d := st.userCodes[normalizeUserCode(f.Get("request"))]
		if d == nil || d.state != devicePending || !s.now().Before(d.expires) {
			return errorPage(http.StatusBadRequest, "invalid_grant", "The code is not valid, or it expired or was already used.")
		}
		return s.decideDevice(d, action)
	}
	return errorPage(http.StatusBadRequest, "invalid_request", "Unknown request.")
}
