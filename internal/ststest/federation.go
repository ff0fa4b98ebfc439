package ststest

import (
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// signinTokenLifetime is how long a sign-in token from getSigninToken can be
// redeemed, per AWS's console federation documentation.
const signinTokenLifetime = 15 * time.Minute

type signinToken struct {
	sessionKeyID    string
	issued, expires time.Time
	consoleDuration time.Duration
}

// SigninInfo describes a console sign-in token.
type SigninInfo struct {
	Session Session // the temporary credentials it was made from
	Issued  time.Time
	Expires time.Time // when the token stops being redeemable
	// ConsoleSessionDuration is the console session the token would open:
	// the SessionDuration asked for, or the credentials' remaining life.
	ConsoleSessionDuration time.Duration
}

// ErrInvalidSigninToken is returned by VerifySigninToken for tokens that were
// never issued or have expired.
var ErrInvalidSigninToken = errors.New("ststest: sign-in token is not valid")

// VerifySigninToken says whose session a sign-in token belongs to, if it is
// still redeemable.
func (s *Server) VerifySigninToken(token string) (SigninInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.signin[token]
	if t == nil || !s.now().Before(t.expires) {
		return SigninInfo{}, ErrInvalidSigninToken
	}
	return SigninInfo{
		Session:                cloneSession(s.sessions[t.sessionKeyID]),
		Issued:                 t.issued,
		Expires:                t.expires,
		ConsoleSessionDuration: t.consoleDuration,
	}, nil
}

type federationError struct {
	status int
	msg    string
}

func (s *Server) serveFederation(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	action := r.Form.Get("Action")
	s.countCall(action)
	call := Call{Service: "federation", Action: action}
	s.delay(r.Context(), action)
	if f := s.takeFault(action, false); f != nil {
		s.federationFault(w, call, f)
		return
	}

	var ferr *federationError
	var redirect string
	var body []byte
	s.mu.Lock()
	switch action {
	case "getSigninToken":
		var tok string
		tok, call.AccessKeyID, ferr = s.getSigninToken(r.Form)
		if ferr == nil {
			body, _ = json.Marshal(map[string]string{"SigninToken": tok})
		}
	case "login":
		redirect, ferr = s.login(r.Form)
	default:
		ferr = &federationError{http.StatusBadRequest, "Unsupported Action"}
	}
	s.mu.Unlock()

	call.Time = s.Now()
	if ferr != nil {
		call.Status, call.Code = ferr.status, "FederationError"
		s.record(call)
		http.Error(w, ferr.msg, ferr.status)
		return
	}
	call.Status = http.StatusOK
	s.runHooks(action, call)
	if f := s.takeFault(action, true); f != nil {
		s.federationFault(w, call, f)
		return
	}
	if redirect != "" {
		call.Status = http.StatusFound
		s.record(call)
		http.Redirect(w, r, redirect, http.StatusFound)
		return
	}
	s.record(call)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (s *Server) federationFault(w http.ResponseWriter, call Call, f *Fault) {
	call.Time, call.Code, call.Status = s.Now(), f.Code, f.Status
	s.record(call)
	if f.Drop {
		dropConnection(w)
		return
	}
	http.Error(w, f.Message, f.Status)
}

// getSigninToken accepts only temporary credentials of roles and federated
// users; AWS answers 400 for GetSessionToken and long-term credentials.
func (s *Server) getSigninToken(form url.Values) (string, string, *federationError) {
	bad := func(format string, args ...any) (string, string, *federationError) {
		return "", "", &federationError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
	}
	var creds struct {
		SessionID    string `json:"sessionId"`
		SessionKey   string `json:"sessionKey"`
		SessionToken string `json:"sessionToken"`
	}
	if err := json.Unmarshal([]byte(form.Get("Session")), &creds); err != nil || creds.SessionID == "" {
		return bad("Invalid credentials parameter")
	}
	ss := s.sessions[creds.SessionID]
	if ss == nil || !hmac.Equal([]byte(ss.SecretAccessKey), []byte(creds.SessionKey)) ||
		!hmac.Equal([]byte(ss.SessionToken), []byte(creds.SessionToken)) {
		return bad("Invalid credentials parameter")
	}
	now := s.now()
	if !now.Before(ss.Expiration) {
		return bad("Invalid credentials parameter: the credentials have expired")
	}
	if ss.Kind == KindSessionToken {
		return bad("Invalid credentials parameter: credentials from GetSessionToken cannot be used to sign in to the console")
	}
	console := ss.Expiration.Sub(now)
	if form.Has("SessionDuration") {
		d, err := strconv.Atoi(form.Get("SessionDuration"))
		switch {
		case err != nil || d < 900 || d > 43200:
			return bad("Invalid SessionDuration: must be between 900 and 43200 seconds")
		case ss.Kind == KindFederationToken:
			return bad("SessionDuration is not supported with credentials from GetFederationToken")
		case ss.Chained && time.Duration(d)*time.Second > roleChainingLimit:
			return bad("Invalid SessionDuration: role-chained sessions are limited to one hour")
		}
		console = time.Duration(d) * time.Second
	}
	tok := newSigninToken()
	s.signin[tok] = &signinToken{
		sessionKeyID:    ss.AccessKeyID,
		issued:          now,
		expires:         now.Add(signinTokenLifetime),
		consoleDuration: console,
	}
	return tok, ss.AccessKeyID, nil
}

func (s *Server) login(form url.Values) (string, *federationError) {
	dest := form.Get("Destination")
	u, err := url.Parse(dest)
	if dest == "" || err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") {
		return "", &federationError{http.StatusBadRequest, "Invalid Destination"}
	}
	t := s.signin[form.Get("SigninToken")]
	if t == nil || !s.now().Before(t.expires) {
		return "", &federationError{http.StatusBadRequest, "Invalid or expired SigninToken"}
	}
	return dest, nil
}
