package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rolevault/rolevault/internal/ststest"
)

// rolevault doctor against the emulator: one test per verdict.

type doctorReport struct {
	Profile string
	OK      bool
	Checks  []struct {
		Check, Verdict, Detail, Next string
		Step                         int
		Missing                      []string
		Fixes                        []doctorFix
	}
}

type doctorFix struct {
	Policy    string
	AttachTo  string `json:"attach_to"`
	Statement json.RawMessage
}

// doctorWorld is newWorld with identity policies as 'rolevault policy'
// would have them, plus what doctor asks IAM: alice may assume role-a with
// MFA, list her keys and simulate her own policies; role-a may assume
// role-b.
func doctorWorld(t *testing.T, alicePolicy string) *world {
	t.Helper()
	w := newWorld(t)
	if alicePolicy == "" {
		alicePolicy = doctorAlicePolicy(w, true, true)
	}
	must(t, w.STS.PutUserPolicy(loginAccount, "alice", "doctor", alicePolicy))
	must(t, w.STS.PutRolePolicy(w.RoleA, "chain", ststest.AssumeRolePolicy(false, w.RoleB)))
	return w
}

func doctorAlicePolicy(w *world, assume, simulate bool) string {
	alice := "arn:aws:iam::" + loginAccount + ":user/alice"
	st := []map[string]any{{"Effect": "Allow", "Action": []string{"iam:ListAccessKeys"}, "Resource": alice}}
	if assume {
		st = append(st, map[string]any{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": w.RoleA,
			"Condition": map[string]any{"Bool": map[string]string{"aws:MultiFactorAuthPresent": "true"}}})
	}
	if simulate {
		st = append(st, map[string]any{"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": alice})
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": st})
	return string(b)
}

// doctor runs doctor --json and checks the exit code agrees with the
// report and that no secret is printed.
func (w *world) doctor(t *testing.T, code int, args ...string) doctorReport {
	t.Helper()
	r := w.E.Run(t, append([]string{"doctor", "--json"}, args...)...)
	expect(t, r, code)
	var rep doctorReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("doctor --json printed no report (%v): %s", err, r)
	}
	if rep.OK != (code == 0) {
		t.Errorf("report ok=%v but exit %d", rep.OK, r.Code)
	}
	for _, s := range w.secrets() {
		if s != "" && (strings.Contains(r.Stdout, s) || strings.Contains(r.Stderr, s)) {
			t.Errorf("doctor printed a secret: %s", r)
		}
	}
	return rep
}

// verdicts is "check:verdict" per check, in order.
func (rep doctorReport) verdicts() string {
	var out []string
	for _, c := range rep.Checks {
		out = append(out, c.Check+":"+c.Verdict)
	}
	return strings.Join(out, " ")
}

func (rep doctorReport) find(t *testing.T, check string) (c struct {
	Check, Verdict, Detail, Next string
	Step                         int
	Missing                      []string
	Fixes                        []doctorFix
}) {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Check == check {
			return c
		}
	}
	t.Fatalf("no %s check in the report: %s", check, rep.verdicts())
	return
}

func TestDoctorAllOKSpendsOneMFACode(t *testing.T) {
	w := doctorWorld(t, "")
	rep := w.doctor(t, 0, "role-b")
	want := "config:ok key:ok endpoint:ok clock:ok caller:ok key-age:ok mfa-serial:ok step:ok step:ok step:ok"
	if got := rep.verdicts(); got != want {
		t.Errorf("verdicts\n got %s\nwant %s", got, want)
	}
	if c := rep.find(t, "caller"); !strings.Contains(c.Detail, "arn:aws:iam::"+loginAccount+":user/alice") || !strings.Contains(c.Detail, loginAccount) {
		t.Errorf("caller check does not name alice and her account: %q", c.Detail)
	}
	if n := w.mfaRuns(t); n != 1 {
		t.Errorf("doctor asked for %d MFA codes, want 1", n)
	}
	// A second run reuses the cached sessions: no new code.
	rep = w.doctor(t, 0, "role-b")
	if n := w.mfaRuns(t); n != 1 {
		t.Errorf("second doctor run asked for a code again (%d in all)", n)
	}
	if !strings.Contains(rep.Checks[len(rep.Checks)-1].Detail, "cached session") {
		t.Errorf("second run did not reuse the cached role-b session: %s", rep.Checks[len(rep.Checks)-1].Detail)
	}
	// The text form says the same.
	r := w.E.Run(t, "doctor", "role-b")
	expect(t, r, 0, "ok    caller", "every step works")
}

func TestDoctorOldKeyWarns(t *testing.T) {
	w := doctorWorld(t, "")
	if !w.STS.SetAccessKeyCreated(w.KeyID, time.Now().Add(-120*24*time.Hour)) {
		t.Fatal("no such key")
	}
	rep := w.doctor(t, 0, "role-a")
	c := rep.find(t, "key-age")
	if c.Verdict != "warn" || !strings.Contains(c.Next, "rolevault rotate login") || !strings.Contains(c.Detail, "120 days") {
		t.Errorf("key-age check: %+v", c)
	}
}

func TestDoctorKeyAgeCannotTellWithoutIAM(t *testing.T) {
	alice := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`
	w := doctorWorld(t, alice)
	rep := w.doctor(t, 0, "role-a")
	if c := rep.find(t, "key-age"); c.Verdict != "skip" || !strings.Contains(c.Detail, "iam:ListAccessKeys") {
		t.Errorf("key-age check without IAM rights: %+v", c)
	}
}

func TestDoctorClockSkew(t *testing.T) {
	w := doctorWorld(t, "")
	w.STS.SetClockOffset(2 * time.Minute)
	rep := w.doctor(t, 0, "login")
	if c := rep.find(t, "clock"); c.Verdict != "warn" {
		t.Errorf("2 minutes of skew: %+v", c)
	}
	w.STS.SetClockOffset(10 * time.Minute)
	before := w.mfaRuns(t)
	rep = w.doctor(t, 1, "role-b")
	c := rep.find(t, "clock")
	if c.Verdict != "fail" || !strings.Contains(c.Detail, "SignatureDoesNotMatch") || !strings.Contains(c.Detail, "behind") {
		t.Errorf("10 minutes of skew: %+v", c)
	}
	if n := w.mfaRuns(t) - before; n != 0 {
		t.Errorf("doctor spent %d MFA codes on a chain that cannot work", n)
	}
}

func TestDoctorMissingTrustStatement(t *testing.T) {
	w := doctorWorld(t, "")
	// role-a no longer trusts the login account.
	must(t, w.STS.AddRole(w.RoleA, ststest.RoleOptions{Trust: []string{"arn:aws:iam::999999999999:root"}, RequireMFA: true}))
	rep := w.doctor(t, 1, "role-b")
	c := rep.Checks[len(rep.Checks)-1]
	if c.Check != "step" || c.Verdict != "fail" || strings.Join(c.Missing, ",") != "trust-policy" {
		t.Fatalf("last check: %+v (%s)", c, rep.verdicts())
	}
	if !strings.Contains(c.Detail, "trust policy") || !strings.Contains(c.Detail, w.RoleA) {
		t.Errorf("does not name role-a's trust policy: %s", c.Detail)
	}
	if len(c.Fixes) != 1 || c.Fixes[0].Policy != "trust-policy" ||
		!strings.Contains(string(c.Fixes[0].Statement), `arn:aws:iam::`+loginAccount+`:root`) ||
		!strings.Contains(string(c.Fixes[0].Statement), "aws:MultiFactorAuthPresent") {
		t.Errorf("fix is not the trust statement for the login account with MFA: %+v", c.Fixes)
	}
	// The statement is what makes it work.
	must(t, w.STS.AddRole(w.RoleA, ststest.RoleOptions{TrustPolicy: `{"Version":"2012-10-17","Statement":[` + string(c.Fixes[0].Statement) + `]}`}))
	w.doctor(t, 0, "role-b")
	if n := w.mfaRuns(t); n != 1 {
		t.Errorf("two doctor runs asked for %d MFA codes, want 1 (the MFA session is cached)", n)
	}
	r := w.E.Run(t, "doctor", "role-a")
	expect(t, r, 0)
}

func TestDoctorMissingIdentityStatement(t *testing.T) {
	w := doctorWorld(t, "")
	must(t, w.STS.PutUserPolicy(loginAccount, "alice", "doctor", doctorAlicePolicy(w, false, true)))
	rep := w.doctor(t, 1, "role-a")
	c := rep.Checks[len(rep.Checks)-1]
	if c.Verdict != "fail" || strings.Join(c.Missing, ",") != "identity-policy" || !strings.Contains(c.Detail, "identity policy of arn:aws:iam::"+loginAccount+":user/alice") {
		t.Fatalf("last check: %+v", c)
	}
	if len(c.Fixes) != 1 || c.Fixes[0].Policy != "identity-policy" || !strings.Contains(string(c.Fixes[0].Statement), w.RoleA) {
		t.Errorf("fix is not the identity statement on role-a: %+v", c.Fixes)
	}
	r := w.E.Run(t, "doctor", "role-a")
	expect(t, r, 1, "fail  step 2", "statement for the identity policy of", `"sts:AssumeRole"`)
}

func TestDoctorSimulateDeniedNamesBoth(t *testing.T) {
	w := doctorWorld(t, "")
	must(t, w.STS.PutUserPolicy(loginAccount, "alice", "doctor", doctorAlicePolicy(w, false, false)))
	rep := w.doctor(t, 1, "role-a")
	c := rep.Checks[len(rep.Checks)-1]
	if strings.Join(c.Missing, ",") != "trust-policy,identity-policy" || !strings.Contains(c.Detail, "SimulatePrincipalPolicy") || len(c.Fixes) != 2 {
		t.Fatalf("last check: %+v", c)
	}
}

func TestDoctorDurationOverRoleMax(t *testing.T) {
	w := doctorWorld(t, "")
	rep := w.doctor(t, 1, "role-a", "--no-session", "--duration", "2h")
	c := rep.Checks[len(rep.Checks)-1]
	if c.Check != "duration" || c.Verdict != "fail" || !strings.Contains(c.Next, "MaxSessionDuration of "+w.RoleA) {
		t.Fatalf("last check: %+v (%s)", c, rep.verdicts())
	}
	if !strings.Contains(c.Next, "7200 seconds") {
		t.Errorf("does not say the MaxSessionDuration 'rolevault policy' asks for: %s", c.Next)
	}
}

func TestDoctorUnreachableEndpoint(t *testing.T) {
	w := doctorWorld(t, "")
	w.E.WriteConfig(t, w.config("[profile far]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:1\nsource_profile = login\nrole_arn = "+w.RoleA+"\nmfa_serial = "+w.Serial+"\n"))
	rep := w.doctor(t, 1, "far")
	c := rep.Checks[len(rep.Checks)-1]
	if c.Check != "endpoint" || c.Verdict != "fail" || !strings.Contains(c.Detail, "http://127.0.0.1:1") {
		t.Fatalf("last check: %+v (%s)", c, rep.verdicts())
	}
}

func TestDoctorNoKeyStored(t *testing.T) {
	w := doctorWorld(t, "")
	expect(t, w.E.Run(t, "remove", "login", "--force"), 0)
	rep := w.doctor(t, 1, "role-b")
	c := rep.Checks[len(rep.Checks)-1]
	if c.Check != "key" || c.Verdict != "fail" || !strings.Contains(c.Next, "rolevault add login") {
		t.Fatalf("last check: %+v (%s)", c, rep.verdicts())
	}
}

func TestDoctorConfigError(t *testing.T) {
	w := doctorWorld(t, "")
	rep := w.doctor(t, 1, "no-such-profile")
	if got := rep.verdicts(); got != "config:fail" {
		t.Fatalf("verdicts %s", got)
	}
}

// TestDoctorNoSessionSpendsOneMFACode: with --no-session the MFA code goes
// on role-a's AssumeRole, and role-b's step, checked after it, must reuse
// that session rather than ask for a second code. The text report prints no
// secret either.
func TestDoctorNoSessionSpendsOneMFACode(t *testing.T) {
	w := doctorWorld(t, "")
	w.doctor(t, 0, "role-b", "--no-session")
	if n := w.mfaRuns(t); n != 1 {
		t.Errorf("doctor --no-session asked for %d MFA codes, want 1", n)
	}
	r := w.E.Run(t, "doctor", "role-b", "--no-session")
	expect(t, r, 0, "every step works")
	for _, s := range w.secrets() {
		if s != "" && (strings.Contains(r.Stdout, s) || strings.Contains(r.Stderr, s)) {
			t.Errorf("doctor's text report printed a secret: %s", r)
		}
	}
}
