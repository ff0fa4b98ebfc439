package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// A chain that uses every input policy reads from the plan: a role asked
// for 4h (so assumed directly with MFA, no session), with an external ID,
// and a role chained from it with session tags and a source identity.
const policyConfig = `[profile login]
mfa_serial = arn:aws:iam::026445672617:mfa/alice

[profile ci]
source_profile = login
role_arn = arn:aws:iam::989175535319:role/ci
mfa_serial = arn:aws:iam::026445672617:mfa/alice
external_id = ci-ext
duration_seconds = 14400

[profile deploy]
source_profile = ci
role_arn = arn:aws:iam::725335846599:role/deploy
session_tags = team=platform
source_identity = alice
`

func runPolicy(t *testing.T, cmd *PolicyCmd) (string, error) {
	t.Helper()
	cfg := explainEnv(t)
	if err := os.WriteFile(cfg, []byte(policyConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	g := &Globals{Backend: "file", FileDir: "~/.awsvault/keys/", streams: Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}}
	err := cmd.Run(g)
	return out.String(), err
}

func TestPolicyReadsThePlan(t *testing.T) {
	out, err := runPolicy(t, &PolicyCmd{Profiles: []string{"deploy"}, Format: "json", Principal: "exact"})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Roles []struct {
			ARN   string `json:"role_arn"`
			Max   int    `json:"max_session_duration"`
			Trust struct {
				Statement []struct {
					Action    any
					Principal struct{ AWS any }
					Condition map[string]map[string]any
				}
			} `json:"trust_policy"`
		} `json:"roles"`
		Identities []struct {
			RoleARN string `json:"role_arn"`
			Users   []string
		} `json:"identity_policies"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(doc.Roles) != 2 {
		t.Fatalf("roles: %s", out)
	}
	ci, deploy := doc.Roles[1], doc.Roles[0] // sorted by ARN: 7253… before 9891…
	if ci.ARN != "arn:aws:iam::989175535319:role/ci" || ci.Max != 14400 {
		t.Errorf("ci = %s %d, want MaxSessionDuration 14400", ci.ARN, ci.Max)
	}
	st := ci.Trust.Statement[0]
	if st.Principal.AWS != "arn:aws:iam::026445672617:user/alice" || st.Condition["StringEquals"]["sts:ExternalId"] != "ci-ext" ||
		st.Condition["Bool"]["aws:MultiFactorAuthPresent"] != "true" {
		t.Errorf("ci trust: %+v", st)
	}
	st = deploy.Trust.Statement[0]
	if st.Principal.AWS != "arn:aws:iam::989175535319:role/ci" || st.Condition["Bool"]["aws:MultiFactorAuthPresent"] != "true" ||
		!strings.Contains(out, `"sts:SetSourceIdentity"`) || !strings.Contains(out, `"sts:TagSession"`) {
		t.Errorf("deploy trust: %+v\n%s", st, out)
	}
	if len(doc.Identities) != 2 || doc.Identities[1].RoleARN != "arn:aws:iam::989175535319:role/ci" {
		t.Errorf("want the login users' policy and the ci role's: %s", out)
	}
	// ci assumes deploy with role credentials: no GetSessionToken, no
	// rotate or login statement beyond the login user's.
	if strings.Contains(out, "GetFederationToken") {
		t.Errorf("a role profile needs no GetFederationToken:\n%s", out)
	}
	if strings.Contains(out, "aws:MultiFactorAuthAge") {
		t.Errorf("MFA age condition without --mfa-max-age:\n%s", out)
	}
	out, err = runPolicy(t, &PolicyCmd{Profiles: []string{"deploy"}, Format: "json", Principal: "account", MFAMaxAge: time.Hour})
	if err != nil || strings.Count(out, `"aws:MultiFactorAuthAge": "3600"`) != 5 {
		t.Errorf("--mfa-max-age 1h: want the age condition on the two trust, two AssumeRole and the rotate statements (%v):\n%s", err, out)
	}
}

func TestPolicyNeedsTheUsersAccount(t *testing.T) {
	cfg := explainEnv(t)
	if err := os.WriteFile(cfg, []byte("[profile bare]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	g := &Globals{Backend: "file", FileDir: "~/.awsvault/keys/", streams: Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}}
	err := (&PolicyCmd{Profiles: []string{"bare"}, Format: "json", Principal: "account"}).Run(g)
	var h interface{ Hint() string }
	if err == nil || !strings.Contains(err.Error(), "mfa_serial") {
		t.Fatalf("err = %v", err)
	}
	if !asHint(err, &h) || !strings.Contains(h.Hint(), "mfa_serial") {
		t.Errorf("no hint naming mfa_serial: %v", err)
	}
}

func asHint(err error, h *interface{ Hint() string }) bool {
	x, ok := err.(interface{ Hint() string })
	*h = x
	return ok
}
