package e2e

// Muscle memory from aws-vault v7 (issue 8 §3) and what exec's child may see
// (issue 9 points 3 and 8), through the binary.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAWSProfileNamesTheProfile: with no profile on the command line, exec
// (with and without '--') and login take AWS_PROFILE, as aws-vault does;
// AWS_VAULT_STDOUT is login's --stdout.
func TestAWSProfileNamesTheProfile(t *testing.T) {
	w := newLoginWorld(t)
	w.E.Set("AWS_PROFILE", "role-b")
	expect(t, w.E.Run(t, "exec", "--", "sh", "-c", `echo "vault=$AWS_VAULT profile=${AWS_PROFILE-unset}"`), 0,
		"out:vault=role-b profile=unset\n")
	expect(t, w.E.Run(t, "exec", "-d", "1h", "--", "sh", "-c", `echo "vault=$AWS_VAULT"`), 0, "out:vault=role-b\n")
	w.E.Set("SHELL", "/bin/true")
	expect(t, w.E.Run(t, "exec"), 0)

	log := withBrowserStub(t, w.E)
	w.E.Set("AWS_VAULT_STDOUT", "true")
	r := w.E.Run(t, "login")
	expect(t, r, 0)
	if lines := strings.Split(strings.TrimSpace(r.Stdout), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "http") {
		t.Fatalf("AWS_PROFILE=role-b AWS_VAULT_STDOUT=true login: want one URL on stdout, got %s", r)
	} else {
		info := w.redeem(t, lines[0])
		w.checkRoleB(t, info.Session.AccessKeyID, info.Session.Arn)
	}
	if got := openedURLs(t, log); len(got) != 0 {
		t.Errorf("AWS_VAULT_STDOUT=true opened the browser: %q", got)
	}

	delete(w.E.Vars, "AWS_PROFILE")
	expect(t, w.E.Run(t, "exec", "--", "true"), 2, "err:exec needs a profile, and AWS_PROFILE is not set")
}

// TestExecProfileEnv: --profile-env (AWS_VAULT_PROFILE_ENV) checks the
// credentials, then gives the child AWS_PROFILE and no keys.
func TestExecProfileEnv(t *testing.T) {
	w := newWorld(t)
	show := `echo "profile=${AWS_PROFILE-unset} key=${AWS_ACCESS_KEY_ID-unset}"`
	expect(t, w.E.Run(t, "exec", "--profile-env", "role-b", "--", "sh", "-c", show), 0, "out:profile=role-b key=unset\n")
	w.E.Set("AWS_VAULT_PROFILE_ENV", "true")
	expect(t, w.E.Run(t, "exec", "role-b", "--", "sh", "-c", show), 0, "out:profile=role-b key=unset\n")
	if w.STS.Calls("AssumeRole") == 0 {
		t.Errorf("--profile-env did not check the credentials first")
	}
}

// TestExecCommandLineCheckedBeforeAnyPrompt: a mistyped flag after the
// profile and a command that does not exist are errors before the MFA
// source runs or STS is called; commands with their own flags still run,
// with or without '--'.
func TestExecCommandLineCheckedBeforeAnyPrompt(t *testing.T) {
	w := newWorld(t)
	r := w.E.Run(t, "exec", "role-b", "--durration", "2h", "--", "terraform", "plan")
	expect(t, r, 2, `err:unknown flag --durration, did you mean "--duration"?`, "err:Put the command after --")
	r = w.E.Run(t, "exec", "role-b", "--", "no-such-command-rv", "-x")
	expect(t, r, 127, "err:command not found: no-such-command-rv")
	notExec := filepath.Join(w.E.Home, "not-executable")
	must(t, os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o600))
	expect(t, w.E.Run(t, "exec", "role-b", "--", notExec), 126, "err:cannot run")
	// A path that does not exist is 127, as in a shell, not 126.
	expect(t, w.E.Run(t, "exec", "role-b", "--", filepath.Join(w.E.Home, "no-such-dir", "tool")), 127, "err:command not found: ", "err:no-such-dir/tool")
	if n := w.mfaRuns(t); n != 0 || len(w.STS.History()) != 0 {
		t.Fatalf("bad command lines ran the MFA source %d times and made %d STS calls", n, len(w.STS.History()))
	}

	expect(t, w.E.Run(t, "exec", "role-b", "--", "sh", "-c", `echo "$0 $1"`, "--flag", "-d"), 0, "out:--flag -d\n")
	expect(t, w.E.Run(t, "exec", "role-b", "sh", "-c", `echo "$0 $1"`, "--flag", "-d"), 0, "out:--flag -d\n")
	expect(t, w.E.Run(t, "exec", "role-b", "-d", "1h", "--", "sh", "-c", `echo ok`), 0, "out:ok\n")
}

// TestExecChildGetsNoKeyringSecret (issue 9 point 3): in every exec mode the
// child's environment holds neither the file keyring's passphrase nor a
// parent server's container token.
func TestExecChildGetsNoKeyringSecret(t *testing.T) {
	w := newWorld(t)
	passphrase := w.E.Vars["AWS_VAULT_FILE_PASSPHRASE"]
	w.E.Set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "parent-server-token",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/parent",
		"AWS_VAULT_OP_SERVICE_ACCOUNT_TOKEN", "op-token-secret")
	for name, flags := range map[string][]string{"plain": nil, "ecs-server": {"--ecs-server"}, "ec2-server": {"--ec2-server"}} {
		t.Run(name, func(t *testing.T) {
			args := append(append([]string{"exec"}, flags...), "role-b", "--", "env")
			r := w.E.Run(t, args...)
			expect(t, r, 0)
			for _, bad := range []string{"AWS_VAULT_FILE_PASSPHRASE=", passphrase, "parent-server-token", "127.0.0.1:9/parent", "op-token-secret"} {
				if strings.Contains(r.Stdout, bad) {
					t.Errorf("the child's environment holds %q:\n%s", bad, r.Stdout)
				}
			}
			if !strings.Contains(r.Stdout, "AWS_VAULT=role-b\n") {
				t.Errorf("the child did not get AWS_VAULT:\n%s", r.Stdout)
			}
		})
	}
}

// TestExportINIIsACredentialsFileSection: what export --format=ini prints,
// appended to a credentials file, is found there by Debian's AWS CLI v2.
func TestExportINIIsACredentialsFileSection(t *testing.T) {
	w := newWorld(t)
	aws := debianAWS(t)
	r := w.E.Run(t, "export", "--format=ini", "role-b")
	expect(t, r, 0, "out:[role-b]\n")
	creds := filepath.Join(w.E.Home, "exported-credentials")
	config := filepath.Join(w.E.Home, "cli-config")
	must(t, os.WriteFile(creds, []byte("[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = x\n\n"+r.Stdout), 0o600))
	must(t, os.WriteFile(config, []byte("[profile role-b]\nregion = "+worldRegion+"\nendpoint_url = "+w.URL+"\n"), 0o600))
	e := *w.E
	e.Vars = map[string]string{}
	for k, v := range w.E.Vars {
		e.Vars[k] = v
	}
	e.Set("AWS_SHARED_CREDENTIALS_FILE", creds, "AWS_CONFIG_FILE", config)
	cli := e.Exec(t, aws, "sts", "get-caller-identity", "--profile", "role-b", "--endpoint-url", w.URL, "--output", "json")
	expect(t, cli, 0)
	id := parseCallerIdentity(t, cli)
	if !strings.Contains(id.Arn, "role-b") {
		t.Errorf("the AWS CLI signed in as %s, want role-b's session", id.Arn)
	}
}

// TestListProfilesInFileOrder: list --profiles prints what the AWS CLI's
// `aws configure list-profiles` prints, in the same order.
func TestListProfilesInFileOrder(t *testing.T) {
	aws := debianAWS(t)
	e := NewEnv(t)
	e.WriteConfig(t, "[profile zeta]\nregion = us-east-1\n[default]\nregion = us-east-1\n[profile alpha]\n[profile mid]\n")
	must(t, os.WriteFile(e.Credentials, []byte("[beta]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n[alpha]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n"), 0o600))
	want := e.Exec(t, aws, "configure", "list-profiles")
	expect(t, want, 0)
	got := e.Run(t, "list", "--profiles")
	expect(t, got, 0)
	if got.Stdout != want.Stdout {
		t.Errorf("list --profiles:\n%s\naws configure list-profiles:\n%s", got.Stdout, want.Stdout)
	}
}

// TestAddAsksForTheMFADevice: interactive add of a profile the config lacks
// asks for the MFA device, as aws-vault does, and writes it with the section.
func TestAddAsksForTheMFADevice(t *testing.T) {
	e := NewEnv(t).Set("AWS_VAULT_BACKEND", "file", "AWS_VAULT_FILE_PASSPHRASE", "pw")
	e.WriteConfig(t, "[profile other]\nregion = eu-west-1\n")
	tm := StartTerminal(t, e, "rolevault", "add", "newuser")
	tm.WaitFor("Enter Access Key ID:")
	tm.Type(e2eKeyID)
	tm.WaitFor("Enter Secret Access Key:")
	tm.Type(e2eSecret)
	tm.WaitFor("Enter MFA Device ARN (If MFA is not enabled, leave this blank):")
	tm.Type("not-an-arn")
	tm.WaitFor("try again")
	tm.Type("arn:aws:iam::111111111111:mfa/alice")
	screen := tm.WaitFor("EXIT=")
	if !strings.Contains(screen, "EXIT=0") {
		t.Fatalf("add failed:\n%s", screen)
	}
	b, err := os.ReadFile(e.Config)
	must(t, err)
	if !strings.Contains(string(b), "[profile newuser]\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\n") ||
		!strings.HasPrefix(string(b), "[profile other]\nregion = eu-west-1\n") {
		t.Errorf("config after add:\n%s", b)
	}
}

// TestExplicitMFASessionLengthIsHonoured: an MFA session cached by a default
// request (1h) is not handed to a request for 8h; the 8h one is then reused.
func TestExplicitMFASessionLengthIsHonoured(t *testing.T) {
	w := newWorld(t)
	// Each run's code is one the emulator has not seen: its clock moves a
	// TOTP step per run (AWS refuses a code twice).
	var step time.Duration
	w.STS.SetNow(func() time.Time { return time.Now().Add(step) })
	run := func() {
		t.Helper()
		step += 30 * time.Second
		expect(t, w.E.Run(t, "exec", "-t", w.code(), "login", "--", "true"), 0)
	}
	run()
	run()
	if n := w.STS.Calls("GetSessionToken"); n != 1 {
		t.Fatalf("two default requests made %d GetSessionToken calls, want 1", n)
	}
	w.E.Set("AWS_SESSION_TOKEN_TTL", "8h")
	run()
	run()
	if n := w.STS.Calls("GetSessionToken"); n != 2 {
		t.Errorf("AWS_SESSION_TOKEN_TTL=8h after a cached 1h session: %d GetSessionToken calls in all, want 2 (one new 8h session, then reused)", n)
	}
	r := w.E.Run(t, "list", "--sessions")
	if !strings.Contains(r.Stdout, "login:GetSessionToken:8h") && !strings.Contains(r.Stdout, "login:GetSessionToken:7h") {
		t.Errorf("list does not show the 8h session's real time left:\n%s", r)
	}
}

// TestExplainAfterAnotherToolClearedTheSessions: aws-vault clear (or anything
// else) deleting rolevault's session items from a shared keyring leaves the
// non-secret expiry index behind; explain must not then claim the session
// would be reused without an STS call.
func TestExplainAfterAnotherToolClearedTheSessions(t *testing.T) {
	w := newWorld(t)
	expect(t, w.E.Run(t, "exec", "role-b", "--", "true"), 0)
	expect(t, w.E.Run(t, "explain", "role-b"), 0, "out:would be reused, no STS call")
	items, err := filepath.Glob(filepath.Join(w.E.Home, "keys", "rolevault.*"))
	must(t, err)
	if len(items) != 3 {
		t.Fatalf("session items in the file keyring = %q, want 3", items)
	}
	for _, it := range items {
		must(t, os.Remove(it))
	}
	r := w.E.Run(t, "explain", "role-b")
	expect(t, r, 0)
	if strings.Contains(r.Stdout, "would be reused") || strings.Contains(r.Stdout, "valid for") {
		t.Errorf("explain trusts the index of sessions that are gone:\n%s", r.Stdout)
	}
	if n := strings.Count(r.Stdout, "not cached: this call will be made"); n != 3 {
		t.Errorf("explain shows %d calls to be made, want 3:\n%s", n, r.Stdout)
	}
}

// TestRemoveWithWrongPassphraseKeepsTheKey: remove -f with a mistyped file
// keyring passphrase is refused and the key stays; bad input deletes nothing.
func TestRemoveWithWrongPassphraseKeepsTheKey(t *testing.T) {
	w := newWorld(t)
	good := w.E.Vars["AWS_VAULT_FILE_PASSPHRASE"]
	w.E.Set("AWS_VAULT_FILE_PASSPHRASE", "not-the-passphrase")
	expect(t, w.E.Run(t, "remove", "-f", "login"), 1, "err:wrong passphrase for the file keyring")
	// Without -f the passphrase is checked before the confirmation question
	// (here: before finding there is no terminal to ask on).
	if r := w.E.Run(t, "remove", "login"); r.Code != 1 || !strings.Contains(r.Stderr, "wrong passphrase") || strings.Contains(r.Stderr, "confirmation") {
		t.Errorf("remove without -f and a wrong passphrase: want the passphrase error first, got %s", r)
	}
	w.E.Set("AWS_VAULT_FILE_PASSPHRASE", good)
	c, err := w.storedKey(t, "login")
	if err != nil || c.AccessKeyID != w.KeyID {
		t.Fatalf("after a refused remove the stored key is %q (%v), want %s", c.AccessKeyID, err, w.KeyID)
	}
	expect(t, w.E.Run(t, "remove", "-f", "login"), 0, `out:Deleted the access key of profile "login"`)
}

// TestServerWarningStatesTheMFASessionsRealTimeLeft: with the terminal as the
// only MFA prompt, exec --ecs-server warns how long it can refresh without a
// new code. With nothing cached (--lazy: nothing fetched at start), that is
// the length of the MFA session it will fetch; once one is cached, the time
// it has left (7h59m a few seconds later), not the 8h it was fetched with.
func TestServerWarningStatesTheMFASessionsRealTimeLeft(t *testing.T) {
	w := newWorld(t)
	w.E.WriteConfig(t, strings.ReplaceAll(w.config(""), "mfa_process = "+w.MFAProcess+"\n", ""))
	warning := regexp.MustCompile(`can refresh credentials for about (\S+) without a new MFA code \(([^)]*)\)`)
	run := func(flags ...string) (left, what string) {
		t.Helper()
		r := w.E.Run(t, append(append([]string{"exec", "-t", w.code(), "--ecs-server"}, flags...), "role-b", "--", "true")...)
		expect(t, r, 0)
		m := warning.FindStringSubmatch(r.Stderr)
		if m == nil {
			t.Fatalf("no refresh warning:\n%s", r)
		}
		return m[1], m[2]
	}
	if left, what := run("--lazy"); left != "8h" || what != "a new 8h MFA session" {
		t.Errorf("cold: about %s (%s), want about 8h (a new 8h MFA session)", left, what)
	}
	if left, what := run(); left != "7h59m" || what != "the cached MFA session" {
		t.Errorf("warm: about %s (%s), want about 7h59m (the cached MFA session)", left, what)
	}
	if n := w.STS.Calls("GetSessionToken"); n != 1 {
		t.Errorf("%d GetSessionToken calls, want 1", n)
	}
}
