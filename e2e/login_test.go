package e2e

// login as people use it: the console opened through xdg-open (a stub that
// records the URL, TESTBED.md §5), the sign-in token it carries redeemed at
// the emulated federation endpoint, --stdout for scripts, the URL printed
// when no browser opener exists, and switch-role links for the seeds'
// login/dev/staging/prod layout.

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolevault/rolevault/internal/ststest"
)

// withBrowserStub puts an xdg-open first on the Env's PATH that appends the
// arguments it is given to a log, and returns the log's path. Given a
// one-time loopback link, it acts as the browser, with curl and without
// following redirects (see browserStub.followed).
func withBrowserStub(t *testing.T, e *Env) string {
	return newBrowserStub(t, e, "").log
}

type browserStub struct {
	dir, log string
}

// newBrowserStub writes the stub. When otherUser is set (a second local
// account, as root), the stub also has that user read every process's argv
// (/proc/*/cmdline) while rolevault waits on the link, into "others".
func newBrowserStub(t *testing.T, e *Env, otherUser string) *browserStub {
	t.Helper()
	requireTool(t, "curl", "curl")
	curl, _ := exec.LookPath("curl")
	dir := t.TempDir()
	b := &browserStub{dir: dir, log: filepath.Join(dir, "opened.log")}
	scan := ""
	if otherUser != "" {
		runuser, err := exec.LookPath("runuser")
		must(t, err)
		scan = "  " + shQuote(runuser) + " -u " + shQuote(otherUser) + ` -- sh -c 'for f in /proc/[0-9]*/cmdline; do tr "\0" " " <"$f" 2>/dev/null; echo; done' >"$D/others" 2>&1` + "\n"
	}
	script := "#!/bin/sh\nD=" + shQuote(dir) + "\nC=" + shQuote(curl) + "\n" +
		`printf '%s\n' "$@" >>"$D/opened.log"` + "\n" +
		`case "$1" in` + "\n" +
		`http://127.0.0.1:*)` + "\n" +
		`  hp=${1#http://}; hp=${hp%%/*}; port=${hp#*:}` + "\n" +
		`  "$C" -s -o /dev/null -w '%{http_code}' "http://$hp/00000000000000000000000000000000" >"$D/wrong-path"` + "\n" +
		`  "$C" -s -o /dev/null -w '%{http_code}' -H "Host: rebind.example:$port" "$1" >"$D/wrong-host"` + "\n" +
		scan +
		`  "$C" -s -D "$D/headers" -o /dev/null "$1"; echo $? >"$D/first-rc"` + "\n" +
		`  "$C" -s -o /dev/null -w '%{http_code}' "$1" >"$D/second"; echo " $?" >>"$D/second"` + "\n" +
		`  ;;` + "\n" +
		`esac` + "\n"
	must(t, os.WriteFile(filepath.Join(dir, "xdg-open"), []byte(script), 0o755))
	e.Set("PATH", dir+string(os.PathListSeparator)+e.Vars["PATH"])
	return b
}

func (b *browserStub) read(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(b.dir, name))
	if err != nil {
		t.Fatalf("the browser stub left no %s: %v", name, err)
	}
	return string(data)
}

// followed checks the stub was given one loopback link without the token,
// that the link answered exactly one GET with a no-store, no-referrer 302,
// and returns where it redirected.
func (b *browserStub) followed(t *testing.T) string {
	t.Helper()
	argv := openedURLs(t, b.log)
	if len(argv) != 1 || !strings.HasPrefix(argv[0], "http://127.0.0.1:") {
		t.Fatalf("the opener got %q, want one loopback link", argv)
	}
	if log := b.read(t, "opened.log"); strings.Contains(log, "SigninToken") {
		t.Errorf("the SigninToken was in the opener's argv: %q", log)
	}
	if got := b.read(t, "wrong-path"); got != "404" {
		t.Errorf("a wrong path answered %s, want 404", got)
	}
	if got := b.read(t, "wrong-host"); !strings.HasPrefix(got, "4") {
		t.Errorf("a wrong Host header (DNS rebinding) answered %s, want a 4xx", got)
	}
	if rc := strings.TrimSpace(b.read(t, "first-rc")); rc != "0" {
		t.Fatalf("fetching the link failed: curl exit %s", rc)
	}
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(b.read(t, "headers"))), nil)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("the link answered %d with headers %v", resp.StatusCode, resp.Header)
	}
	if code, rc, _ := strings.Cut(b.read(t, "second"), " "); code == "302" || strings.TrimSpace(rc) == "0" && code != "404" {
		t.Errorf("a second fetch of the link answered %s (curl exit %s); it must be gone", code, strings.TrimSpace(rc))
	}
	return resp.Header.Get("Location")
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
	b := newBrowserStub(t, w.E, "")
	r := w.E.Run(t, "login", "role-b")
	expect(t, r, 0)
	if r.Stdout != "" || r.Stderr != "" {
		t.Errorf("login printed something although a browser opened: %s", r)
	}
	signin := b.followed(t)
	info := w.redeem(t, signin)
	w.checkRoleB(t, info.Session.AccessKeyID, info.Session.Arn)
	u, _ := url.Parse(signin)
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
// www-browser (a server, a container), login says so in one line, with the
// command that prints the URL; that command works.
func TestLoginWithoutBrowserOpener(t *testing.T) {
	w := newLoginWorld(t)
	w.E.Set("PATH", t.TempDir())
	r := w.E.Run(t, "login", "role-a")
	if r.Code != 1 || r.Stdout != "" || r.Stderr != "rolevault: no program to open a browser was found (xdg-open, x-www-browser or www-browser); run 'rolevault login --stdout role-a' to print the sign-in URL instead\n" {
		t.Errorf("want exit 1 and the one line, got %s", r)
	}
	r = w.E.Run(t, "login", "--stdout", "role-a")
	expect(t, r, 0)
	w.redeem(t, strings.TrimSpace(r.Stdout))
}

// TestLoginOpenerNoiseStaysOff: an opener that fails on a machine without a
// browser, as xdg-open does, printing lines of noise (the URL among them) on
// stdout and stderr: none of it reaches rolevault's output, which is the one
// line saying what happened and how to get the URL.
func TestLoginOpenerNoiseStaysOff(t *testing.T) {
	w := newLoginWorld(t)
	dir := t.TempDir()
	noise := "#!/bin/sh\necho \"xdg-open: no method available for opening '$1'\"\n" +
		"for i in 1 2 3; do echo \"/usr/bin/xdg-open: line $i: www-browser: not found\" >&2; done\n" +
		"echo \"$1\" >&2\nexit 3\n"
	must(t, os.WriteFile(filepath.Join(dir, "xdg-open"), []byte(noise), 0o755))
	w.E.Set("PATH", dir+string(os.PathListSeparator)+w.E.Vars["PATH"])
	r := w.E.Run(t, "login", "role-a")
	want := "rolevault: could not open a browser (xdg-open failed: exit status 3); run 'rolevault login --stdout role-a' to print the sign-in URL instead\n"
	if r.Code != 1 || r.Stdout != "" || r.Stderr != want {
		t.Errorf("want exit 1 and exactly\n%s got %s", want, r)
	}
}

// TestLoginTokenNeverInArgv: the sign-in URL's SigninToken (a 15-minute
// console bearer token) is in no process's argv, where every local user can
// read it. The opener gets a one-time loopback link (see followed); a second
// local user reading every /proc/PID/cmdline while rolevault waits on the
// link sees the link but no token (as root only: it needs useradd).
func TestLoginTokenNeverInArgv(t *testing.T) {
	w := newLoginWorld(t)
	other := ""
	if os.Geteuid() == 0 {
		requireTool(t, "useradd", "passwd")
		requireTool(t, "runuser", "util-linux")
		other = fmt.Sprintf("rvlogin%d", os.Getpid())
		if out, err := exec.Command("useradd", "-M", "-s", "/usr/sbin/nologin", other).CombinedOutput(); err != nil {
			t.Fatalf("useradd: %v\n%s", err, out)
		}
		t.Cleanup(func() { exec.Command("userdel", other).Run() })
	} else {
		t.Log("not root: the second-user /proc scan is skipped; the opener's own argv is still checked")
	}
	b := newBrowserStub(t, w.E, other)
	r := w.E.Run(t, "login", "role-a")
	expect(t, r, 0)
	signin := b.followed(t)
	token, err := url.Parse(signin)
	must(t, err)
	tok := token.Query().Get("SigninToken")
	w.redeem(t, signin)
	if other == "" {
		return
	}
	seen := b.read(t, "others")
	if !strings.Contains(seen, "xdg-open http://127.0.0.1:") {
		t.Fatalf("the second user could not read the opener's argv, so the scan proves nothing:\n%s", seen)
	}
	if strings.Contains(seen, "SigninToken") || tok == "" || strings.Contains(seen, tok) {
		t.Errorf("another local user read the sign-in token from a process's argv:\n%s", seen)
	}
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

// TestLoginDebugDoesNotPrintTheOneTimeLink: the loopback link is as good as
// the sign-in token until the browser fetches it, so --debug names only its
// address, never its random path.
func TestLoginDebugDoesNotPrintTheOneTimeLink(t *testing.T) {
	w := newLoginWorld(t)
	b := newBrowserStub(t, w.E, "")
	r := w.E.Run(t, "--debug", "login", "role-b")
	expect(t, r, 0)
	link := strings.TrimSpace(b.read(t, "opened.log"))
	u, err := url.Parse(link)
	if err != nil || len(u.Path) < 10 {
		t.Fatalf("the opener got %q, not a one-time link", link)
	}
	if strings.Contains(r.Stderr, u.Path) {
		t.Errorf("--debug printed the one-time link's path %s:\n%s", u.Path, r.Stderr)
	}
	if !strings.Contains(r.Stderr, u.Host) {
		t.Errorf("--debug does not say where the link listens (%s):\n%s", u.Host, r.Stderr)
	}
}
