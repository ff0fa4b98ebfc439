package ststest

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/sso/types"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

const testStartURL = "https://d-1234567890.awsapps.com/start"

func oidcClient(u string) *ssooidc.Client {
	return ssooidc.New(ssooidc.Options{Region: "eu-west-1", BaseEndpoint: aws.String(u),
		HTTPClient: awshttp.NewBuildableClient(), Retryer: aws.NopRetryer{}})
}

func portalClient(u string) *sso.Client {
	return sso.New(sso.Options{Region: "eu-west-1", BaseEndpoint: aws.String(u),
		HTTPClient: awshttp.NewBuildableClient(), Retryer: aws.NopRetryer{}})
}

// ssoWorld: one instance, alice assigned to three accounts.
type ssoWorld struct {
	s                   *Server
	url                 string
	oidc                *ssooidc.Client
	portal              *sso.Client
	adminArn, readerArn string
}

func newSSOWorld(t *testing.T) *ssoWorld {
	t.Helper()
	s, u := start(t)
	s.AddSSOInstance(testStartURL, "eu-west-1")
	w := &ssoWorld{s: s, url: u, oidc: oidcClient(u), portal: portalClient(u)}
	w.adminArn = s.AddSSOAssignment(testStartURL, devAcct, "dev", "AdministratorAccess")
	w.readerArn = s.AddSSOAssignment(testStartURL, devAcct, "dev", "ReadOnly")
	s.AddSSOAssignment(testStartURL, prodAcct, "prod", "ReadOnly")
	s.AddSSOAssignment(testStartURL, "555555555555", "sandbox", "AdministratorAccess")
	return w
}

func wantType[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("got %v (%T), want %T", err, err, target)
	}
	return target
}

func (w *ssoWorld) register(t *testing.T, in *ssooidc.RegisterClientInput) *ssooidc.RegisterClientOutput {
	t.Helper()
	if in.ClientName == nil {
		in.ClientName = aws.String("rolevault-test")
	}
	in.ClientType = aws.String("public")
	out, err := w.oidc.RegisterClient(ctx(t), in)
	must(t, err)
	return out
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// consent plays the person: open pageURL as a browser does (asking for
// HTML), then post choice on the consent form. It returns the final
// response without following the redirect to the loopback listener.
func consent(t *testing.T, pageURL, choice string) *http.Response {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, pageURL, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := c.Do(req)
	must(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="sso-consent"`) {
		t.Fatalf("GET %s: %d, no consent form:\n%s", pageURL, resp.StatusCode, page)
	}
	form := url.Values{"action": {choice}}
	for _, m := range hiddenRE.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], m[2])
	}
	u, _ := url.Parse(pageURL)
	resp, err = c.PostForm(u.Scheme+"://"+u.Host+"/consent", form)
	must(t, err)
	resp.Body.Close()
	return resp
}

func TestSSODeviceFlowWithSDK(t *testing.T) {
	w := newSSOWorld(t)
	reg := w.register(t, &ssooidc.RegisterClientInput{Scopes: []string{"sso:account:access"}})
	if aws.ToString(reg.ClientId) == "" || aws.ToString(reg.ClientSecret) == "" || reg.ClientSecretExpiresAt <= reg.ClientIdIssuedAt {
		t.Fatalf("registration: %+v", reg)
	}
	if reg.AuthorizationEndpoint != nil {
		t.Errorf("a device-flow client got an authorization endpoint %q", *reg.AuthorizationEndpoint)
	}
	// A long interval first, so the second immediate poll is surely too fast.
	w.s.SetSSOLifetimes(SSOLifetimes{Interval: time.Hour})
	dev, err := w.oidc.StartDeviceAuthorization(ctx(t), &ssooidc.StartDeviceAuthorizationInput{
		ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(testStartURL)})
	must(t, err)
	if !regexp.MustCompile(`^[A-Z]{4}-[A-Z]{4}$`).MatchString(aws.ToString(dev.UserCode)) || dev.ExpiresIn != 600 ||
		aws.ToString(dev.VerificationUri) != w.url+"/device" ||
		aws.ToString(dev.VerificationUriComplete) != w.url+"/device?user_code="+aws.ToString(dev.UserCode) {
		t.Fatalf("device authorization: %+v", dev)
	}
	poll := func() (*ssooidc.CreateTokenOutput, error) {
		return w.oidc.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String(GrantDeviceCode), DeviceCode: dev.DeviceCode})
	}
	_, err = poll()
	pending := wantType[*oidctypes.AuthorizationPendingException](t, err)
	if aws.ToString(pending.Error_) != "authorization_pending" {
		t.Errorf("error member = %q", aws.ToString(pending.Error_))
	}
	_, err = poll()
	wantType[*oidctypes.SlowDownException](t, err)

	if resp := consent(t, aws.ToString(dev.VerificationUriComplete), "approve"); resp.StatusCode != http.StatusOK {
		t.Fatalf("consent: %d", resp.StatusCode)
	}
	w.s.SetSSOLifetimes(SSOLifetimes{Interval: time.Second})
	time.Sleep(time.Second + 50*time.Millisecond) // honour the interval, as a client does
	tok, err := poll()
	must(t, err)
	if aws.ToString(tok.TokenType) != "Bearer" || tok.ExpiresIn != 3600 || !strings.HasPrefix(aws.ToString(tok.AccessToken), "aoa") ||
		!strings.HasPrefix(aws.ToString(tok.RefreshToken), "aor") {
		t.Fatalf("token: %+v", tok)
	}
	time.Sleep(time.Second + 50*time.Millisecond)
	_, err = poll()
	wantType[*oidctypes.InvalidGrantException](t, err) // single use

	c := w.s.SSOCounts()
	if c.RegisterClient != 1 || c.DeviceAuthorization != 1 || c.DeviceVerification != 1 || c.Consent != 1 ||
		c.TokenByGrant["device_code"] != 1 || c.TokenFailures["device_code"] != 3 ||
		c.TokenErrors["AuthorizationPendingException"] != 1 || c.TokenErrors["SlowDownException"] != 1 {
		t.Errorf("counts: %+v", c)
	}

	// The portal with the token: accounts page by page.
	w.s.SetSSOPageSize(2)
	var ids []string
	pages := 0
	p := sso.NewListAccountsPaginator(w.portal, &sso.ListAccountsInput{AccessToken: tok.AccessToken})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		must(t, err)
		pages++
		for _, a := range out.AccountList {
			ids = append(ids, aws.ToString(a.AccountId)+"="+aws.ToString(a.AccountName))
		}
	}
	if got := strings.Join(ids, " "); got != devAcct+"=dev "+prodAcct+"=prod 555555555555=sandbox" || pages != 2 {
		t.Fatalf("accounts %q in %d pages", got, pages)
	}
	roles, err := w.portal.ListAccountRoles(ctx(t), &sso.ListAccountRolesInput{AccessToken: tok.AccessToken, AccountId: aws.String(devAcct)})
	must(t, err)
	if len(roles.RoleList) != 2 || aws.ToString(roles.RoleList[0].RoleName) != "AdministratorAccess" || aws.ToString(roles.RoleList[1].RoleName) != "ReadOnly" {
		t.Fatalf("roles: %+v", roles.RoleList)
	}
	if w.s.SSOCounts().ListAccounts != 2 || w.s.Calls("ListAccounts") != 2 {
		t.Errorf("ListAccounts counted %d/%d, want 2", w.s.SSOCounts().ListAccounts, w.s.Calls("ListAccounts"))
	}

	// Refresh with rotation: the old refresh token stops working.
	refresh := func(rt *string) (*ssooidc.CreateTokenOutput, error) {
		return w.oidc.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String(GrantRefreshToken), RefreshToken: rt})
	}
	tok2, err := refresh(tok.RefreshToken)
	must(t, err)
	if aws.ToString(tok2.RefreshToken) == aws.ToString(tok.RefreshToken) || aws.ToString(tok2.AccessToken) == aws.ToString(tok.AccessToken) {
		t.Fatal("refresh did not rotate")
	}
	_, err = refresh(tok.RefreshToken)
	wantType[*oidctypes.InvalidGrantException](t, err)
	// Without rotation the same refresh token comes back and keeps working.
	w.s.SetSSORefreshRotation(false)
	tok3, err := refresh(tok2.RefreshToken)
	must(t, err)
	if aws.ToString(tok3.RefreshToken) != aws.ToString(tok2.RefreshToken) {
		t.Fatal("refresh rotated with rotation off")
	}
	_, err = refresh(tok2.RefreshToken)
	must(t, err)

	// Logout ends the sign-in: access and refresh tokens.
	_, err = w.portal.Logout(ctx(t), &sso.LogoutInput{AccessToken: tok3.AccessToken})
	must(t, err)
	_, err = w.portal.GetRoleCredentials(ctx(t), &sso.GetRoleCredentialsInput{AccessToken: tok3.AccessToken,
		AccountId: aws.String(devAcct), RoleName: aws.String("ReadOnly")})
	wantType[*ssotypes.UnauthorizedException](t, err)
	_, err = w.portal.ListAccounts(ctx(t), &sso.ListAccountsInput{AccessToken: tok.AccessToken})
	wantType[*ssotypes.UnauthorizedException](t, err) // same sign-in, older access token
	_, err = refresh(tok2.RefreshToken)
	wantType[*oidctypes.InvalidGrantException](t, err)
	if c := w.s.SSOCounts(); c.Logout != 1 || c.TokenByGrant["refresh_token"] != 3 || c.TokenFailures["refresh_token"] != 2 {
		t.Errorf("counts: %+v", c)
	}
}

// deviceToken signs alice in through the device flow with the consent
// default (a visit that does not ask for HTML).
func (w *ssoWorld) deviceToken(t *testing.T, scopes []string) *ssooidc.CreateTokenOutput {
	t.Helper()
	reg := w.register(t, &ssooidc.RegisterClientInput{Scopes: scopes})
	dev, err := w.oidc.StartDeviceAuthorization(ctx(t), &ssooidc.StartDeviceAuthorizationInput{
		ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(testStartURL)})
	must(t, err)
	resp, err := http.Get(aws.ToString(dev.VerificationUriComplete))
	must(t, err)
	resp.Body.Close()
	tok, err := w.oidc.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String(GrantDeviceCode), DeviceCode: dev.DeviceCode})
	must(t, err)
	return tok
}

func TestSSORefreshTokenOnlyWithScopes(t *testing.T) {
	w := newSSOWorld(t)
	if tok := w.deviceToken(t, nil); tok.RefreshToken != nil {
		t.Fatalf("client without scopes got a refresh token")
	}
	if tok := w.deviceToken(t, []string{"sso:account:access"}); aws.ToString(tok.RefreshToken) == "" {
		t.Fatalf("client with scopes got no refresh token")
	}
}

func TestSSODeviceDeniedAndExpired(t *testing.T) {
	w := newSSOWorld(t)
	reg := w.register(t, &ssooidc.RegisterClientInput{Scopes: []string{"sso:account:access"}})
	start := func() *ssooidc.StartDeviceAuthorizationOutput {
		dev, err := w.oidc.StartDeviceAuthorization(ctx(t), &ssooidc.StartDeviceAuthorizationInput{
			ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(testStartURL)})
		must(t, err)
		return dev
	}
	poll := func(dev *ssooidc.StartDeviceAuthorizationOutput) error {
		_, err := w.oidc.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String(GrantDeviceCode), DeviceCode: dev.DeviceCode})
		return err
	}
	denied := start()
	consent(t, aws.ToString(denied.VerificationUriComplete), "deny")
	wantType[*oidctypes.AccessDeniedException](t, poll(denied))

	// "ignore": a visit that does not choose leaves it pending, then it expires.
	w.s.SetSSOConsent("ignore")
	ignored := start()
	resp, err := http.Get(aws.ToString(ignored.VerificationUriComplete))
	must(t, err)
	resp.Body.Close()
	wantType[*oidctypes.AuthorizationPendingException](t, poll(ignored))
	now := time.Now()
	w.s.SetNow(func() time.Time { return now.Add(11 * time.Minute) })
	time.Sleep(1100 * time.Millisecond)
	wantType[*oidctypes.ExpiredTokenException](t, poll(ignored))

	w.s.SetNow(nil)
	w.s.SetSSOConsent("deny")
	dev := start()
	resp, err = http.Get(aws.ToString(dev.VerificationUriComplete))
	must(t, err)
	resp.Body.Close()
	wantType[*oidctypes.AccessDeniedException](t, poll(dev))
}

func pkce() (verifier, challenge string) {
	verifier = randomURLToken(48)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestSSOAuthorizationCodeWithPKCE(t *testing.T) {
	w := newSSOWorld(t)
	reg := w.register(t, &ssooidc.RegisterClientInput{
		Scopes:       []string{"sso:account:access"},
		GrantTypes:   []string{GrantAuthorizationCode, GrantRefreshToken},
		RedirectUris: []string{"http://127.0.0.1/oauth/callback"},
		IssuerUrl:    aws.String(testStartURL),
	})
	if aws.ToString(reg.AuthorizationEndpoint) != w.url+"/authorize" || aws.ToString(reg.TokenEndpoint) != w.url+"/token" {
		t.Fatalf("endpoints: %v %v", aws.ToString(reg.AuthorizationEndpoint), aws.ToString(reg.TokenEndpoint))
	}
	redirect := "http://127.0.0.1:49152/oauth/callback"
	authorizeURL := func(challenge, redirectURI string) string {
		return w.url + "/authorize?" + url.Values{
			"response_type": {"code"}, "client_id": {aws.ToString(reg.ClientId)}, "redirect_uri": {redirectURI},
			"scopes": {"sso:account:access"}, "state": {"st4te"}, "code_challenge": {challenge},
			"code_challenge_method": {"S256"},
		}.Encode()
	}
	codeFrom := func(resp *http.Response) url.Values {
		t.Helper()
		loc, err := resp.Location()
		if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), redirect+"?") {
			t.Fatalf("want 302 to %s, got %d %v", redirect, resp.StatusCode, loc)
		}
		return loc.Query()
	}
	exchange := func(code, verifier string) (*ssooidc.CreateTokenOutput, error) {
		return w.oidc.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String(GrantAuthorizationCode), Code: aws.String(code), RedirectUri: aws.String(redirect),
			CodeVerifier: aws.String(verifier)})
	}

	// A wrong verifier is refused, and the code is spent.
	verifier, challenge := pkce()
	q := codeFrom(consent(t, authorizeURL(challenge, redirect), "approve"))
	if q.Get("state") != "st4te" || q.Get("code") == "" {
		t.Fatalf("redirect query %v", q)
	}
	_, err := exchange(q.Get("code"), verifier+"x")
	wantType[*oidctypes.InvalidGrantException](t, err)
	_, err = exchange(q.Get("code"), verifier)
	wantType[*oidctypes.InvalidGrantException](t, err)

	verifier, challenge = pkce()
	q = codeFrom(consent(t, authorizeURL(challenge, redirect), "approve"))
	tok, err := exchange(q.Get("code"), verifier)
	must(t, err)
	if aws.ToString(tok.RefreshToken) == "" {
		t.Fatal("no refresh token")
	}

	// Deny: back to the listener with error=access_denied and the state.
	q = codeFrom(consent(t, authorizeURL(challenge, redirect), "deny"))
	if q.Get("error") != "access_denied" || q.Get("state") != "st4te" || q.Has("code") {
		t.Fatalf("deny redirect %v", q)
	}

	// Not a registered loopback redirect: an error page, no redirect.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, bad := range []string{"http://127.0.0.1:49152/elsewhere", "http://example.com/oauth/callback"} {
		resp, err := noFollow.Get(authorizeURL(challenge, bad))
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("redirect_uri %s: %d, want 400", bad, resp.StatusCode)
		}
	}
	// No PKCE: refused through the redirect.
	resp, err := noFollow.Get(strings.Replace(authorizeURL(challenge, redirect), "S256", "plain", 1))
	must(t, err)
	resp.Body.Close()
	if q := codeFrom(resp); q.Get("error") != "invalid_request" {
		t.Fatalf("plain challenge: %v", q)
	}
	// An expired code.
	verifier, challenge = pkce()
	resp, err = noFollow.Get(authorizeURL(challenge, redirect)) // consent default: approve
	must(t, err)
	resp.Body.Close()
	code := codeFrom(resp).Get("code")
	now := time.Now()
	w.s.SetNow(func() time.Time { return now.Add(6 * time.Minute) })
	_, err = exchange(code, verifier)
	wantType[*oidctypes.InvalidGrantException](t, err)
	w.s.SetNow(nil)

	// A device-flow client may not use the grant.
	dreg := w.register(t, &ssooidc.RegisterClientInput{Scopes: []string{"sso:account:access"}})
	_, err = w.oidc.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: dreg.ClientId, ClientSecret: dreg.ClientSecret,
		GrantType: aws.String(GrantAuthorizationCode), Code: aws.String(code), RedirectUri: aws.String(redirect),
		CodeVerifier: aws.String(verifier)})
	wantType[*oidctypes.UnauthorizedClientException](t, err)

	if c := w.s.SSOCounts(); c.Authorize != 7 || c.TokenByGrant["authorization_code"] != 1 || c.TokenFailures["authorization_code"] != 4 {
		t.Errorf("counts %+v", c)
	}
}

func TestSSORoleCredentialsWorkWithSTS(t *testing.T) {
	w := newSSOWorld(t)
	w.s.SetSSORoleCredentialsLifetime(2 * time.Hour)
	tok := w.deviceToken(t, []string{"sso:account:access"})
	out, err := w.portal.GetRoleCredentials(ctx(t), &sso.GetRoleCredentialsInput{AccessToken: tok.AccessToken,
		AccountId: aws.String(devAcct), RoleName: aws.String("AdministratorAccess")})
	must(t, err)
	rc := out.RoleCredentials
	if left := time.Until(time.UnixMilli(rc.Expiration)); left < 119*time.Minute || left > 121*time.Minute {
		t.Errorf("expiration in %v, want 2h", left)
	}
	k := keys{aws.ToString(rc.AccessKeyId), aws.ToString(rc.SecretAccessKey), aws.ToString(rc.SessionToken)}
	id, err := stsClient(w.url, k).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	must(t, err)
	want := regexp.MustCompile(`^arn:aws:sts::` + devAcct + `:assumed-role/AWSReservedSSO_AdministratorAccess_[0-9a-f]{16}/alice$`)
	if !want.MatchString(aws.ToString(id.Arn)) || aws.ToString(id.Account) != devAcct {
		t.Fatalf("caller %s", aws.ToString(id.Arn))
	}
	if !strings.HasSuffix(w.adminArn, "/"+strings.Split(aws.ToString(id.Arn), "/")[1]) ||
		!strings.HasPrefix(w.adminArn, "arn:aws:iam::"+devAcct+":role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_") {
		t.Fatalf("role ARN %s vs caller %s", w.adminArn, aws.ToString(id.Arn))
	}

	// AssumeRole: into a role trusting the SSO role, not into one trusting the other.
	target := "arn:aws:iam::" + prodAcct + ":role/deploy"
	must(t, w.s.AddRole(target, RoleOptions{Trust: []string{w.adminArn}}))
	other := "arn:aws:iam::" + prodAcct + ":role/audit"
	must(t, w.s.AddRole(other, RoleOptions{Trust: []string{w.readerArn}}))
	byRoot := "arn:aws:iam::" + prodAcct + ":role/byroot"
	must(t, w.s.AddRole(byRoot, RoleOptions{TrustPolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + devAcct + `:root"},"Action":"sts:AssumeRole"}]}`}))
	for _, role := range []string{target, byRoot} {
		ar, err := stsClient(w.url, k).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("alice")})
		must(t, err)
		if ss, _ := w.s.Session(aws.ToString(ar.Credentials.AccessKeyId)); !ss.Chained || ss.Parent != k.id {
			t.Errorf("%s: session %+v", role, ss)
		}
	}
	_, err = stsClient(w.url, k).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(other), RoleSessionName: aws.String("alice")})
	wantErr(t, err, "AccessDenied", "is not authorized to perform: sts:AssumeRole", 403)

	// Not assigned: Identity Center's ForbiddenException.
	_, err = w.portal.GetRoleCredentials(ctx(t), &sso.GetRoleCredentialsInput{AccessToken: tok.AccessToken,
		AccountId: aws.String(prodAcct), RoleName: aws.String("AdministratorAccess")})
	wantErr(t, err, "ForbiddenException", "No access", 403)
	// An expired access token.
	if n := w.s.ExpireSSOAccessTokens(); n != 1 {
		t.Fatalf("expired %d tokens", n)
	}
	_, err = w.portal.GetRoleCredentials(ctx(t), &sso.GetRoleCredentialsInput{AccessToken: tok.AccessToken,
		AccountId: aws.String(devAcct), RoleName: aws.String("AdministratorAccess")})
	wantType[*ssotypes.UnauthorizedException](t, err)
	// The refresh token still works; an administrator's revocation ends it.
	info, ok := w.s.SSOAccessToken(aws.ToString(tok.AccessToken))
	if !ok || info.User != "alice" || info.StartURL != testStartURL {
		t.Fatalf("token info %+v", info)
	}
	c := w.s.clientOf(t, info.ClientID)
	refresh := func() (*ssooidc.CreateTokenOutput, error) {
		return w.oidc.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: aws.String(info.ClientID), ClientSecret: aws.String(c),
			GrantType: aws.String(GrantRefreshToken), RefreshToken: tok.RefreshToken})
	}
	tok2, err := refresh()
	must(t, err)
	_, err = w.portal.GetRoleCredentials(ctx(t), &sso.GetRoleCredentialsInput{AccessToken: tok2.AccessToken,
		AccountId: aws.String(devAcct), RoleName: aws.String("AdministratorAccess")})
	must(t, err)
	if n := w.s.RevokeSSOSessions(); n != 1 {
		t.Fatalf("revoked %d sign-ins", n)
	}
	tok.RefreshToken = tok2.RefreshToken
	_, err = refresh()
	wantType[*oidctypes.InvalidGrantException](t, err)
}

// clientOf is the secret of a registered client (the test registered it
// through deviceToken and did not keep it).
func (s *Server) clientOf(t *testing.T, id string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.ssoLocked().clients[id]
	if c == nil {
		t.Fatalf("no client %s", id)
	}
	return c.secret
}

// Every refusal reaches the SDK as its typed error.
func TestSSOErrorsAreTyped(t *testing.T) {
	w := newSSOWorld(t)
	reg := w.register(t, &ssooidc.RegisterClientInput{Scopes: []string{"sso:account:access"}})
	tok := w.deviceToken(t, []string{"sso:account:access"})
	c := ctx(t)
	check := func(name string, err error, target any) {
		t.Helper()
		if err == nil || !errors.As(err, target) {
			t.Errorf("%s: got %v (%T), want %T", name, err, err, target)
		}
	}
	_, err := w.oidc.CreateToken(c, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: aws.String("wrong"),
		GrantType: aws.String(GrantRefreshToken), RefreshToken: aws.String("x")})
	check("wrong secret", err, new(*oidctypes.InvalidClientException))
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 401 {
		t.Errorf("wrong secret: status %v", err)
	}
	_, err = w.oidc.StartDeviceAuthorization(c, &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId,
		ClientSecret: reg.ClientSecret, StartUrl: aws.String("https://d-0000000000.awsapps.com/start")})
	check("unknown start URL", err, new(*oidctypes.InvalidRequestException))
	_, err = w.oidc.RegisterClient(c, &ssooidc.RegisterClientInput{ClientName: aws.String("x"), ClientType: aws.String("public"),
		Scopes: []string{"not a scope"}})
	check("bad scope", err, new(*oidctypes.InvalidScopeException))
	_, err = w.oidc.RegisterClient(c, &ssooidc.RegisterClientInput{ClientName: aws.String("x"), ClientType: aws.String("public"),
		GrantTypes: []string{GrantAuthorizationCode}, RedirectUris: []string{"https://example.com/cb"}})
	check("non-loopback redirect", err, new(*oidctypes.InvalidRedirectUriException))
	_, err = w.oidc.CreateToken(c, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String("password")})
	check("unknown grant", err, new(*oidctypes.UnsupportedGrantTypeException))
	_, err = w.oidc.CreateToken(c, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String(GrantRefreshToken), RefreshToken: tok.RefreshToken})
	check("another client's refresh token", err, new(*oidctypes.InvalidGrantException))
	_, err = w.oidc.CreateToken(c, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String(GrantAuthorizationCode), Code: aws.String("c"), RedirectUri: aws.String("http://127.0.0.1/cb"), CodeVerifier: aws.String("v")})
	check("grant not registered", err, new(*oidctypes.UnauthorizedClientException))

	_, err = w.portal.ListAccounts(c, &sso.ListAccountsInput{AccessToken: aws.String("aoa-forged")})
	check("forged token", err, new(*ssotypes.UnauthorizedException))
	_, err = w.portal.ListAccountRoles(c, &sso.ListAccountRolesInput{AccessToken: tok.AccessToken, AccountId: aws.String("999999999999")})
	check("no roles", err, new(*ssotypes.ResourceNotFoundException))
	_, err = w.portal.ListAccounts(c, &sso.ListAccountsInput{AccessToken: tok.AccessToken, NextToken: aws.String("bogus")})
	check("bad next token", err, new(*ssotypes.InvalidRequestException))
	w.s.FailNext("GetRoleCredentials", "TooManyRequestsException", "Rate exceeded", 1)
	_, err = w.portal.GetRoleCredentials(c, &sso.GetRoleCredentialsInput{AccessToken: tok.AccessToken,
		AccountId: aws.String(devAcct), RoleName: aws.String("ReadOnly")})
	check("throttled", err, new(*ssotypes.TooManyRequestsException))
	if !errors.As(err, &re) || re.HTTPStatusCode() != 429 {
		t.Errorf("throttled: status %v", err)
	}
	resp, err := http.Get(w.url + "/token")
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET /token: %d", resp.StatusCode)
	}
	w.s.FailNext("CreateToken", "InternalServerException", "boom", 1)
	_, err = w.oidc.CreateToken(c, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String(GrantDeviceCode), DeviceCode: aws.String("d")})
	check("injected fault", err, new(*oidctypes.InternalServerException))
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorFault() != smithy.FaultServer {
		t.Errorf("InternalServerException fault = %v", ae.ErrorFault())
	}
}

// The demo fixture's Identity Center: alice signs in, her identity-account
// permission set can assume the demo's developer role, the read-only one
// cannot (the world has identity policies).
func TestSSOFixture(t *testing.T) {
	f, err := LoadFixture(filepath.Join("..", "cmd", "ststest", "demo.json"))
	must(t, err)
	s, base := start(t)
	must(t, s.Apply(f))
	w := &ssoWorld{s: s, url: base, oidc: oidcClient(base), portal: portalClient(base)}
	reg := w.register(t, &ssooidc.RegisterClientInput{Scopes: []string{"sso:account:access"}})
	dev, err := w.oidc.StartDeviceAuthorization(ctx(t), &ssooidc.StartDeviceAuthorizationInput{
		ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(f.SSO.Instances[0].StartURL)})
	must(t, err)
	resp, err := http.Get(aws.ToString(dev.VerificationUriComplete))
	must(t, err)
	resp.Body.Close()
	tok, err := w.oidc.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String(GrantDeviceCode), DeviceCode: dev.DeviceCode})
	must(t, err)
	accts, err := w.portal.ListAccounts(ctx(t), &sso.ListAccountsInput{AccessToken: tok.AccessToken})
	must(t, err)
	if len(accts.AccountList) != 3 {
		t.Fatalf("accounts %+v", accts.AccountList)
	}
	creds := func(account, role string) keys {
		out, err := w.portal.GetRoleCredentials(ctx(t), &sso.GetRoleCredentialsInput{AccessToken: tok.AccessToken,
			AccountId: aws.String(account), RoleName: aws.String(role)})
		must(t, err)
		rc := out.RoleCredentials
		return keys{aws.ToString(rc.AccessKeyId), aws.ToString(rc.SecretAccessKey), aws.ToString(rc.SessionToken)}
	}
	devRole := "arn:aws:iam::222222222222:role/developer"
	_, err = stsClient(base, creds(loginAcct, "DeveloperAccess")).AssumeRole(ctx(t), &sts.AssumeRoleInput{
		RoleArn: aws.String(devRole), RoleSessionName: aws.String("alice")})
	must(t, err)
	_, err = stsClient(base, creds("222222222222", "ReadOnlyAccess")).AssumeRole(ctx(t), &sts.AssumeRoleInput{
		RoleArn: aws.String(devRole), RoleSessionName: aws.String("alice")})
	wantErr(t, err, "AccessDenied", "sts:AssumeRole", 403)

	bad := filepath.Join(t.TempDir(), "bad.json")
	must(t, os.WriteFile(bad, []byte(`{"sso":{"consent":"maybe","instances":[]}}`), 0o600))
	bf, err := LoadFixture(bad)
	must(t, err)
	if err := New().Apply(bf); err == nil || !strings.Contains(err.Error(), "maybe") {
		t.Fatalf("bad consent accepted: %v", err)
	}
}

// A client that calls Identity Center's real host names, sent to the
// emulator as through a CONNECT proxy, accepts its certificate, and the
// URLs it is handed name the host it asked for.
func TestSSOOverTLSWithAWSHostNames(t *testing.T) {
	s := New()
	base, caFile := s.StartTLS()
	t.Cleanup(s.Close)
	s.AddSSOInstance(testStartURL, "eu-west-1")
	s.AddSSOAssignment(testStartURL, devAcct, "dev", "ReadOnly")
	pem, err := os.ReadFile(caFile)
	must(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	addr := strings.TrimPrefix(base, "https://")
	hc := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	oidc := ssooidc.New(ssooidc.Options{Region: "eu-west-1", BaseEndpoint: aws.String("https://oidc.eu-west-1.amazonaws.com"),
		HTTPClient: hc, Retryer: aws.NopRetryer{}})
	portal := sso.New(sso.Options{Region: "eu-west-1", BaseEndpoint: aws.String("https://portal.sso.eu-west-1.amazonaws.com"),
		HTTPClient: hc, Retryer: aws.NopRetryer{}})
	reg, err := oidc.RegisterClient(ctx(t), &ssooidc.RegisterClientInput{ClientName: aws.String("tls"), ClientType: aws.String("public")})
	must(t, err)
	dev, err := oidc.StartDeviceAuthorization(ctx(t), &ssooidc.StartDeviceAuthorizationInput{
		ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(testStartURL)})
	must(t, err)
	if !strings.HasPrefix(aws.ToString(dev.VerificationUriComplete), "https://oidc.eu-west-1.amazonaws.com/device?user_code=") {
		t.Fatalf("verification URI %s", aws.ToString(dev.VerificationUriComplete))
	}
	resp, err := hc.Get(aws.ToString(dev.VerificationUriComplete))
	must(t, err)
	resp.Body.Close()
	tok, err := oidc.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String(GrantDeviceCode), DeviceCode: dev.DeviceCode})
	must(t, err)
	_, err = portal.GetRoleCredentials(ctx(t), &sso.GetRoleCredentialsInput{AccessToken: tok.AccessToken,
		AccountId: aws.String(devAcct), RoleName: aws.String("ReadOnly")})
	must(t, err)
}
