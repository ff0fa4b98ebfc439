package iampolicy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./iampolicy -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

func TestSeedsLayoutMergesIntoOneGroupPolicyAndOneTrustPolicyPerRole(t *testing.T) {
	res, err := Generate(seedsChains(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Identities) != 1 {
		t.Fatalf("got %d identity policies, want one group policy for the login account", len(res.Identities))
	}
	id := res.Identities[0]
	if id.Kind != "group" || id.Account != loginAccount || !slices.Equal(id.Users, []string{aliceArn, bobArn}) {
		t.Errorf("identity = %+v, want the group of alice and bob in %s", id, loginAccount)
	}
	var assume *Statement
	for i, s := range id.Policy.Statement {
		if slices.Equal(s.Action, List{"sts:AssumeRole"}) {
			assume = &id.Policy.Statement[i]
		}
	}
	if assume == nil || len(assume.Resource) != 8 {
		t.Fatalf("want one sts:AssumeRole statement on the 8 roles, got %+v", id.Policy.Statement)
	}
	if got := assume.Condition["Bool"]["aws:MultiFactorAuthPresent"]; !slices.Equal(got, List{"true"}) {
		t.Errorf("AssumeRole statement condition = %v, want MFA", assume.Condition)
	}
	if len(res.Roles) != 8 {
		t.Fatalf("got %d roles, want 8", len(res.Roles))
	}
	for _, r := range res.Roles {
		if len(r.Trust.Statement) != 1 {
			t.Errorf("%s: %d trust statements, want 1", r.ARN, len(r.Trust.Statement))
			continue
		}
		s := r.Trust.Statement[0]
		if !slices.Equal(s.Principal.AWS, List{"arn:aws:iam::" + loginAccount + ":root"}) {
			t.Errorf("%s trusts %v, want the login account root", r.ARN, s.Principal.AWS)
		}
		if r.MaxSessionDuration != time.Hour {
			t.Errorf("%s MaxSessionDuration = %v", r.ARN, r.MaxSessionDuration)
		}
	}
	golden(t, "seeds.json", res.JSON())
}

func TestJSONIsDeterministicAndValidIAM(t *testing.T) {
	chains := seedsChains()
	a, _ := Generate(chains, Options{})
	slices.Reverse(chains)
	b, _ := Generate(chains, Options{})
	if !bytes.Equal(a.JSON(), b.JSON()) {
		t.Fatal("output depends on the order of the chains")
	}
	var doc struct {
		Roles []struct {
			TrustPolicy map[string]any `json:"trust_policy"`
		} `json:"roles"`
		Identities []struct {
			Policy map[string]any `json:"policy"`
		} `json:"identity_policies"`
	}
	if err := json.Unmarshal(a.JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	for _, r := range doc.Roles {
		docs = append(docs, r.TrustPolicy)
	}
	for _, id := range doc.Identities {
		docs = append(docs, id.Policy)
	}
	for _, d := range docs {
		if d["Version"] != "2012-10-17" {
			t.Errorf("Version = %v", d["Version"])
		}
		sids := map[string]bool{}
		for _, raw := range d["Statement"].([]any) {
			s := raw.(map[string]any)
			for k := range s {
				if !slices.Contains([]string{"Sid", "Effect", "Principal", "Action", "Resource", "Condition"}, k) {
					t.Errorf("statement member %q is not IAM's", k)
				}
			}
			sid, _ := s["Sid"].(string)
			if sid == "" || sids[sid] || strings.Trim(sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
				t.Errorf("Sid %q is empty, repeated or not alphanumeric", sid)
			}
			sids[sid] = true
			if s["Effect"] != "Allow" {
				t.Errorf("Effect = %v", s["Effect"])
			}
		}
	}
}

func TestConditionsFollowTheCall(t *testing.T) {
	role := roleArn("prod", "admin")
	ci := "arn:aws:iam::" + targetAccounts["mgmt"] + ":role/ci"
	chains := []Chain{{
		Name: "x",
		Calls: []Call{
			{Kind: AssumeRole, Caller: aliceArn, RoleARN: ci, MFA: MFAInCall, ExternalID: "ext-1", Duration: 4 * time.Hour},
			{Kind: AssumeRole, Caller: ci, RoleARN: role, MFA: MFACarried, SessionTags: []string{"team"}, SourceIdentity: "alice"},
		},
	}, {
		Name:  "y",
		Calls: []Call{{Kind: AssumeRole, Caller: aliceArn, RoleARN: role, Duration: 2 * time.Hour}},
	}}
	res, err := Generate(chains, Options{Principal: PrincipalExact, MFAMaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	byArn := map[string]Role{}
	for _, r := range res.Roles {
		byArn[r.ARN] = r
	}
	ciTrust := byArn[ci].Trust.Statement
	if len(ciTrust) != 1 || !slices.Equal(ciTrust[0].Principal.AWS, List{aliceArn}) ||
		!slices.Equal(ciTrust[0].Condition["StringEquals"]["sts:ExternalId"], List{"ext-1"}) ||
		!slices.Equal(ciTrust[0].Condition["NumericLessThan"]["aws:MultiFactorAuthAge"], List{"3600"}) {
		t.Errorf("ci trust = %s", byArn[ci].Trust.JSON())
	}
	if byArn[ci].MaxSessionDuration != 4*time.Hour || byArn[role].MaxSessionDuration != 2*time.Hour {
		t.Errorf("MaxSessionDuration ci=%v prod=%v, want 4h and 2h", byArn[ci].MaxSessionDuration, byArn[role].MaxSessionDuration)
	}
	prod := byArn[role].Trust.Statement
	if len(prod) != 2 {
		t.Fatalf("prod trust: %s", byArn[role].Trust.JSON())
	}
	// Sorted by Sid: the plain AssumeRole from alice, then the chained one.
	if !slices.Equal(prod[0].Action, List{"sts:AssumeRole"}) || prod[0].Condition != nil || !slices.Equal(prod[0].Principal.AWS, List{aliceArn}) {
		t.Errorf("prod[0] = %+v", prod[0])
	}
	if !slices.Equal(prod[1].Action, List{"sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"}) || !slices.Equal(prod[1].Principal.AWS, List{ci}) ||
		prod[1].Condition["Bool"] == nil {
		t.Errorf("prod[1] = %+v", prod[1])
	}
	var roleIdentity *Identity
	for i := range res.Identities {
		if res.Identities[i].Kind == "role" {
			roleIdentity = &res.Identities[i]
		}
	}
	if roleIdentity == nil || roleIdentity.ARN != ci || len(roleIdentity.Policy.Statement) != 1 ||
		!slices.Equal(roleIdentity.Policy.Statement[0].Resource, List{role}) {
		t.Errorf("the ci role's identity policy = %+v", roleIdentity)
	}
}

func TestRejectsWhatAWSRejects(t *testing.T) {
	ci := "arn:aws:iam::" + targetAccounts["mgmt"] + ":role/ci"
	for name, calls := range map[string][]Call{
		"chaining over 1h":   {{Kind: AssumeRole, Caller: ci, RoleARN: roleArn("dev", "dev"), Duration: 2 * time.Hour}},
		"over 12h":           {{Kind: AssumeRole, Caller: aliceArn, RoleARN: roleArn("dev", "dev"), Duration: 13 * time.Hour}},
		"role session token": {{Kind: GetSessionToken, Caller: ci}},
		"bad caller":         {{Kind: AssumeRole, Caller: "alice", RoleARN: roleArn("dev", "dev")}},
		"bad role":           {{Kind: AssumeRole, Caller: aliceArn, RoleARN: aliceArn}},
	} {
		if _, err := Generate([]Chain{{Name: "p", Calls: calls}}, Options{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestDistinctExternalIDsGetDistinctSids(t *testing.T) {
	r := roleArn("dev", "admin")
	res, err := Generate([]Chain{
		{Name: "a", Calls: []Call{{Kind: AssumeRole, Caller: aliceArn, RoleARN: r, ExternalID: "one"}}},
		{Name: "b", Calls: []Call{{Kind: AssumeRole, Caller: bobArn, RoleARN: r, ExternalID: "two"}}},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := res.Roles[0].Trust.Statement
	if len(st) != 2 || st[0].Sid == st[1].Sid {
		t.Errorf("trust = %s", res.Roles[0].Trust.JSON())
	}
}
