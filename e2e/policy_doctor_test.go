package e2e

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolevault/rolevault/internal/ststest"
)

// TestPolicyStatementsEachMakeOneStepWorkAndDoctorNamesThem: the seeds'
// world built from 'rolevault policy --all --format json'; each statement
// an AssumeRole step needs (the group policy's sts:AssumeRole statements,
// each role's trust statements) is taken out of the emulator in turn, and
// 'rolevault doctor --json' on every profile must fail exactly the profiles
// whose chain uses it, at that profile's AssumeRole step, naming the side
// the statement was on and printing it as the fix; the other profiles pass.
func TestPolicyStatementsEachMakeOneStepWorkAndDoctorNamesThem(t *testing.T) {
	e, s, profiles := seedsPolicyEnv(t)
	r := e.Run(t, "policy", "--all", "--format", "json")
	expect(t, r, 0)
	var out policyOutput
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatalf("policy output is not JSON: %v\n%s", err, r.Stdout)
	}
	if len(out.Identities) != 1 {
		t.Fatalf("want one group policy, got %s", r.Stdout)
	}
	group := out.Identities[0].Policy
	alice := "arn:aws:iam::" + seedsLogin + ":user/alice"
	must(t, s.AddUserToGroup(seedsLogin, "rolevault", "alice"))
	// What doctor itself needs to tell the sides apart, on a policy of its
	// own that no round touches.
	must(t, s.PutUserPolicy(seedsLogin, "alice", "doctor",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:SimulatePrincipalPolicy","Resource":"`+alice+`"}]}`))
	putGroup := func(skip int) {
		t.Helper()
		must(t, s.PutGroupPolicy(seedsLogin, "rolevault", "rolevault", withoutStatement(t, group, skip)))
	}
	putRole := func(i, skip int) {
		t.Helper()
		ro := out.Roles[i]
		must(t, s.AddRole(ro.RoleARN, ststest.RoleOptions{TrustPolicy: withoutStatement(t, ro.TrustPolicy, skip),
			MaxSessionDuration: time.Duration(ro.MaxSessionDuration) * time.Second}))
	}
	putGroup(-1)
	for i := range out.Roles {
		putRole(i, -1)
	}

	// doctor runs doctor --json on a profile after dropping its role
	// session, so the AssumeRole is made again (alice's MFA session stays).
	doctor := func(name string) (Result, doctorReport) {
		t.Helper()
		expect(t, e.Run(t, "clear", name), 0)
		res := e.Run(t, "doctor", "--json", name)
		var rep doctorReport
		if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
			t.Fatalf("doctor --json %s printed no report (%v): %s", name, err, res)
		}
		if rep.OK != (res.Code == 0) {
			t.Errorf("doctor %s: report ok=%v but exit %d", name, rep.OK, res.Code)
		}
		return res, rep
	}

	// The whole world: every profile passes; its AssumeRole step's number
	// is what a failure must name later.
	assumeStep := map[string]int{}
	for _, name := range profiles {
		res, rep := doctor(name)
		expect(t, res, 0)
		for _, c := range rep.Checks {
			if c.Check == "step" && c.Verdict == "ok" && strings.HasPrefix(c.Detail, "AssumeRole "+roleOf(name)+" ") {
				assumeStep[name] = c.Step
			}
		}
		if assumeStep[name] == 0 {
			t.Fatalf("doctor %s has no ok step for AssumeRole %s: %s", name, roleOf(name), rep.verdicts())
		}
	}

	type removal struct {
		side, role string // role: "" for an identity statement, which covers its Resource
		stmt       map[string]any
		drop, back func()
		users      func(profile string) bool
	}
	var removals []removal
	for i, st := range statements(t, group) {
		if !slices.Contains(stringsOf(st["Action"]), "sts:AssumeRole") {
			continue
		}
		res := stringsOf(st["Resource"])
		removals = append(removals, removal{side: "identity-policy", stmt: st,
			drop: func() { putGroup(i) }, back: func() { putGroup(-1) },
			users: func(p string) bool { return slices.Contains(res, roleOf(p)) }})
	}
	for ri, ro := range out.Roles {
		for i, st := range statements(t, ro.TrustPolicy) {
			removals = append(removals, removal{side: "trust-policy", role: ro.RoleARN, stmt: st,
				drop: func() { putRole(ri, i) }, back: func() { putRole(ri, -1) },
				users: func(p string) bool { return roleOf(p) == ro.RoleARN }})
		}
	}
	if len(removals) != 9 {
		t.Fatalf("%d statements an AssumeRole needs, want the group's one and one per role (9)", len(removals))
	}

	for _, rm := range removals {
		what := fmt.Sprintf("without the %s statement %v", rm.side, rm.stmt["Sid"])
		if rm.role != "" {
			what += " of " + rm.role
		}
		rm.drop()
		failed := 0
		for _, name := range profiles {
			res, rep := doctor(name)
			if !rm.users(name) {
				if res.Code != 0 {
					t.Errorf("%s: doctor %s does not use it but exits %d: %s", what, name, res.Code, rep.verdicts())
				}
				continue
			}
			failed++
			if res.Code != 1 {
				t.Errorf("%s: doctor %s exits %d, want 1: %s", what, name, res.Code, rep.verdicts())
				continue
			}
			checkNamesStatement(t, what, name, rep, assumeStep[name], rm.side, rm.stmt, alice)
		}
		if failed == 0 {
			t.Errorf("%s: no profile uses it", what)
		}
		rm.back()
	}
	// Restored, every profile works again; and alice's MFA session, got
	// once, served every run.
	for _, name := range profiles {
		res, rep := doctor(name)
		if res.Code != 0 {
			t.Errorf("restored: doctor %s exits %d: %s", name, res.Code, rep.verdicts())
		}
	}
	if n := s.Calls("GetSessionToken"); n != 1 {
		t.Errorf("%d GetSessionToken calls in all, want 1 (doctor reuses the cached MFA session)", n)
	}
}

// checkNamesStatement checks a failing report: everything before the
// profile's AssumeRole step works, that step fails, the report names side
// only, and its fix is the removed statement (narrowed to the profile's
// role for an identity statement).
func checkNamesStatement(t *testing.T, what, name string, rep doctorReport, step int, side string, removed map[string]any, alice string) {
	t.Helper()
	last := rep.Checks[len(rep.Checks)-1]
	for _, c := range rep.Checks[:len(rep.Checks)-1] {
		if c.Verdict == "fail" {
			t.Errorf("%s: doctor %s fails before the AssumeRole: %s", what, name, rep.verdicts())
			return
		}
	}
	role := roleOf(name)
	if last.Check != "step" || last.Step != step || last.Verdict != "fail" {
		t.Errorf("%s: doctor %s: last check %s %d %s, want step %d fail (%s)", what, name, last.Check, last.Step, last.Verdict, step, rep.verdicts())
		return
	}
	if got := strings.Join(last.Missing, ","); got != side {
		t.Errorf("%s: doctor %s names %q as missing, want %s: %s", what, name, got, side, last.Detail)
	}
	wantText := "trust policy of " + role
	if side == "identity-policy" {
		wantText = "identity policy of " + alice
	}
	if !strings.Contains(last.Detail+" "+last.Next, wantText) || !strings.Contains(last.Detail, role) {
		t.Errorf("%s: doctor %s does not say %q for %s: %s / %s", what, name, wantText, role, last.Detail, last.Next)
	}
	if len(last.Fixes) != 1 || last.Fixes[0].Policy != side {
		var got []string
		for _, f := range last.Fixes {
			got = append(got, f.Policy+" "+string(f.Statement))
		}
		t.Errorf("%s: doctor %s: fixes %q, want one for the %s", what, name, got, side)
		return
	}
	var fix map[string]any
	must(t, json.Unmarshal(last.Fixes[0].Statement, &fix))
	for _, k := range []string{"Effect", "Principal", "Condition"} {
		if !reflect.DeepEqual(fix[k], removed[k]) {
			t.Errorf("%s: doctor %s: the fix's %s is %v, the removed statement's %v", what, name, k, fix[k], removed[k])
		}
	}
	if a, b := stringsOf(fix["Action"]), stringsOf(removed["Action"]); !slices.Equal(a, b) {
		t.Errorf("%s: doctor %s: the fix's Action %v, the removed statement's %v", what, name, a, b)
	}
	res, had := stringsOf(fix["Resource"]), stringsOf(removed["Resource"])
	if side == "identity-policy" && !slices.Equal(res, []string{role}) || side == "trust-policy" && len(res) != 0 {
		t.Errorf("%s: doctor %s: the fix's Resource %v, want %s's part of %v", what, name, res, role, had)
	}
}

// statements are the Statement entries of a policy document.
func statements(t *testing.T, doc json.RawMessage) []map[string]any {
	t.Helper()
	var d struct{ Statement []map[string]any }
	must(t, json.Unmarshal(doc, &d))
	return d.Statement
}

// withoutStatement is doc less its statement number skip (none when -1).
func withoutStatement(t *testing.T, doc json.RawMessage, skip int) string {
	t.Helper()
	var d map[string]any
	must(t, json.Unmarshal(doc, &d))
	sts := statements(t, doc)
	if skip >= 0 {
		sts = slices.Delete(sts, skip, skip+1)
	}
	d["Statement"] = sts
	b, err := json.Marshal(d)
	must(t, err)
	return string(b)
}

// stringsOf reads an IAM element that is one string or a list of them.
func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
