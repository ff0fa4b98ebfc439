//go:build unix

package e2e

// The commands about a sign-in itself: sso login, sso logout, sso profiles,
// and what list and clear say and do about sign-ins.

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// newSSOCmdWorld is newSSOWorld with the emulator also named by
// AWS_ENDPOINT_URL: a command about an [sso-session] has no profile whose
// endpoint_url it could use, and generated profiles have none either (a
// user's calls go to AWS's own endpoints).
func newSSOCmdWorld(t *testing.T, extra string) *ssoWorld {
	w := newSSOWorld(t, extra)
	w.E.Set("AWS_ENDPOINT_URL", w.URL)
	return w
}

// TestSSOProfilesGenerateAndWrite: sso profiles lists every account and
// role of the sign-in (across pages), prints sections for the ones the
// config lacks, and --write appends them without touching a byte of the
// rest; the new profiles work with the same sign-in, and a second --write
// adds nothing.
func TestSSOProfilesGenerateAndWrite(t *testing.T) {
	w := newSSOCmdWorld(t, "[profile hand-written]\nregion = eu-west-1\n")
	w.STS.AddSSOAssignment(ssoStartURL, "555555555555", "Prod", "ReadOnly")
	w.STS.AddSSOAssignment(ssoStartURL, "555555555555", "Prod", "Admin")
	w.STS.AddSSOAssignment(ssoStartURL, "666666666666", "Shared Services", "Ops")
	w.STS.SetSSOPageSize(1) // ListAccounts and ListAccountRoles really page
	before, err := os.ReadFile(w.E.Config)
	must(t, err)

	// A bad format is refused before anyone is signed in.
	expect(t, w.E.Run(t, "sso", "profiles", "--name-format", "{account_name}"), 1, "err:{role_name}")
	if n := w.tabs(t); n != 0 {
		t.Fatalf("a refused command opened %d tabs", n)
	}

	r := w.E.Run(t, "sso", "profiles")
	expect(t, r, 0, "out:[profile prod-Admin]\nsso_session = corp\nsso_account_id = 555555555555\nsso_role_name = Admin\nregion = "+worldRegion+"\n",
		"out:[profile prod-ReadOnly]", "out:[profile shared-services-Ops]", "err:3 new profiles for 4 roles; 1 already in", "err:--write")
	if strings.Contains(r.Stdout, "sso_account_id = "+ssoAccount) {
		t.Errorf("the account dev-sso already covers was printed again:\n%s", r.Stdout)
	}
	if n := w.tabs(t); n != 1 {
		t.Errorf("sso profiles opened %d tabs, want 1 (the sign-in)", n)
	}
	if c := w.STS.SSOCounts(); c.ListAccounts < 3 || c.ListAccountRoles < 4 {
		t.Errorf("pages not followed: %+v", c)
	}
	if after, _ := os.ReadFile(w.E.Config); string(after) != string(before) {
		t.Fatal("sso profiles without --write changed the config")
	}

	expect(t, w.E.Run(t, "sso", "profiles", "--write", "--session", "corp"), 0, "err:Added 3 profiles to", "err:prod-Admin, prod-ReadOnly, shared-services-Ops")
	after, err := os.ReadFile(w.E.Config)
	must(t, err)
	if !strings.HasPrefix(string(after), string(before)) {
		t.Fatalf("--write changed existing lines:\n%s", after)
	}
	r = w.E.Run(t, "export", "--format=json", "prod-ReadOnly")
	expect(t, r, 0, "out:AccessKeyId")
	if n := w.tabs(t); n != 1 {
		t.Errorf("using a generated profile opened another tab (%d)", n)
	}
	expect(t, w.E.Run(t, "sso", "profiles", "--write"), 0, "err:All 4 roles already have a profile")
	if again, _ := os.ReadFile(w.E.Config); string(again) != string(after) {
		t.Error("a second --write changed the config")
	}
	expect(t, w.E.Run(t, "sso", "profiles", "hand-written"), 1, "err:does not sign in with IAM Identity Center")
}

// TestSSOLoginAndLogout: sso login signs in ahead of time (one tab, then
// none); sso logout ends the sign-in at AWS, forgets the token and the
// cached role sessions, so the next use signs in again; list says each state.
func TestSSOLoginAndLogout(t *testing.T) {
	w := newSSOCmdWorld(t, "[profile role-on-sso]\nsource_profile = dev-sso\nrole_arn = arn:aws:iam::"+ssoAccount+":role/x\nregion = "+worldRegion+"\n")
	expect(t, w.E.Run(t, "list"), 0, "out:SSO SIGN-IN", "out:corp", "out:not signed in")
	expect(t, w.E.Run(t, "sso", "login", "--session", "corp"), 0, "err:Signed in to "+ssoStartURL+" (sso-session corp) until", "err:renewed without a browser")
	expect(t, w.E.Run(t, "sso", "login", "dev-sso"), 0, "err:Signed in to")
	if n := w.tabs(t); n != 1 {
		t.Fatalf("two sso logins opened %d tabs, want 1", n)
	}
	r := w.E.Run(t, "list", "--json")
	expect(t, r, 0)
	var doc struct {
		SignIns []struct {
			Name        string `json:"name"`
			SignedIn    bool   `json:"signed_in"`
			Refreshable bool   `json:"refreshable"`
			SecondsLeft int64  `json:"seconds_left"`
		} `json:"sso_sign_ins"`
	}
	must(t, json.Unmarshal([]byte(r.Stdout), &doc))
	if len(doc.SignIns) != 1 || !doc.SignIns[0].SignedIn || !doc.SignIns[0].Refreshable || doc.SignIns[0].SecondsLeft < 3000 {
		t.Errorf("list --json sign-ins: %+v", doc.SignIns)
	}
	expect(t, w.E.Run(t, "export", "--format=json", "dev-sso"), 0, "out:AccessKeyId")
	expect(t, w.E.Run(t, "list", "--sessions"), 0, "out:dev-sso:")

	expect(t, w.E.Run(t, "sso", "logout"), 0, "err:Signed out of "+ssoStartURL, "err:ended the sign-in at IAM Identity Center", "err:removed 1 cached session")
	if c := w.STS.SSOCounts(); c.Logout != 1 {
		t.Errorf("Logout called %d times, want 1", c.Logout)
	}
	expect(t, w.E.Run(t, "list"), 0, "out:not signed in")
	if r := w.E.Run(t, "list", "--sessions"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("sessions left after logout: %s", r.Stdout)
	}
	expect(t, w.E.Run(t, "sso", "logout"), 0, "err:Not signed in to")
	expect(t, w.E.Run(t, "export", "--format=json", "dev-sso"), 0, "out:AccessKeyId")
	if n := w.tabs(t); n != 2 {
		t.Errorf("after logout the next export opened %d tabs in all, want 2", n)
	}
	expect(t, w.E.Run(t, "sso", "login", "role-on-sso"), 0, "err:Signed in to")
	expect(t, w.E.Run(t, "sso", "login", "dev-sso", "--session", "corp"), 1, "err:both a profile")
}

// TestClearForgetsSignIns: clear removes sessions and sign-ins as aws-vault
// clear does; clear --sso only the sign-ins; the next use then needs a new
// sign-in (a tab), never a refresh from a forgotten token.
func TestClearForgetsSignIns(t *testing.T) {
	w := newSSOCmdWorld(t, "")
	expect(t, w.E.Run(t, "export", "--format=json", "dev-sso"), 0, "out:AccessKeyId")
	expect(t, w.E.Run(t, "clear", "--sso"), 0, "err:Cleared 1 IAM Identity Center sign-in.")
	expect(t, w.E.Run(t, "list", "--sessions"), 0, "out:dev-sso:") // the role session stays
	expect(t, w.E.Run(t, "list"), 0, "out:not signed in")
	expect(t, w.E.Run(t, "sso", "login"), 0, "err:Signed in to")
	if n := w.tabs(t); n != 2 {
		t.Fatalf("%d tabs, want 2 (the sign-in after clear --sso is a new one)", n)
	}
	expect(t, w.E.Run(t, "clear"), 0, "err:Cleared 1 session and 1 IAM Identity Center sign-in.")
	expect(t, w.E.Run(t, "clear"), 0, "err:Cleared 0 sessions.")
	expect(t, w.E.Run(t, "export", "--format=json", "dev-sso"), 0, "out:AccessKeyId")
	expect(t, w.E.Run(t, "clear", "dev-sso"), 0, "err:Cleared 1 session and 1 IAM Identity Center sign-in.")
	if c := w.STS.SSOCounts(); c.TokenByGrant["refresh_token"] != 0 {
		t.Errorf("a cleared sign-in was refreshed: %v", c.TokenByGrant)
	}
}

// TestSSOBrowserFromBROWSER: $BROWSER names the browser, as for the AWS CLI
// (Python's webbrowser) and xdg-open; with no xdg-open installed the sign-in
// still opens one tab through it, and explain names it.
func TestSSOBrowserFromBROWSER(t *testing.T) {
	w := newSSOWorld(t, "")
	fb := toolBinary(t, "fakebrowser")
	w.noBrowser()
	w.E.Set("BROWSER", "/nonexistent/browser:"+fb+" %s")
	expect(t, w.E.Run(t, "explain", "dev-sso"), 0, "out:a browser can be opened ("+fb+" (from $BROWSER))")
	expect(t, w.E.Run(t, "export", "--format=json", "dev-sso"), 0, "out:AccessKeyId")
	if n := w.tabs(t); n != 1 {
		t.Errorf("%d tabs through $BROWSER, want 1", n)
	}
	if c := w.STS.SSOCounts(); c.TokenByGrant["authorization_code"] != 1 {
		t.Errorf("not signed in through the browser: %+v", c)
	}
}
