package doctor

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rolevault/rolevault/iampolicy"
)

func TestSkewCheck(t *testing.T) {
	for _, tc := range []struct {
		skew time.Duration
		want Verdict
		way  string
	}{
		{0, OK, ""}, {59 * time.Second, OK, ""}, {-59 * time.Second, OK, ""},
		{61 * time.Second, Warn, "behind"}, {-2 * time.Minute, Warn, "ahead of"},
		{5 * time.Minute, Warn, "behind"}, {5*time.Minute + time.Second, Fail, "behind"}, {-10 * time.Minute, Fail, "ahead of"},
	} {
		c := SkewCheck(tc.skew)
		if c.Verdict != tc.want || !strings.Contains(c.Detail, tc.way) {
			t.Errorf("skew %v: %s %q, want %s (%s)", tc.skew, c.Verdict, c.Detail, tc.want, tc.way)
		}
		if c.Verdict == Fail && (!strings.Contains(c.Detail, "SignatureDoesNotMatch") || c.Next == "") {
			t.Errorf("skew %v: a failure must explain SignatureDoesNotMatch and say what to do: %+v", tc.skew, c)
		}
	}
}

func TestAgeCheck(t *testing.T) {
	day := 24 * time.Hour
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if c := AgeCheck(90*day, created, "login"); c.Verdict != OK || c.Next != "" {
		t.Errorf("90 days: %+v", c)
	}
	c := AgeCheck(91*day, created, "login")
	if c.Verdict != Warn || c.Next != "rotate it: rolevault rotate login" || !strings.Contains(c.Detail, "91 days") || !strings.Contains(c.Detail, "2026-01-01") {
		t.Errorf("91 days: %+v", c)
	}
}

func TestMFASerialCheck(t *testing.T) {
	alice := "arn:aws:iam::111111111111:user/alice"
	if c := MFASerialCheck("arn:aws:iam::111111111111:mfa/alice", "111111111111", alice); c.Verdict != OK {
		t.Errorf("same account: %+v", c)
	}
	c := MFASerialCheck("arn:aws:iam::222222222222:mfa/alice", "111111111111", alice)
	if c.Verdict != Fail || !strings.Contains(c.Next, "arn:aws:iam::111111111111:mfa/alice") {
		t.Errorf("other account: %+v", c)
	}
	if c := MFASerialCheck("GAHT12345678", "111111111111", alice); c.Verdict != Skip {
		t.Errorf("hardware serial: %+v", c)
	}
}

func TestMissingSides(t *testing.T) {
	for d, want := range map[string]string{
		"allowed":      "trust-policy",
		"implicitDeny": "identity-policy",
		"explicitDeny": "identity-policy",
		"":             "trust-policy,identity-policy", // simulate refused
		"something":    "trust-policy,identity-policy",
	} {
		if got := strings.Join(MissingSides(ParseDecision(d)), ","); got != want {
			t.Errorf("decision %q: %s, want %s", d, got, want)
		}
	}
}

func TestAssumedRoleARN(t *testing.T) {
	if got := assumedRoleARN("arn:aws:sts::222222222222:assumed-role/role-a/alice"); got != "arn:aws:iam::222222222222:role/role-a" {
		t.Errorf("got %q", got)
	}
	if got := assumedRoleARN("arn:aws:iam::111111111111:user/alice"); got != "" {
		t.Errorf("a user is not a role session: %q", got)
	}
}

func TestFixesPickTheCallsStatements(t *testing.T) {
	user := "arn:aws:iam::111111111111:user/alice"
	roleA, roleB := "arn:aws:iam::222222222222:role/a", "arn:aws:iam::333333333333:role/b"
	res, err := iampolicy.Generate([]iampolicy.Chain{{Name: "b", User: user, Calls: []iampolicy.Call{
		{Kind: iampolicy.GetSessionToken, Caller: user, MFA: iampolicy.MFAInCall},
		{Kind: iampolicy.AssumeRole, Caller: user, RoleARN: roleA, MFA: iampolicy.MFACarried},
		{Kind: iampolicy.AssumeRole, Caller: roleA, RoleARN: roleB, MFA: iampolicy.MFACarried},
	}}}, iampolicy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := &walk{policies: res, polDone: true}
	fx := w.fixes(roleB, roleA, []string{SideTrust, SideIdentity})
	if len(fx) != 2 || fx[0].Policy != SideTrust || fx[1].Policy != SideIdentity {
		t.Fatalf("fixes: %+v", fx)
	}
	if b, _ := json.Marshal(fx[0].Statement); !strings.Contains(string(b), "222222222222") {
		t.Errorf("role b's trust statement does not name role a's account: %s", b)
	}
	if !strings.Contains(fx[1].AttachTo, roleA) || !slicesContain(fx[1].Statement.Resource, roleB) {
		t.Errorf("identity fix is not role a's statement on role b: %+v", fx[1])
	}
	if fx := w.fixes(roleA, user, []string{SideIdentity}); len(fx) != 1 || !slicesContain(fx[0].Statement.Resource, roleA) {
		t.Errorf("alice's identity statement on role a: %+v", fx)
	}
}

func TestReportJSONAndExit(t *testing.T) {
	r := &Report{Profile: "p"}
	r.add(Check{Check: CheckKeyAge, Verdict: Warn})
	r.add(Check{Check: CheckKeyAge, Verdict: Skip})
	if r.Failed() || !strings.Contains(string(r.JSON()), `"ok": true`) {
		t.Errorf("warnings and skips do not fail: %s", r.JSON())
	}
	r.add(Check{Check: CheckStep, Step: 2, Verdict: Fail})
	if !r.Failed() || !strings.Contains(string(r.JSON()), `"ok": false`) {
		t.Errorf("a failure fails: %s", r.JSON())
	}
	var sb strings.Builder
	r.WriteText(&sb)
	if !strings.Contains(sb.String(), "fail  step 2") || !strings.Contains(sb.String(), "1 failure(s)") {
		t.Errorf("text: %s", sb.String())
	}
}
