package ststest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func signinRequest(t *testing.T, base string, k keys, duration int) (*http.Response, string) {
	t.Helper()
	sess, _ := json.Marshal(map[string]string{"sessionId": k.id, "sessionKey": k.secret, "sessionToken": k.token})
	q := url.Values{"Action": {"getSigninToken"}, "Session": {string(sess)}}
	if duration > 0 {
		q.Set("SessionDuration", strconv.Itoa(duration))
	}
	resp, err := http.Get(base + "/federation?" + q.Encode())
	must(t, err)
	defer resp.Body.Close()
	var out struct{ SigninToken string }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out.SigninToken
}

func TestFederationGetSigninToken(t *testing.T) {
	w := newWorld(t)
	fed, err := stsClient(w.url, w.alice).GetFederationToken(ctx(t), &sts.GetFederationTokenInput{Name: aws.String("console")})
	must(t, err)
	roleSess := w.assume(t, w.alice, w.devRole)
	chainedRole := "arn:aws:iam::" + devAcct + ":role/chained"
	must(t, w.s.AddRole(chainedRole, RoleOptions{Trust: []string{w.devRole}}))
	chained := w.assume(t, roleSess, chainedRole)
	gst, err := stsClient(w.url, w.alice).GetSessionToken(ctx(t), nil)
	must(t, err)
	wrongSecret := roleSess
	// Change the first character to one it cannot already be, so the secret
	// is always wrong (a fixed "x" matched about one secret in 64).
	first := byte('x')
	if wrongSecret.secret[0] == first {
		first = 'y'
	}
	wrongSecret.secret = string(first) + wrongSecret.secret[1:]

	tests := []struct {
		name     string
		creds    keys
		duration int
		status   int
	}{
		{"role session", roleSess, 0, 200},
		{"role session for 12 hours", roleSess, 43200, 200},
		{"role session, duration too long", roleSess, 43201, 400},
		{"role session, duration too short", roleSess, 899, 400},
		{"federated user", fromCreds(fed.Credentials), 0, 200},
		{"federated user with SessionDuration", fromCreds(fed.Credentials), 3600, 400},
		{"chained role session for an hour", chained, 3600, 200},
		{"chained role session beyond an hour", chained, 3601, 400},
		{"GetSessionToken credentials", fromCreds(gst.Credentials), 0, 400},
		{"long-term key", w.alice, 0, 400},
		{"wrong secret", wrongSecret, 0, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, tok := signinRequest(t, w.url, tc.creds, tc.duration)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				return
			}
			info, err := w.s.VerifySigninToken(tok)
			must(t, err)
			if info.Session.AccessKeyID != tc.creds.id {
				t.Fatalf("token belongs to %s", info.Session.AccessKeyID)
			}
			if tc.duration > 0 && info.ConsoleSessionDuration != time.Duration(tc.duration)*time.Second {
				t.Fatalf("console session %v", info.ConsoleSessionDuration)
			}
		})
	}
}

func TestFederationLogin(t *testing.T) {
	w := newWorld(t)
	_, tok := signinRequest(t, w.url, w.assume(t, w.alice, w.devRole), 0)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func(token, dest string) *http.Response {
		q := url.Values{"Action": {"login"}, "Issuer": {"rolevault"}, "Destination": {dest}, "SigninToken": {token}}
		resp, err := noRedirect.Get(w.url + "/federation?" + q.Encode())
		must(t, err)
		resp.Body.Close()
		return resp
	}
	dest := "https://console.aws.amazon.com/console/home?region=eu-west-1"
	if resp := login(tok, dest); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != dest {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := login("bogus", dest); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bogus token: %d", resp.StatusCode)
	}
	if resp := login(tok, "not a url"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad destination: %d", resp.StatusCode)
	}
	w.s.SetNow(func() time.Time { return time.Now().Add(16 * time.Minute) })
	if resp := login(tok, dest); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("expired token: %d", resp.StatusCode)
	}
	if _, err := w.s.VerifySigninToken(tok); err != ErrInvalidSigninToken {
		t.Fatalf("VerifySigninToken after 16 minutes: %v", err)
	}
	if w.s.Calls("getSigninToken") != 1 || w.s.Calls("login") != 4 {
		t.Fatalf("calls: %d %d", w.s.Calls("getSigninToken"), w.s.Calls("login"))
	}
}
