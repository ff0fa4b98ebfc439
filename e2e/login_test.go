package e2e

// login as people use it: the console opened through xdg-open (a stub that
// records the URL, TESTBED.md §5), the sign-in token it carries redeemed at
// the emulated federation endpoint, --stdout for scripts, the URL printed
// when no browser opener exists, and switch-role links for the seeds'
// login/dev/staging/prod layout.

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolevault/rolevault/internal/ststest"
)

// withBrowserStub puts an xdg-open first on the Env's PATH that appends the
// URL it is given to a log, and returns the log's path.
func withBrowserStub(t *testing.T, e *Env) string {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "opened.log")
	must(t, os.WriteFile(filepath.Join(dir, "xdg-open"), []byte("#!/bin/sh\nprintf '%s\\n' \"$1\" >> "+shQuote(log)+"\n"), 0o700))
	e.Set("PATH", dir+string(os.PathListSeparator)+e.Vars["PATH"])
	return log
}

// openedURLs is what the stub was asked to open.
func openedURLs(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return nil
	}
	must(t, err)
	return strings.Fields(string(b))
}

// redeem presents a login URL to the emulated federation endpoint the way a
// browser would and returns the session it signs in as. The endpoint must
// answer with a redirect to the URL's Destination.
func (w *world) redeem(t *testing.T, loginURL string) ststest.SigninInfo {
	t.Helper()
	u, err := url.Parse(loginURL)
	must(t, err)
	q := u.Query()
	if !strings.HasPrefix(loginURL, w.URL+"/federation?") || q.Get("Action") != "login" || q.Get("Issuer") == "" {
		t.Fatalf("not a login URL for the emulator: %s", loginURL)
	}
	info, err := w.STS.VerifySigninToken(q.Get("SigninToken"))
	if err != nil {
		t.Fatalf("the emulator does not know the URL's SigninToken: %v", err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(loginURL)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != q.Get("Destination") {
		t.Errorf("federation login answered %d to %q, want a redirect to %q", resp.StatusCode, resp.Header.Get("Location"), q.Get("Destination"))
	}
	return info
}

func newLoginWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	w.E.Set("ROLEVAULT_FEDERATION_URL", w.URL+"/federation")
	return w
}

// TestLoginOpensTheConsole: login role-b hands xdg-open a URL whose token
// the federation endpoint accepts as role-b's session, with the console home
// of the profile's region as the destination.
func TestLoginOpensTheConsole(t *testing.T) {
	w := newLoginWorld(t)
	log := withBrowserStub(t, w.E)
	r := w.E.Run(t, "login", "role-b")
	expect(t, r, 0)
	if r.Stdout != "" {
		t.Errorf("login wrote to stdout although a browser opened: %q", r.Stdout)
	}
	urls := openedURLs(t, log)
	if len(urls) != 1 {
		t.Fatalf("xdg-open got %q, want one URL\n%s", urls, r)
	}
	info := w.redeem(t, urls[0])
	w.checkRoleB(t, info.Session.AccessKeyID, info.Session.Arn)
	u, _ := url.Parse(urls[0])
	if d := u.Query().Get("Destination"); d != "https://console.aws.amazon.com/console/home?region="+worldRegion {
		t.Errorf("Destination = %s", d)
	}
	if w.mfaRuns(t) != 1 {
		t.Errorf("mfa_process ran %d times, want 1", w.mfaRuns(t))
	}
}

// TestLoginStdout: --stdout prints the URL and nothing else, and opens no
// browser.
func TestLoginStdout(t *testing.T) {
	w := newLoginWorld(t)
	log := withBrowserStub(t, w.E)
	r := w.E.Run(t, "login", "--stdout", "--path", "iam/home", "role-a")
	expect(t, r, 0)
	lines := strings.Split(strings.TrimRight(r.Stdout, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("stdout is not one URL: %q", r.Stdout)
	}
	info := w.redeem(t, lines[0])
	if info.Session.Kind != ststest.KindAssumeRole || info.Session.RoleArn != w.RoleA {
		t.Errorf("signed in as %s %s, want role-a", info.Session.Kind, info.Session.RoleArn)
	}
	u, _ := url.Parse(lines[0])
	if d := u.Query().Get("Destination"); d != "https://console.aws.amazon.com/iam/home?region="+worldRegion {
		t.Errorf("Destination = %s", d)
	}
	if got := openedURLs(t, log); len(got) != 0 {
		t.Errorf("--stdout opened the browser: %q", got)
	}
}

// TestLoginWithoutBrowserOpener: with no xdg-open, x-www-browser or
// www-browser (a server, a container), login prints the URL and says why.
func TestLoginWithoutBrowserOpener(t *testing.T) {
	w := newLoginWorld(t)
	w.E.Set("PATH", t.TempDir())
	r := w.E.Run(t, "login", "role-a")
	expect(t, r, 0, "err:no program to open a browser", "err:15 minutes")
	w.redeem(t, strings.TrimSpace(r.Stdout))
}

// TestLoginIAMUser: a profile with the user's own keys signs in through
// GetFederationToken, never a GetSessionToken session (which the console
// refuses), and says that such a console session cannot carry MFA.
func TestLoginIAMUser(t *testing.T) {
	w := newLoginWorld(t)
	r := w.E.Run(t, "login", "-s", "login")
	expect(t, r, 0, "err:cannot carry MFA")
	info := w.redeem(t, strings.TrimSpace(r.Stdout))
	if info.Session.Kind != ststest.KindFederationToken || info.Session.CallerAccessKeyID != w.KeyID {
		t.Errorf("signed in with %s made by %s, want a federation token from alice's key", info.Session.Kind, info.Session.CallerAccessKeyID)
	}
	if n := w.STS.Calls("GetSessionToken"); n != 0 {
		t.Errorf("login called GetSessionToken %d times", n)
	}
}

// TestSwitchRoleLinksForTheSeedLayout: the seeds' security/login account
// with dev, staging and prod roles, coloured green, yellow and red as the
// seeds do. The links need no credentials, keyring or network.
func TestSwitchRoleLinksForTheSeedLayout(t *testing.T) {
	e := NewEnv(t)
	e.Set("AWS_VAULT_BACKEND", "file", "AWS_VAULT_FILE_DIR", filepath.Join(e.Home, "keys"),
		"AWS_ENDPOINT_URL", "http://127.0.0.1:9") // no passphrase, nothing listening
	e.WriteConfig(t, `[profile security]
region = eu-west-1
mfa_serial = arn:aws:iam::026445672617:mfa/ismail

[profile dev]
source_profile = security
role_arn = arn:aws:iam::211047650761:role/allow-admin-from-security-account
mfa_serial = arn:aws:iam::026445672617:mfa/ismail
rolevault_color = green

[profile staging]
source_profile = security
role_arn = arn:aws:iam::320385056066:role/allow-read-only-from-security-account
rolevault_color = yellow

[profile prod]
source_profile = security
role_arn = arn:aws:iam::725335846599:role/ops/allow-admin-from-security-account
rolevault_color = red
`)
	want := map[string]string{
		"dev":     "https://signin.aws.amazon.com/switchrole?account=211047650761&color=b7ca9d&displayName=dev&roleName=allow-admin-from-security-account",
		"staging": "https://signin.aws.amazon.com/switchrole?account=320385056066&color=efda95&displayName=staging&roleName=allow-read-only-from-security-account",
		"prod":    "https://signin.aws.amazon.com/switchrole?account=725335846599&color=f2b0a9&displayName=prod&roleName=ops%2Fallow-admin-from-security-account",
	}
	for profile, u := range want {
		r := e.Run(t, "login", "--switch-role", "--stdout", profile)
		expect(t, r, 0)
		if got := strings.TrimSpace(r.Stdout); got != u {
			t.Errorf("%s:\n got %s\nwant %s", profile, got, u)
		}
	}
	log := withBrowserStub(t, e)
	expect(t, e.Run(t, "login", "--switch-role", "prod"), 0)
	if got := openedURLs(t, log); len(got) != 1 || got[0] != want["prod"] {
		t.Errorf("xdg-open got %q", got)
	}
	expect(t, e.Run(t, "login", "--switch-role", "security"), 1, "err:no role_arn")
}
