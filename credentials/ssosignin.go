// Signing a person in to IAM Identity Center: the client registration, the authorization-code flow with PKCE and a loopback redirect, and the device-authorization flow.

package credentials

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/keychain"
)

// ssoClientName is what rolevault registers as with IAM Identity Center.
const ssoClientName = "rolevault"

// OAuth grant types of CreateToken.
const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// callbackPath is the loopback redirect's path, as the AWS CLI uses it.
const callbackPath = "/oauth/callback"

// ssoSignInError is a sign-in that ended without a token: denied, expired,
// timed out. One line; the hint says what to do.
func ssoSignInError(s *config.SSOSettings, what, hint string, cause error) error {
	return &ProviderError{Err: fmt.Errorf("IAM Identity Center sign-in to %s %s", s.StartURL, what), HintLine: hint, Cause: cause}
}

// ssoSignIn signs the person in with the flow ChooseFlow picks, falling
// back to the device flow when the browser does not open. reg holds the
// registration to reuse, if any.
func (p *Provider) ssoSignIn(ctx context.Context, prof *config.Profile, s *config.SSOSettings, oidc *ssooidc.Client, reg *keychain.SSOToken) (*keychain.SSOToken, error) {
	opts := &p.SSO
	flow, why := opts.ChooseFlow()
	p.debugf("signing in to %s with the %s flow: %s", s.StartURL, flow, why)
	ctx, cancel := context.WithTimeout(ctx, opts.timeout())
	defer cancel()
	if flow == SSOFlowBrowser {
		t, err := p.browserSignIn(ctx, prof, s, oidc, reg)
		var nb *noBrowserError
		if !errors.As(err, &nb) {
			return t, p.signInCtxError(ctx, s, err)
		}
		opts.tell("rolevault: %s; signing in with a code instead", nb.why)
		p.debugf("falling back to the %s flow: %s", SSOFlowDevice, nb.why)
	}
	t, err := p.deviceSignIn(ctx, s, oidc, reg)
	return t, p.signInCtxError(ctx, s, err)
}

// signInCtxError turns the end of the sign-in's context into its error:
// the timeout, or the person's Ctrl-C.
func (p *Provider) signInCtxError(ctx context.Context, s *config.SSOSettings, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && context.Cause(ctx) == context.DeadlineExceeded {
		d := p.SSO.timeout()
		return ssoSignInError(s, fmt.Sprintf("was not completed within %s", d),
			fmt.Sprintf("run the command again and finish signing in within %s, or give yourself longer with %s=10m", d, SSOTimeoutEnv), ctx.Err())
	}
	return keychain.InterruptedWhile(ctx, "waiting for you to sign in to "+s.StartURL)
}

// register returns a client registration for grantTypes (nil for the
// device flow's default), reusing reg's while it is valid and fits.
func (p *Provider) register(ctx context.Context, s *config.SSOSettings, oidc *ssooidc.Client, reg *keychain.SSOToken, grantTypes []string) (*keychain.SSOToken, error) {
	scopes := s.Scopes()
	if reg.RegistrationValid(p.now()) && scopesEqual(reg.Scopes, scopes) && scopesEqual(reg.GrantTypes, grantTypes) {
		p.debugf("reusing the IAM Identity Center client registration %s (until %s)", mask(reg.ClientID), reg.ClientSecretExpiresAt.UTC().Format(time.RFC3339))
		return reg, nil
	}
	in := &ssooidc.RegisterClientInput{ClientName: aws.String(ssoClientName), ClientType: aws.String("public"), Scopes: scopes}
	if len(grantTypes) > 0 {
		in.GrantTypes = grantTypes
		in.RedirectUris = []string{"http://127.0.0.1" + callbackPath}
		in.IssuerUrl = aws.String(s.StartURL)
	}
	out, err := oidc.RegisterClient(ctx, in)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &ProviderError{Err: fmt.Errorf("registering rolevault with IAM Identity Center in %s failed (%s)", s.Region, ssoFailure(err)),
			HintLine: "check sso_region and sso_registration_scopes of the sign-in, and your network", Cause: err}
	}
	p.debugf("registered IAM Identity Center client %s (until %s, scopes %v)", mask(aws.ToString(out.ClientId)), time.Unix(out.ClientSecretExpiresAt, 0).UTC().Format(time.RFC3339), scopes)
	return &keychain.SSOToken{
		Name: s.TokenName(), StartURL: s.StartURL, Region: s.Region,
		ClientID: aws.ToString(out.ClientId), ClientSecret: aws.ToString(out.ClientSecret),
		ClientSecretExpiresAt: time.Unix(out.ClientSecretExpiresAt, 0), Scopes: scopes, GrantTypes: grantTypes,
	}, nil
}

// withToken fills a registration's copy with CreateToken's answer.
func (p *Provider) withToken(reg *keychain.SSOToken, out *ssooidc.CreateTokenOutput, issued time.Time) (*keychain.SSOToken, error) {
	t := *reg
	t.AccessToken, t.RefreshToken = aws.ToString(out.AccessToken), aws.ToString(out.RefreshToken)
	t.IssuedAt, t.ExpiresAt = issued, issued.Add(time.Duration(out.ExpiresIn)*time.Second)
	if t.AccessToken == "" {
		return nil, errors.New("IAM Identity Center returned no access token")
	}
	return &t, nil
}

// noBrowserError says the browser flow could not start because no browser
// opened; the device flow is tried instead.
type noBrowserError struct{ why string }

func (e *noBrowserError) Error() string { return e.why }

// callbackResult is what the loopback listener got from the browser.
type callbackResult struct {
	code, errCode, errDesc string
}

// browserSignIn is the authorization-code flow with PKCE (RFC 7636, S256):
// the browser is sent to the OIDC /authorize page with a challenge and a
// state, and comes back to a listener on 127.0.0.1 with a code that only
// the holder of the verifier can exchange. The listener is closed whatever
// happens.
func (p *Provider) browserSignIn(ctx context.Context, prof *config.Profile, s *config.SSOSettings, oidc *ssooidc.Client, reg *keychain.SSOToken) (*keychain.SSOToken, error) {
	grants := []string{grantAuthorizationCode}
	if len(s.Scopes()) > 0 {
		grants = append(grants, grantRefreshToken)
	}
	reg, err := p.register(ctx, s, oidc, reg, grants)
	if err != nil {
		return nil, err
	}
	verifier, err := randomURLString(32)
	if err != nil {
		return nil, err
	}
	state, err := randomURLString(32)
	if err != nil {
		return nil, err
	}
	challenge := pkceChallenge(verifier)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, &noBrowserError{why: fmt.Sprintf("could not listen on 127.0.0.1 for the browser's redirect (%v)", err)}
	}
	redirect := "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + callbackPath
	results := make(chan callbackResult, 1)
	var once sync.Once
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if r.URL.Path != callbackPath || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
				// Not our redirect (a stale tab, another page probing the
				// port): refuse it and keep waiting for the real one.
				http.Error(w, "This is not the sign-in rolevault is waiting for.", http.StatusBadRequest)
				return
			}
			res := callbackResult{code: q.Get("code"), errCode: q.Get("error"), errDesc: q.Get("error_description")}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			if res.code != "" {
				fmt.Fprint(w, "<!doctype html><title>rolevault</title><p>Signed in to "+html.EscapeString(s.StartURL)+". You can close this tab.")
			} else {
				fmt.Fprint(w, "<!doctype html><title>rolevault</title><p>The sign-in did not complete. You can close this tab.")
			}
			once.Do(func() { results <- res })
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	q := url.Values{}
	q.Set("response_type", "code")
	q.Set("client_id", reg.ClientID)
	q.Set("redirect_uri", redirect)
	q.Set("state", state)
	q.Set("code_challenge_method", "S256")
	q.Set("code_challenge", challenge)
	if sc := reg.Scopes; len(sc) > 0 {
		q.Set("scopes", strings.Join(sc, " "))
	}
	authURL := oidcBase(prof, s.Region) + "/authorize?" + q.Encode()
	p.SSO.tell("rolevault: opening your browser to sign in to %s (waiting up to %s; Ctrl-C to stop)", s.StartURL, p.SSO.timeout())
	p.debugf("authorization-code sign-in: redirect %s", redirect)
	if err := p.SSO.OpenBrowser(authURL); err != nil {
		return nil, &noBrowserError{why: err.Error()}
	}
	p.SSO.tell("rolevault: if no browser tab opened, open this URL yourself: %s", authURL)

	var res callbackResult
	select {
	case res = <-results:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	switch {
	case res.errCode == "access_denied":
		return nil, ssoSignInError(s, "was denied in the browser", "run the command again and choose Allow, or check with your administrator that you may use this application", nil)
	case res.errCode != "":
		return nil, ssoSignInError(s, fmt.Sprintf("failed in the browser (%s: %s)", res.errCode, oneLine(res.errDesc)), "run the command again; if it keeps failing, try the device flow with --stdout", nil)
	case res.code == "":
		return nil, ssoSignInError(s, "came back without an authorization code", "run the command again", nil)
	}
	issued := p.now()
	out, err := oidc.CreateToken(ctx, &ssooidc.CreateTokenInput{
		ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret),
		GrantType: aws.String(grantAuthorizationCode), Code: aws.String(res.code),
		RedirectUri: aws.String(redirect), CodeVerifier: aws.String(verifier),
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ssoSignInError(s, fmt.Sprintf("was refused when rolevault asked for the token (%s)", ssoFailure(err)), "run the command again", err)
	}
	p.debugf("signed in to %s in the browser", s.StartURL)
	return p.withToken(reg, out, issued)
}

// deviceSignIn is the device-authorization flow (RFC 8628): a code the
// person enters on a page, and CreateToken polled until they approve,
// honouring interval, authorization_pending, slow_down and expired_token.
func (p *Provider) deviceSignIn(ctx context.Context, s *config.SSOSettings, oidc *ssooidc.Client, reg *keychain.SSOToken) (*keychain.SSOToken, error) {
	reg, err := p.register(ctx, s, oidc, reg, nil)
	if err != nil {
		return nil, err
	}
	da, err := oidc.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{
		ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret), StartUrl: aws.String(s.StartURL),
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &ProviderError{Err: fmt.Errorf("starting the IAM Identity Center sign-in to %s failed (%s)", s.StartURL, ssoFailure(err)),
			HintLine: "check sso_start_url and sso_region of the sign-in", Cause: err}
	}
	p.SSO.tell("rolevault: to sign in to %s, open %s and enter the code %s", s.StartURL, aws.ToString(da.VerificationUri), aws.ToString(da.UserCode))
	if c := aws.ToString(da.VerificationUriComplete); c != "" {
		p.SSO.tell("rolevault: (or open %s) — waiting up to %s; Ctrl-C to stop", c, p.SSO.timeout())
	}
	interval := 5 * time.Second
	if da.Interval > 0 {
		interval = time.Duration(da.Interval) * time.Second
	}
	if da.ExpiresIn > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadlineCause(ctx, p.now().Add(time.Duration(da.ExpiresIn)*time.Second), errDeviceCodeExpired)
		defer cancel()
	}
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), errDeviceCodeExpired) {
				return nil, ssoSignInError(s, "expired before the code was approved", "run the command again and approve the code sooner", nil)
			}
			return nil, ctx.Err()
		}
		issued := p.now()
		out, err := oidc.CreateToken(ctx, &ssooidc.CreateTokenInput{
			ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret),
			GrantType: aws.String(grantDeviceCode), DeviceCode: da.DeviceCode,
		})
		if err == nil {
			p.debugf("signed in to %s with a device code", s.StartURL)
			return p.withToken(reg, out, issued)
		}
		switch apiCode(err) {
		case "AuthorizationPendingException":
		case "SlowDownException":
			interval += 5 * time.Second
			p.debugf("IAM Identity Center asks to poll more slowly; every %s now", interval)
		case "ExpiredTokenException":
			return nil, ssoSignInError(s, "expired before the code was approved", "run the command again and approve the code sooner", err)
		case "AccessDeniedException":
			return nil, ssoSignInError(s, "was denied", "run the command again and approve the request, or check with your administrator that you may use this application", err)
		default:
			if ctx.Err() != nil {
				if errors.Is(context.Cause(ctx), errDeviceCodeExpired) {
					return nil, ssoSignInError(s, "expired before the code was approved", "run the command again and approve the code sooner", nil)
				}
				return nil, ctx.Err()
			}
			return nil, ssoSignInError(s, fmt.Sprintf("failed (%s)", ssoFailure(err)), "run the command again", err)
		}
		timer.Reset(interval)
	}
}

var errDeviceCodeExpired = errors.New("the device code expired")

// randomURLString is n random bytes, base64url without padding: a PKCE
// verifier of 43 characters for n = 32, or a state.
func randomURLString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// pkceChallenge is the S256 challenge of verifier.
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
