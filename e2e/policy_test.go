package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/rolevault/rolevault/internal/ststest"
)

// The seeds' layout through the binary: alice's key in the login
// (security) account, profiles for the admin and dev roles of the dev,
// stage, prod and mgmt accounts. 'rolevault policy --all' prints the
// policies; an emulator world built only from them lets every profile
// through, and without one role's trust statement exactly that profile
// fails.
const (
	seedsLogin = "026445672617"
)

var seedsTargets = []struct{ env, account string }{
	{"dev", "211047650761"}, {"stage", "320385056066"}, {"prod", "725335846599"}, {"mgmt", "989175535319"},
}

type policyOutput struct {
	Roles []struct {
		RoleARN            string          `json:"role_arn"`
		MaxSessionDuration int             `json:"max_session_duration"`
		TrustPolicy        json.RawMessage `json:"trust_policy"`
	} `json:"roles"`
	Identities []struct {
		Account string          `json:"account"`
		Users   []string        `json:"users"`
		Policy  json.RawMessage `json:"policy"`
	} `json:"identity_policies"`
}

func seedsPolicyEnv(t *testing.T) (*Env, *ststest.Server, []string) {
	t.Helper()
	skipIfE2EOff(t)
	s := ststest.New()
	url := s.Start()
	t.Cleanup(s.Close)
	id, secret := s.AddUser(seedsLogin, "alice")
	serial, mfaSecret := s.AddMFADevice(seedsLogin, "alice")

	e := NewEnv(t)
	e.Set("AWS_VAULT_BACKEND", "file", "AWS_VAULT_FILE_DIR", filepath.Join(e.Home, "keys"), "AWS_VAULT_FILE_PASSPHRASE", "e2e-file-passphrase")
	mfa := filepath.Join(e.Home, "mfa.sh")
	must(t, os.WriteFile(mfa, []byte(fmt.Sprintf("#!/bin/sh\nexec %s -totp %s\n", shQuote(toolBinary(t, "ststest")), mfaSecret)), 0o700))
	common := "region = eu-west-1\nendpoint_url = " + url + "\nmfa_serial = " + serial + "\nmfa_process = " + mfa + "\n"
	cfg := "[profile login]\n" + common + "\n"
	var profiles []string
	for _, tg := range seedsTargets {
		for _, role := range []string{"admin", "dev"} {
			name := tg.env + "-" + role
			profiles = append(profiles, name)
			cfg += "[profile " + name + "]\nsource_profile = login\nrole_arn = arn:aws:iam::" + tg.account + ":role/" + role + "\n" + common + "\n"
		}
	}
	e.WriteConfig(t, cfg)
	e.Set("AWS_ACCESS_KEY_ID", id, "AWS_SECRET_ACCESS_KEY", secret)
	expect(t, e.Run(t, "add", "login", "--env", "--no-add-config"), 0)
	delete(e.Vars, "AWS_ACCESS_KEY_ID")
	delete(e.Vars, "AWS_SECRET_ACCESS_KEY")
	return e, s, profiles
}

func TestPolicyAllForTheSeedsLayoutWorksInTheEmulator(t *testing.T) {
	e, s, profiles := seedsPolicyEnv(t)
	r := e.Run(t, "policy", "--all")
	expect(t, r, 0)
	var out policyOutput
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("policy output is not JSON: %v\n%s", err, r.Stdout)
	}
	if len(out.Roles) != 8 || len(out.Identities) != 1 || out.Identities[0].Account != seedsLogin {
		t.Fatalf("want 8 trust policies and one group policy for %s, got %s", seedsLogin, r.Stdout)
	}
	if n := strings.Count(r.Stdout, `"sts:AssumeRole"`); n != 9 {
		t.Errorf("%d sts:AssumeRole statements, want one per role and one in the group policy:\n%s", n, r.Stdout)
	}

	// The world gets nothing but what policy printed: the group policy for
	// alice's group, and each role's trust policy, less one role's
	// statement in the later rounds.
	must(t, s.AddUserToGroup(seedsLogin, "rolevault", "alice"))
	must(t, s.PutGroupPolicy(seedsLogin, "rolevault", "rolevault", string(out.Identities[0].Policy)))
	for _, broken := range []string{"", out.Roles[0].RoleARN, out.Roles[5].RoleARN} {
		for _, ro := range out.Roles {
			trust := string(ro.TrustPolicy)
			if ro.RoleARN == broken {
				trust = `{"Version": "2012-10-17", "Statement": []}`
			}
			must(t, s.AddRole(ro.RoleARN, ststest.RoleOptions{TrustPolicy: trust, MaxSessionDuration: time.Duration(ro.MaxSessionDuration) * time.Second}))
		}
		for _, name := range profiles {
			expect(t, e.Run(t, "clear", name), 0) // the role session, not alice's MFA session
			res := e.Run(t, "export", "--format=json", name)
			if roleOf(name) == broken {
				expect(t, res, 1, "err:AccessDenied", "err:"+broken)
			} else {
				expect(t, res, 0, `"AccessKeyId"`)
			}
		}
	}
}

// roleOf is the role ARN of a seeds profile such as prod-admin.
func roleOf(profile string) string {
	env, role, _ := strings.Cut(profile, "-")
	for _, tg := range seedsTargets {
		if tg.env == env {
			return "arn:aws:iam::" + tg.account + ":role/" + role
		}
	}
	return ""
}

func TestPolicyTerraformParses(t *testing.T) {
	e, _, _ := seedsPolicyEnv(t)
	r := e.Run(t, "policy", "--all", "--format", "terraform", "--principal", "exact")
	expect(t, r, 0, `resource "aws_iam_role"`, `data "aws_iam_policy_document"`, `resource "aws_iam_policy"`,
		`"arn:aws:iam::`+seedsLogin+`:user/alice"`)
	f, diags := hclsyntax.ParseConfig([]byte(r.Stdout), "policy.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("not HCL: %v\n%s", diags, r.Stdout)
	}
	roles := 0
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type == "resource" && b.Labels[0] == "aws_iam_role" {
			roles++
		}
	}
	if roles != 8 {
		t.Errorf("%d aws_iam_role resources, want 8", roles)
	}
}

func TestPolicyUsage(t *testing.T) {
	e, _, _ := seedsPolicyEnv(t)
	expect(t, e.Run(t, "policy"), 2, "err:policy needs profile names or --all", "err:Usage: rolevault policy")
	expect(t, e.Run(t, "policy", "nosuch"), 1, "err:nosuch")
}
