package cli

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rolevault/rolevault/internal/ststest"
)

const (
	loginDevRole  = "arn:aws:iam::222222222222:role/team/developer"
	loginProdRole = "arn:aws:iam::444444444444:role/administrator"
)

// consoleWorld is the seeds' layout on the emulator: alice in the login
// account with her key in a file keyring and an MFA device, dev and prod
// roles trusting the login account (prod requires MFA).
type consoleWorld struct {
	home   string
	sts    *ststest.Server
	url    string
	serial string
	totp   string
	key    aws.Credentials
}

func newConsoleWorld(t *testing.T, loginMFA bool) *consoleWorld {
	t.Helper()
	home := keysEnv(t)
	s := ststest.New()
	u := s.Start()
	t.Cleanup(s.Close)
	id, secret := s.AddUser("111111111111", "alice")
	serial, totp := s.AddMFADevice("111111111111", "alice")
	for _, r := range []struct {
		arn string
		mfa bool
	}{{loginDevRole, false}, {loginProdRole, true}} {
		if err := s.AddRole(r.arn, ststest.RoleOptions{Trust: []string{"arn:aws:iam::111111111111:root"}, RequireMFA: r.mfa, MaxSessionDuration: 4 * time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	w := &consoleWorld{home: home, sts: s, url: u, serial: serial, totp: totp, key: aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}}
	mfa := ""
	if loginMFA {
		mfa = "mfa_serial = " + serial + "\n"
	}
	writeConfig(t, home, "[default]\nregion = eu-west-1\n[profile login]\n"+mfa+
		"[profile dev]\nsource_profile = login\nrole_arn = "+loginDevRole+"\nrolevault_color = green\n"+
		"[profile prod]\nsource_profile = login\nrole_arn = "+loginProdRole+"\nmfa_serial = "+serial+"\nrolevault_color = red\n")
	if err := fileStore(t, home, "test-passphrase").Set("login", w.key); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_VAULT_BACKEND", "file")
	t.Setenv("AWS_ENDPOINT_URL", u)
	t.Setenv("ROLEVAULT_FEDERATION_URL", u+"/federation")
	return w
}

func (w *consoleWorld) code() string { return ststest.TOTP(w.totp, w.sts.Now()) }

// browserStub puts an xdg-open first on PATH that appends its argument to a
// log, as TESTBED.md describes, and returns the log's path. Like a browser,
// it then fetches what it was given (with curl, not following redirects)
// and appends where that redirects to, or a blank line.
func browserStub(t *testing.T) string {
	t.Helper()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed (Debian: apt-get install curl)")
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "opened.log")
	script := "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '" + log + "'\n" +
		"case \"$1\" in http://127.0.0.1:*) '" + curl + "' -s -o /dev/null -w '%{redirect_url}\\n' \"$1\" >> '" + log + "';; esac\n"
	if err := os.WriteFile(filepath.Join(dir, "xdg-open"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}

// followed is the sign-in URL the one-time link the stub was given
// redirected to. The link itself must carry no SigninToken.
func followed(t *testing.T, log string) string {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("the browser was not opened: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "http://127.0.0.1:") || strings.Contains(lines[0], "SigninToken") {
		t.Fatalf("the opener got %q, want one loopback link without the token", lines)
	}
	return lines[1]
}

// signinURL checks u is a console login URL and returns its query.
func (w *consoleWorld) signinURL(t *testing.T, u string) url.Values {
	t.Helper()
	parsed, err := url.Parse(strings.TrimSpace(u))
	if err != nil || !strings.HasPrefix(parsed.String(), w.url+"/federation?") {
		t.Fatalf("not a sign-in URL on the emulator: %q (%v)", u, err)
	}
	q := parsed.Query()
	if q.Get("Action") != "login" || q.Get("Issuer") != "rolevault" || q.Get("SigninToken") == "" {
		t.Fatalf("sign-in URL query: %v", q)
	}
	return q
}

func TestLoginRoleOpensBrowser(t *testing.T) {
	w := newConsoleWorld(t, false)
	log := browserStub(t)
	code, out, stderr := krRun(t, "login", "dev")
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	opened := followed(t, log)
	q := w.signinURL(t, opened)
	if q.Get("Destination") != "https://console.aws.amazon.com/console/home?region=eu-west-1" {
		t.Errorf("Destination = %s", q.Get("Destination"))
	}
	info, err := w.sts.VerifySigninToken(q.Get("SigninToken"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Session.Kind != ststest.KindAssumeRole || info.Session.RoleArn != loginDevRole {
		t.Errorf("signed in as %s %s, want the dev role", info.Session.Kind, info.Session.RoleArn)
	}
	// The emulator's login action redirects to the destination, as AWS does.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(opened)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != q.Get("Destination") {
		t.Errorf("login answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestLoginStdoutAndPath(t *testing.T) {
	w := newConsoleWorld(t, false)
	log := browserStub(t)
	code, out, stderr := krRun(t, "login", "dev", "-s", "--path", "ec2/home#Instances:", "--region", "eu-central-1")
	if code != 0 || strings.Count(out, "\n") != 1 || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want the URL alone", code, out, stderr)
	}
	q := w.signinURL(t, out)
	if q.Get("Destination") != "https://console.aws.amazon.com/ec2/home?region=eu-central-1#Instances:" {
		t.Errorf("Destination = %s", q.Get("Destination"))
	}
	if _, err := os.Stat(log); err == nil {
		t.Error("--stdout opened the browser")
	}
}

func TestLoginWithoutBrowserSaysHowToGetTheURL(t *testing.T) {
	w := newConsoleWorld(t, false)
	t.Setenv("PATH", t.TempDir())
	code, out, stderr := krRun(t, "login", "dev")
	if code != ExitError || out != "" || stderr != "rolevault: no program to open a browser was found (xdg-open, x-www-browser or www-browser); run 'rolevault login --stdout dev' to print the sign-in URL instead\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, out, _ = krRun(t, "login", "--stdout", "dev")
	if code != 0 {
		t.Fatalf("login --stdout: exit %d", code)
	}
	w.signinURL(t, out)
}

func TestLoginDurationOnlyWhenAsked(t *testing.T) {
	w := newConsoleWorld(t, false)
	// A cached dev session that AWS says has 30 minutes left: without
	// --duration no SessionDuration is sent, so the console session is
	// what remains of the role session.
	if code, _, stderr := krRun(t, "export", "--format", "json", "dev"); code != 0 {
		t.Fatal(stderr)
	}
	w.sts.SetNow(func() time.Time { return time.Now().Add(30 * time.Minute) })
	for _, tc := range []struct {
		args     []string
		min, max time.Duration
	}{
		{[]string{"login", "dev", "-s"}, 25 * time.Minute, 30 * time.Minute},
		{[]string{"login", "dev", "-s", "-d", "2h"}, 2 * time.Hour, 2 * time.Hour},
	} {
		code, out, stderr := krRun(t, tc.args...)
		if code != 0 {
			t.Fatalf("%v: exit %d, %s", tc.args, code, stderr)
		}
		info, err := w.sts.VerifySigninToken(w.signinURL(t, out).Get("SigninToken"))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.ConsoleSessionDuration; got < tc.min || got > tc.max {
			t.Errorf("%v: console session %s, want %s..%s", tc.args, got, tc.min, tc.max)
		}
	}
}

func TestLoginIAMUserUsesFederationToken(t *testing.T) {
	w := newConsoleWorld(t, true)
	code, out, stderr := krRun(t, "login", "login", "--stdout", "-d", "3h")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "cannot carry MFA") || !strings.Contains(stderr, "role") {
		t.Errorf("no MFA note for a user with mfa_serial: %q", stderr)
	}
	info, err := w.sts.VerifySigninToken(w.signinURL(t, out).Get("SigninToken"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Session.Kind != ststest.KindFederationToken || info.Session.FederatedName != "alice" || info.Session.RequestedDuration != 3*time.Hour {
		t.Errorf("signed in with %s %q for %s, want a 3h federation token named alice", info.Session.Kind, info.Session.FederatedName, info.Session.RequestedDuration)
	}
	if w.sts.Calls("GetSessionToken") != 0 {
		t.Error("login made a GetSessionToken session, which the console refuses")
	}
}

func TestLoginRoleWithMFAToken(t *testing.T) {
	w := newConsoleWorld(t, true)
	code, out, stderr := krRun(t, "login", "prod", "-s", "-t", w.code())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	info, err := w.sts.VerifySigninToken(w.signinURL(t, out).Get("SigninToken"))
	if err != nil || info.Session.RoleArn != loginProdRole || !info.Session.MFA {
		t.Fatalf("%+v, %v", info.Session, err)
	}
}

func TestLoginFromEnvironment(t *testing.T) {
	w := newConsoleWorld(t, false)
	// Long-term keys in the environment become a federation token.
	t.Setenv("AWS_ACCESS_KEY_ID", w.key.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", w.key.SecretAccessKey)
	code, out, stderr := krRun(t, "login", "-s")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	info, err := w.sts.VerifySigninToken(w.signinURL(t, out).Get("SigninToken"))
	if err != nil || info.Session.Kind != ststest.KindFederationToken {
		t.Fatalf("%+v, %v", info.Session, err)
	}

	// A GetSessionToken session (what aws-vault hands over, #1191) is refused
	// by AWS; the message says why and what to use instead.
	code, _, _ = krRun(t, "--backend", "file", "export", "--format", "json", "login")
	if code != 0 {
		t.Fatalf("export: %d", code)
	}
	gst := w.sts.Sessions()[len(w.sts.Sessions())-1]
	if gst.Kind != ststest.KindSessionToken {
		t.Fatalf("export login made %s", gst.Kind)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", gst.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", gst.SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", gst.SessionToken)
	code, out, stderr = krRun(t, "login", "-s")
	if code != 1 || out != "" || !strings.Contains(stderr, "refused") || !strings.Contains(stderr, "GetSessionToken") {
		t.Errorf("GetSessionToken session: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}

func TestLoginSwitchRole(t *testing.T) {
	home := keysEnv(t)
	// No keyring passphrase and no endpoint: switch-role must need neither.
	os.Unsetenv("AWS_VAULT_FILE_PASSPHRASE")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
	writeConfig(t, home, "[profile login]\n[profile dev]\nsource_profile = login\nrole_arn = "+loginDevRole+"\nrolevault_color = green\n"+
		"[profile staging]\nsource_profile = login\nrole_arn = arn:aws:iam::333333333333:role/developer\nrolevault_color = yellow\n"+
		"[profile prod]\nsource_profile = login\nrole_arn = "+loginProdRole+"\nrolevault_color = #F2B0A9\n"+
		"[profile cn]\nrole_arn = arn:aws-cn:iam::555555555555:role/ops\nsource_profile = login\n"+
		"[profile bad]\nrole_arn = "+loginDevRole+"\nsource_profile = login\nrolevault_color = mauve\n")
	for _, tc := range []struct{ profile, want string }{
		{"dev", "https://signin.aws.amazon.com/switchrole?account=222222222222&color=b7ca9d&displayName=dev&roleName=team%2Fdeveloper"},
		{"staging", "https://signin.aws.amazon.com/switchrole?account=333333333333&color=efda95&displayName=staging&roleName=developer"},
		{"prod", "https://signin.aws.amazon.com/switchrole?account=444444444444&color=f2b0a9&displayName=prod&roleName=administrator"},
		{"cn", "https://signin.amazonaws.cn/switchrole?account=555555555555&displayName=cn&roleName=ops"},
	} {
		code, out, stderr := krRun(t, "login", "--switch-role", tc.profile, "--stdout")
		if code != 0 || strings.TrimSpace(out) != tc.want {
			t.Errorf("%s: exit %d, %q (stderr %q), want %s", tc.profile, code, out, stderr, tc.want)
		}
	}
	code, _, stderr := krRun(t, "login", "--switch-role", "login")
	if code != 1 || !strings.Contains(stderr, "no role_arn") {
		t.Errorf("profile without a role: exit %d, %q", code, stderr)
	}
	code, _, stderr = krRun(t, "login", "--switch-role", "bad", "-s")
	if code != 1 || !strings.Contains(stderr, "rolevault_color") || !strings.Contains(stderr, "mauve") {
		t.Errorf("bad colour: exit %d, %q", code, stderr)
	}
}
