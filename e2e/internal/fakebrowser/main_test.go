package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/pkg/browser"

	"github.com/rolevault/rolevault/internal/ststest"
)

const startURL = "https://d-1234567890.awsapps.com/start"

type fixture struct {
	s       *ststest.Server
	url     string
	oidc    *ssooidc.Client
	dir     string
	reg     *ssooidc.RegisterClientOutput
	hits    chan url.Values // what the loopback listener received
	release chan struct{}   // closed: the listener answers
	cb      string          // the listener's redirect_uri
}

// newFixture: with hold, the loopback listener answers only once the test
// closes f.release.
func newFixture(t *testing.T, hold bool) *fixture {
	t.Helper()
	s := ststest.New()
	u := s.Start()
	t.Cleanup(s.Close)
	s.AddSSOInstance(startURL, "eu-west-1")
	s.AddSSOAssignment(startURL, "222222222222", "dev", "ReadOnly")
	f := &fixture{s: s, url: u, dir: t.TempDir(), hits: make(chan url.Values, 10), release: make(chan struct{})}
	if !hold {
		close(f.release)
	}
	f.oidc = ssooidc.New(ssooidc.Options{Region: "eu-west-1", BaseEndpoint: aws.String(u),
		HTTPClient: awshttp.NewBuildableClient(), Retryer: aws.NopRetryer{}})
	listener := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth/callback" {
			http.NotFound(w, r)
			return
		}
		f.hits <- r.URL.Query()
		<-f.release
		w.Write([]byte("signed in; you can close this window"))
	}))
	t.Cleanup(listener.Close)
	f.cb = listener.URL + "/oauth/callback"
	out, err := f.oidc.RegisterClient(ctx(t), &ssooidc.RegisterClientInput{ClientName: aws.String("fakebrowser-test"),
		ClientType: aws.String("public"), Scopes: []string{"sso:account:access"},
		GrantTypes:   []string{ststest.GrantAuthorizationCode, ststest.GrantRefreshToken, ststest.GrantDeviceCode},
		RedirectUris: []string{"http://127.0.0.1/oauth/callback"}, IssuerUrl: aws.String(startURL)})
	if err != nil {
		t.Fatal(err)
	}
	f.reg = out
	return f
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func (f *fixture) authorizeURL(challenge string) string {
	return f.url + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {aws.ToString(f.reg.ClientId)},
		"redirect_uri": {f.cb}, "scopes": {"sso:account:access"}, "state": {"the-state-value"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode()
}

func (f *fixture) env(action string) func(string) string {
	vals := map[string]string{"FAKEBROWSER_LOG": filepath.Join(f.dir, "tabs.log"), "FAKEBROWSER_ACTION": action,
		"FAKEBROWSER_SYNC": "1", "FAKEBROWSER_RESULT": filepath.Join(f.dir, "result.log")}
	return func(k string) string { return vals[k] }
}

func (f *fixture) tabs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.dir, "tabs.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

func (f *fixture) hit(t *testing.T) url.Values {
	t.Helper()
	select {
	case q := <-f.hits:
		return q
	case <-time.After(20 * time.Second):
		t.Fatal("the loopback listener was never reached")
		return nil
	}
}

func TestApproveDenyIgnoreAuthorizationCode(t *testing.T) {
	f := newFixture(t, false)
	verifier, challenge := pkce()
	if rc := run([]string{f.authorizeURL(challenge)}, f.env("approve")); rc != 0 {
		t.Fatalf("approve: exit %d", rc)
	}
	q := f.hit(t)
	if q.Get("state") != "the-state-value" || q.Get("code") == "" {
		t.Fatalf("listener got %v", q)
	}
	tok, err := f.oidc.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: f.reg.ClientId, ClientSecret: f.reg.ClientSecret,
		GrantType: aws.String(ststest.GrantAuthorizationCode), Code: aws.String(q.Get("code")),
		RedirectUri: aws.String(f.cb), CodeVerifier: aws.String(verifier)})
	if err != nil || aws.ToString(tok.AccessToken) == "" {
		t.Fatalf("exchange: %v", err)
	}

	if rc := run([]string{f.authorizeURL(challenge)}, f.env("deny")); rc != 0 {
		t.Fatalf("deny: exit %d", rc)
	}
	if q := f.hit(t); q.Get("error") != "access_denied" || q.Has("code") {
		t.Fatalf("deny: listener got %v", q)
	}

	before := f.s.SSOCounts().Authorize
	if rc := run([]string{f.authorizeURL(challenge)}, f.env("ignore")); rc != 0 {
		t.Fatalf("ignore: exit %d", rc)
	}
	if n := f.s.SSOCounts().Authorize; n != before {
		t.Fatalf("ignore visited /authorize (%d -> %d)", before, n)
	}

	tabs := f.tabs(t)
	if len(tabs) != 3 {
		t.Fatalf("%d tabs logged, want 3: %q", len(tabs), tabs)
	}
	for _, l := range tabs {
		if strings.Contains(l, challenge) || strings.Contains(l, "the-state-value") || !strings.Contains(l, "state=***") {
			t.Errorf("secret in the tab log: %s", l)
		}
	}
	if c := f.s.SSOCounts(); c.Authorize != 2 || c.Consent != 2 || c.TokenByGrant["authorization_code"] != 1 {
		t.Errorf("counts %+v", c)
	}
}

func TestDeviceVerificationAndVisit(t *testing.T) {
	f := newFixture(t, false)
	start := func() *ssooidc.StartDeviceAuthorizationOutput {
		dev, err := f.oidc.StartDeviceAuthorization(ctx(t), &ssooidc.StartDeviceAuthorizationInput{
			ClientId: f.reg.ClientId, ClientSecret: f.reg.ClientSecret, StartUrl: aws.String(startURL)})
		if err != nil {
			t.Fatal(err)
		}
		return dev
	}
	token := func(dev *ssooidc.StartDeviceAuthorizationOutput) error {
		_, err := f.oidc.CreateToken(ctx(t), &ssooidc.CreateTokenInput{ClientId: f.reg.ClientId, ClientSecret: f.reg.ClientSecret,
			GrantType: aws.String(ststest.GrantDeviceCode), DeviceCode: dev.DeviceCode})
		return err
	}
	dev := start()
	if rc := run([]string{aws.ToString(dev.VerificationUriComplete)}, f.env("approve")); rc != 0 {
		t.Fatalf("approve: exit %d", rc)
	}
	if err := token(dev); err != nil {
		t.Fatalf("after approve: %v", err)
	}
	dev = start()
	run([]string{aws.ToString(dev.VerificationUriComplete)}, f.env("deny"))
	if err := token(dev); err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("after deny: %v", err)
	}
	// visit leaves the choice to the emulator's default.
	f.s.SetSSOConsent("deny")
	dev = start()
	run([]string{aws.ToString(dev.VerificationUriComplete)}, f.env("visit"))
	if err := token(dev); err == nil || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("visit with consent deny: %v", err)
	}
	for _, l := range f.tabs(t) {
		if !strings.Contains(l, "user_code=***") {
			t.Errorf("user code in the tab log: %s", l)
		}
	}
	// The verification page without the code cannot be approved blindly.
	if rc := run([]string{aws.ToString(dev.VerificationUri)}, f.env("approve")); rc == 0 {
		t.Error("approving a page without a code succeeded")
	}
}

// Through github.com/pkg/browser as rolevault opens it: the built program
// on PATH as xdg-open returns before the sign-in finishes.
func TestOpenedThroughPkgBrowserReturnsAtOnce(t *testing.T) {
	f := newFixture(t, true)
	bin := filepath.Join(t.TempDir(), "xdg-open")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Setenv("PATH", filepath.Dir(bin))
	t.Setenv("FAKEBROWSER_LOG", filepath.Join(f.dir, "tabs.log"))
	t.Setenv("FAKEBROWSER_ACTION", "approve")
	t.Setenv("FAKEBROWSER_SYNC", "")
	// The listener holds its answer until the opener has returned: a
	// synchronous opener would never return.
	released := false
	defer func() {
		if !released {
			close(f.release)
		}
	}()
	done := make(chan error, 1)
	go func() { done <- browser.OpenURL(f.authorizeURL("x")) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("OpenURL: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the opener did not return while the sign-in was in progress")
	}
	close(f.release)
	released = true
	if q := f.hit(t); q.Get("code") == "" {
		t.Fatalf("listener got %v", q)
	}
	if n := len(f.tabs(t)); n != 1 {
		t.Fatalf("%d tabs, want 1", n)
	}
}
