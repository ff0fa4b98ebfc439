package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const ssoBase = `# company config
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1

[profile dev-admin]
sso_session = corp
sso_account_id = 222222222222
sso_role_name = AdministratorAccess

[profile prod-ReadOnly]
region = us-east-1
`

func TestPlanSSOProfiles(t *testing.T) {
	c := loadTest(t, ssoBase, "", nil)
	as := []SSOAssignment{
		{AccountID: "333333333333", AccountName: "Prod", RoleName: "ReadOnly"},            // name taken by a hand-written profile
		{AccountID: "222222222222", AccountName: "Dev", RoleName: "AdministratorAccess"},  // covered by dev-admin
		{AccountID: "222222222222", AccountName: "Dev", RoleName: "ReadOnly"},             // new
		{AccountID: "444444444444", AccountName: "Shared Services (EU)", RoleName: "Ops"}, // new, name sanitised
		{AccountID: "555555555555", AccountName: "dev", RoleName: "ReadOnly"},             // same name as another account
	}
	add, skip, err := c.PlanSSOProfiles(as, SSOProfileOptions{Session: "corp", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range add {
		names = append(names, p.Name)
	}
	if got, want := strings.Join(names, " "), "dev-ReadOnly dev-ReadOnly-555555555555 shared-services-eu-Ops"; got != want {
		t.Errorf("added %q, want %q", got, want)
	}
	reasons := map[string]string{}
	for _, s := range skip {
		reasons[s.AccountID+"/"+s.RoleName] = s.Reason
	}
	if !strings.Contains(reasons["222222222222/AdministratorAccess"], "[profile dev-admin]") {
		t.Errorf("covered assignment: %q", reasons["222222222222/AdministratorAccess"])
	}
	if !strings.Contains(reasons["333333333333/ReadOnly"], "exists") {
		t.Errorf("taken name: %q", reasons["333333333333/ReadOnly"])
	}

	// Written, then read back: the new profiles resolve to their account and
	// role, and every old byte is where it was.
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(ssoBase), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := AppendProfiles(path, add); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), ssoBase) {
		t.Fatalf("existing text changed:\n%s", b)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's own 0640", st.Mode().Perm())
	}
	c2, err := Load(LoadOptions{ConfigFile: path, CredentialsFile: filepath.Join(dir, "none"), LookupEnv: mapEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c2.Resolve("shared-services-eu-Ops", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if p.SSO == nil || p.SSO.AccountID != "444444444444" || p.SSO.RoleName != "Ops" || p.SSO.StartURL != "https://corp.awsapps.com/start" || p.Region != "eu-west-1" {
		t.Errorf("resolved %+v region %q", p.SSO, p.Region)
	}
	// A second run adds nothing: everything is covered now.
	again, _, err := c2.PlanSSOProfiles(as, SSOProfileOptions{Session: "corp", Region: "eu-west-1"})
	if err != nil || len(again) != 0 {
		t.Errorf("second run adds %v (%v)", again, err)
	}
	// A section that appeared since the plan stops the write, and nothing changes.
	if err := AppendProfiles(path, add[:1]); err == nil {
		t.Error("appending an existing section succeeded")
	}
	if b2, _ := os.ReadFile(path); string(b2) != string(b) {
		t.Error("a refused append changed the file")
	}
}

func TestPlanSSOProfilesRefusesBadInput(t *testing.T) {
	c := loadTest(t, ssoBase, "", nil)
	if _, _, err := c.PlanSSOProfiles(nil, SSOProfileOptions{Session: "nope"}); err == nil || !strings.Contains(err.Error(), "sso-session nope") {
		t.Errorf("unknown session: %v", err)
	}
	if _, _, err := c.PlanSSOProfiles(nil, SSOProfileOptions{Session: "corp", Format: "{account_name}"}); err == nil || !strings.Contains(err.Error(), "{role_name}") {
		t.Errorf("format without the role: %v", err)
	}
}
