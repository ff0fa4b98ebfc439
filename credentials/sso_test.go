package credentials

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/internal/ststest"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/plan"
)

const testStartURL = "https://d-9067000001.awsapps.com/start"

// ssoWorld is the emulator with one Identity Center instance, a clock both
// it and the provider read, and a "browser" that approves every sign-in.
type ssoWorld struct {
	t        *testing.T
	sts      *ststest.Server
	url      string
	clock    atomic.Int64 // offset from the real time, in ns
	kr       keyring.Keyring
	cacheDir string
	cliDir   string
	opened   atomic.Int32
	wg       sync.WaitGroup
}

func newSSOWorld(t *testing.T) *ssoWorld {
	t.Helper()
	s := ststest.New()
	w := &ssoWorld{t: t, sts: s, url: s.Start(), kr: keyring.NewArrayKeyring(nil), cacheDir: t.TempDir(), cliDir: filepath.Join(t.TempDir(), "sso", "cache")}
	t.Cleanup(s.Close)
	s.SetNow(w.now)
	s.AddSSOInstance(testStartURL, "us-east-1")
	s.AddSSOAssignment(testStartURL, "444444444444", "dev", "Dev")
	t.Cleanup(w.wg.Wait)
	return w
}

func (w *ssoWorld) now() time.Time          { return time.Now().Add(time.Duration(w.clock.Load())) }
func (w *ssoWorld) advance(d time.Duration) { w.clock.Add(int64(d)) }

// browser follows the authorize URL as a browser without a person would:
// the emulator's default consent approves, and the redirect reaches the
// provider's loopback listener.
func (w *ssoWorld) browser(u string) error {
	w.opened.Add(1)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		resp, err := http.Get(u)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	return nil
}

func (w *ssoWorld) provider(kr keyring.Keyring) *Provider {
	hc, err := NewHTTPClient(func(string) (string, bool) { return "", false })
	must(w.t, err)
	return &Provider{
		Cache:      &keychain.SessionCache{Keyring: kr, IndexDir: w.cacheDir},
		Locks:      &keychain.Locks{Dir: w.cacheDir},
		SSOTokens:  &keychain.SSOTokenStore{Keyring: kr, IndexDir: w.cacheDir},
		HTTPClient: hc,
		Now:        w.now,
		LookupEnv:  func(string) (string, bool) { return "", false },
		SSO: SSOOptions{OpenBrowser: w.browser, BrowserOpener: func() string { return "test" },
			Timeout: 30 * time.Second, CLICacheDir: w.cliDir},
	}
}

func (w *ssoWorld) settings(session string) *config.SSOSettings {
	return &config.SSOSettings{Session: session, StartURL: testStartURL, Region: "us-east-1", AccountID: "444444444444", RoleName: "Dev"}
}

// plan is an SSO profile's plan; without a cache key the role credentials
// are fetched every time, so every Retrieve needs an access token.
func (w *ssoWorld) plan(s *config.SSOSettings) *plan.Plan {
	prof := &config.Profile{Name: "dev-sso", SSO: s, Endpoints: config.Endpoints{SSOOIDCEndpointURL: w.url, SSOEndpointURL: w.url}}
	return &plan.Plan{Profile: prof, Region: "us-east-1", EndpointURL: w.url,
		Steps: []plan.Step{{Kind: plan.StepSSO, Profile: "dev-sso", SSO: s}}}
}

func (w *ssoWorld) retrieve(p *Provider, s *config.SSOSettings) aws.Credentials {
	w.t.Helper()
	c, err := p.Retrieve(context.Background(), w.plan(s))
	if err != nil {
		w.t.Fatalf("Retrieve: %v", err)
	}
	if got, ok := w.sts.Session(c.AccessKeyID); !ok || got.Kind != ststest.KindSSO {
		w.t.Fatalf("%s is not a GetRoleCredentials session", c.AccessKeyID)
	}
	return c
}

func (w *ssoWorld) stored(p *Provider, s *config.SSOSettings) *keychain.SSOToken {
	w.t.Helper()
	t, err := p.SSOTokens.Get(plan.SSOTokenKey(s.TokenName(), s.StartURL, s.Region))
	if err != nil || t == nil {
		w.t.Fatalf("no stored sign-in: %v", err)
	}
	return t
}

// An access token past its expiry by the clock is refreshed with the
// refresh token, without a browser, and the rotated refresh token replaces
// the old one, which AWS no longer takes.
func TestSSORefreshByClockWithRotation(t *testing.T) {
	w := newSSOWorld(t)
	p := w.provider(w.kr)
	s := w.settings("corp")
	w.retrieve(p, s)
	first := w.stored(p, s)
	if w.opened.Load() != 1 || first.RefreshToken == "" || first.ClientID == "" {
		t.Fatalf("sign-in: %d browser opens, token %+v", w.opened.Load(), first.Scopes)
	}
	w.advance(2 * time.Hour)
	w.retrieve(p, s)
	second := w.stored(p, s)
	c := w.sts.SSOCounts()
	if w.opened.Load() != 1 || c.TokenByGrant["refresh_token"] != 1 || c.RegisterClient != 1 {
		t.Fatalf("after expiry: %d opens, counts %+v", w.opened.Load(), c)
	}
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Errorf("the refresh did not store the rotated tokens")
	}
	oidc := NewSSOOIDCClient(w.plan(s).Profile, s, p.client(nil))
	_, err := oidc.CreateToken(context.Background(), &ssooidc.CreateTokenInput{ClientId: aws.String(first.ClientID), ClientSecret: aws.String(first.ClientSecret),
		GrantType: aws.String("refresh_token"), RefreshToken: aws.String(first.RefreshToken)})
	if !refreshRefused(err) {
		t.Errorf("the old refresh token still works (%v): rotation was not exercised", err)
	}
}

// A refresh token AWS refuses (its sign-in session is over) leads to a new
// sign-in, reusing the client registration.
func TestSSORefreshRefusedSignsInAgain(t *testing.T) {
	w := newSSOWorld(t)
	p := w.provider(w.kr)
	s := w.settings("corp")
	w.retrieve(p, s)
	w.advance(9 * time.Hour) // past the 8h refresh-token lifetime
	w.retrieve(p, s)
	c := w.sts.SSOCounts()
	if w.opened.Load() != 2 || c.TokenFailures["refresh_token"] != 1 || c.RegisterClient != 1 {
		t.Errorf("%d opens, counts %+v; want a refused refresh, a second sign-in, one registration", w.opened.Load(), c)
	}
}

// A legacy profile (sso_start_url without sso_session) registers without
// scopes, as the AWS CLI does: no refresh token, so an expired token means
// a new sign-in.
func TestSSOLegacyProfileHasNoRefreshToken(t *testing.T) {
	w := newSSOWorld(t)
	p := w.provider(w.kr)
	s := w.settings("")
	w.retrieve(p, s)
	if tok := w.stored(p, s); tok.RefreshToken != "" || len(tok.Scopes) != 0 {
		t.Errorf("legacy sign-in has scopes %v / a refresh token", tok.Scopes)
	}
	w.advance(2 * time.Hour)
	w.retrieve(p, s)
	if w.opened.Load() != 2 {
		t.Errorf("%d sign-ins, want 2", w.opened.Load())
	}
}

// The AWS CLI's cache is read (in its older timestamp format too), and a
// refresh from its refresh token writes the rotated token back there, so
// the AWS CLI's own sign-in keeps working.
func TestSSOAWSCLICache(t *testing.T) {
	w := newSSOWorld(t)
	s := w.settings("corp")
	shared := *s
	shared.ShareCache = true
	w.retrieve(w.provider(w.kr), &shared) // signs in and writes the CLI cache
	path := CLICacheFile(w.cliDir, s)
	b, err := os.ReadFile(path)
	must(t, err)
	var c cliCacheToken
	must(t, json.Unmarshal(b, &c))
	if c.RefreshToken == "" || c.ClientSecret == "" || !strings.HasSuffix(c.ExpiresAt, "Z") || c.StartURL != testStartURL {
		t.Fatalf("CLI cache file: %s", b)
	}
	// The format of early AWS CLI v2 releases.
	c.ExpiresAt = strings.TrimSuffix(c.ExpiresAt, "Z") + "UTC"
	b, _ = json.Marshal(c)
	must(t, os.WriteFile(path, b, 0o600))

	fresh := w.provider(keyring.NewArrayKeyring(nil))
	w.retrieve(fresh, s)
	if w.opened.Load() != 1 || w.sts.SSOCounts().TokenByGrant["refresh_token"] != 0 {
		t.Fatalf("the CLI's valid token was not used: %d opens, %+v", w.opened.Load(), w.sts.SSOCounts())
	}
	w.advance(2 * time.Hour)
	w.retrieve(fresh, s)
	if w.opened.Load() != 1 || w.sts.SSOCounts().TokenByGrant["refresh_token"] != 1 {
		t.Fatalf("no refresh from the CLI's refresh token: %d opens, %+v", w.opened.Load(), w.sts.SSOCounts())
	}
	b, err = os.ReadFile(path)
	must(t, err)
	var after cliCacheToken
	must(t, json.Unmarshal(b, &after))
	if after.RefreshToken == c.RefreshToken || after.AccessToken == c.AccessToken {
		t.Errorf("the rotated token was not written back to the CLI's cache")
	}
	if got := w.stored(fresh, s); got.RefreshToken != after.RefreshToken {
		t.Errorf("keyring and CLI cache disagree on the refresh token")
	}
}

// aws-vault v7's oidc:<start URL> item is used while its access token is
// valid.
func TestSSOUsesAWSVaultToken(t *testing.T) {
	w := newSSOWorld(t)
	s := w.settings("corp")
	p := w.provider(w.kr)
	w.retrieve(p, s)
	tok := w.stored(p, s)
	data, _ := json.Marshal(map[string]any{"Token": map[string]any{"AccessToken": tok.AccessToken, "ExpiresIn": 3600, "TokenType": "Bearer"},
		"Expiration": tok.ExpiresAt})
	av := keyring.NewArrayKeyring([]keyring.Item{{Key: "oidc:" + testStartURL, Data: data}})
	w.retrieve(w.provider(av), s)
	if w.opened.Load() != 1 {
		t.Errorf("aws-vault's token was not used: %d sign-ins", w.opened.Load())
	}
}

// The portal refusing a token believed valid (signed out elsewhere)
// renews the sign-in once instead of failing.
func TestSSOUnauthorizedTokenRenewed(t *testing.T) {
	w := newSSOWorld(t)
	s := w.settings("corp")
	p := w.provider(w.kr)
	w.retrieve(p, s)
	w.sts.ExpireSSOAccessTokens()
	w.retrieve(p, s)
	if c := w.sts.SSOCounts(); c.TokenByGrant["refresh_token"] != 1 || w.opened.Load() != 1 {
		t.Errorf("%d opens, counts %+v", w.opened.Load(), c)
	}
}

// No opener, or one that fails, means the device flow.
func TestSSOChooseFlow(t *testing.T) {
	none := func() string { return "" }
	some := func() string { return "xdg-open" }
	open := func(string) error { return nil }
	for _, tt := range []struct {
		o    SSOOptions
		flow SSOFlow
		why  string
	}{
		{SSOOptions{OpenBrowser: open, BrowserOpener: some}, SSOFlowBrowser, "xdg-open"},
		{SSOOptions{OpenBrowser: open, BrowserOpener: none}, SSOFlowDevice, "no program to open a browser"},
		{SSOOptions{OpenBrowser: open, BrowserOpener: some, NoBrowser: true, NoBrowserWhy: "--stdout"}, SSOFlowDevice, "--stdout asks"},
	} {
		f, why := tt.o.ChooseFlow()
		if f != tt.flow || !strings.Contains(why, tt.why) {
			t.Errorf("%+v: %s, %q", tt.o.NoBrowserWhy, f, why)
		}
	}
	// A browser that will not open falls back to a device code.
	w := newSSOWorld(t)
	p := w.provider(w.kr)
	var told []string
	p.SSO.OpenBrowser = func(string) error { return &ProviderError{Err: os.ErrPermission} }
	p.SSO.Tell = func(m string) {
		told = append(told, m)
		if i := strings.Index(m, "(or open "); i >= 0 {
			u := strings.Fields(m[i+len("(or open "):])[0]
			u = strings.TrimSuffix(u, ")")
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				if resp, err := http.Get(u); err == nil {
					resp.Body.Close()
				}
			}()
		}
	}
	w.retrieve(p, w.settings("corp"))
	if c := w.sts.SSOCounts(); c.DeviceAuthorization != 1 || c.TokenByGrant["device_code"] != 1 {
		t.Errorf("no device flow after the browser failed: %+v\n%s", c, strings.Join(told, "\n"))
	}
}

// Verifiers are 43 base64url characters (RFC 7636's minimum length, 256
// bits) and never repeat; the emulator checks the S256 challenge itself.
func TestPKCEVerifier(t *testing.T) {
	a, err1 := randomURLString(32)
	b, err2 := randomURLString(32)
	if err1 != nil || err2 != nil || len(a) != 43 || a == b || strings.ContainsAny(a, "+/=") {
		t.Errorf("verifiers %q, %q (%v, %v)", a, b, err1, err2)
	}
	if c := pkceChallenge(a); len(c) != 43 || c == a {
		t.Errorf("challenge %q", c)
	}
}

// A sign-in nobody finishes ends at the timeout with the loopback listener
// closed, and a redirect with the wrong state is refused meanwhile.
func TestSSOSignInListenerClosed(t *testing.T) {
	w := newSSOWorld(t)
	p := w.provider(w.kr)
	p.SSO.Timeout = time.Second
	p.SSO.OpenBrowser = func(string) error { return nil } // a tab nobody looks at
	var redirect string
	var mu sync.Mutex
	p.Debugf = func(format string, args ...any) {
		if m := fmt.Sprintf(format, args...); strings.HasPrefix(m, "authorization-code sign-in: redirect ") {
			mu.Lock()
			redirect = strings.TrimPrefix(m, "authorization-code sign-in: redirect ")
			mu.Unlock()
			resp, err := http.Get(redirect + "?code=x&state=wrong")
			if err != nil || resp.StatusCode != http.StatusBadRequest {
				t.Errorf("a redirect with the wrong state: %v %v", resp, err)
			}
			if resp != nil {
				resp.Body.Close()
			}
		}
	}
	_, err := p.Retrieve(context.Background(), w.plan(w.settings("corp")))
	if err == nil || !strings.Contains(err.Error(), "was not completed within 1s") {
		t.Fatalf("err = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if redirect == "" {
		t.Fatal("no redirect URI in --debug")
	}
	if resp, err := http.Get(redirect); err == nil {
		resp.Body.Close()
		t.Errorf("the loopback listener still answers after the sign-in ended")
	}
}
