package ststest

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// Without identity policies the world behaves as it always has; with one,
// AssumeRole needs the caller's identity policy as well as the trust.
func TestAssumeRoleNeedsIdentityPolicyOnceConfigured(t *testing.T) {
	w := newWorld(t)
	w.assume(t, w.alice, w.devRole) // no identity policies: allowed

	must(t, w.s.AddUserToGroup(loginAcct, "ops", "alice"))
	must(t, w.s.PutGroupPolicy(loginAcct, "ops", "assume", AssumeRolePolicy(false, w.devRole)))
	w.assume(t, w.alice, w.devRole) // through the group's policy
	_, err := stsClient(w.url, w.bob).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(w.devRole), RoleSessionName: aws.String("xx")})
	wantErr(t, err, "AccessDenied", "User: arn:aws:iam::"+loginAcct+":user/bob is not authorized to perform: sts:AssumeRole on resource: "+w.devRole, 403)

	// The identity side also checks MFA: alice's prod statement needs it.
	must(t, w.s.PutGroupPolicy(loginAcct, "ops", "prod", AssumeRolePolicy(true, w.prodRole)))
	must(t, w.s.AddRole(w.prodRole, RoleOptions{Trust: []string{"arn:aws:iam::" + loginAcct + ":root"}}))
	_, err = stsClient(w.url, w.alice).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(w.prodRole), RoleSessionName: aws.String("xx")})
	wantErr(t, err, "AccessDenied", "is not authorized to perform: sts:AssumeRole on resource: "+w.prodRole, 403)
	w.assume(t, w.mfaSession(t), w.prodRole)

	if !w.s.DeleteGroupPolicy(loginAcct, "ops", "assume") {
		t.Fatal("DeleteGroupPolicy found nothing")
	}
	_, err = stsClient(w.url, w.alice).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(w.devRole), RoleSessionName: aws.String("xx")})
	wantErr(t, err, "AccessDenied", "sts:AssumeRole", 403)
}

// A JSON trust policy: MFA presented in the AssumeRole call, carried from
// GetSessionToken, or carried along a role chain all satisfy
// aws:MultiFactorAuthPresent; aws:MultiFactorAuthAge counts from the code.
func TestTrustPolicyJSONConditions(t *testing.T) {
	w := newWorld(t)
	now := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	w.s.SetNow(func() time.Time { return now })
	hub := "arn:aws:iam::" + devAcct + ":role/hub"
	must(t, w.s.AddRole(hub, RoleOptions{TrustPolicy: `{"Version": "2012-10-17", "Statement": {"Effect": "Allow",
		"Principal": {"AWS": "arn:aws:iam::` + loginAcct + `:root"}, "Action": ["sts:AssumeRole", "sts:TagSession"],
		"Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}, "NumericLessThan": {"aws:MultiFactorAuthAge": "600"},
		"StringEquals": {"sts:ExternalId": "ext"}}}}`}))
	must(t, w.s.AddRole(w.prodRole, RoleOptions{TrustPolicy: `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
		"Principal": {"AWS": "` + hub + `"}, "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}`}))
	in := func() *sts.AssumeRoleInput {
		return &sts.AssumeRoleInput{RoleArn: aws.String(hub), RoleSessionName: aws.String("xx"), ExternalId: aws.String("ext")}
	}

	_, err := stsClient(w.url, w.alice).AssumeRole(ctx(t), in()) // long-term keys: the MFA key is absent
	wantErr(t, err, "AccessDenied", "sts:AssumeRole on resource: "+hub, 403)

	direct := in()
	direct.SerialNumber, direct.TokenCode = aws.String(w.serial), aws.String(w.code(-1))
	_, err = stsClient(w.url, w.alice).AssumeRole(ctx(t), direct)
	must(t, err)

	noExt := in()
	noExt.ExternalId = nil
	mfa := w.mfaSession(t)
	_, err = stsClient(w.url, mfa).AssumeRole(ctx(t), noExt)
	wantErr(t, err, "AccessDenied", "sts:AssumeRole", 403)

	tagged := in()
	tagged.Tags = []ststypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}}
	out, err := stsClient(w.url, mfa).AssumeRole(ctx(t), tagged)
	must(t, err)
	hubKeys := fromCreds(out.Credentials)
	w.assume(t, hubKeys, w.prodRole) // MFA carried along the role chain

	now = now.Add(11 * time.Minute) // the MFA code is now 11 minutes old
	_, err = stsClient(w.url, mfa).AssumeRole(ctx(t), in())
	wantErr(t, err, "AccessDenied", "sts:AssumeRole", 403)

	// Tags need sts:TagSession, which prod's trust policy lacks.
	w.s.SetNow(nil)
	_, err = stsClient(w.url, hubKeys).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(w.prodRole), RoleSessionName: aws.String("xx"),
		Tags: []ststypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
	wantErr(t, err, "AccessDenied", "sts:TagSession on resource: "+w.prodRole, 403)

	if err := w.s.AddRole(hub, RoleOptions{TrustPolicy: `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}`}); err == nil {
		t.Error("a trust policy without Principal was accepted")
	}
	if err := w.s.PutUserPolicy(loginAcct, "alice", "x", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01"}}}]}`); err == nil {
		t.Error("an operator the emulator does not evaluate was accepted")
	}
}

func TestGetFederationTokenNeedsIdentityPolicyOnceConfigured(t *testing.T) {
	w := newWorld(t)
	must(t, w.s.PutUserPolicy(loginAcct, "alice", "fed", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
		"Action": "sts:GetFederationToken", "Resource": "arn:aws:sts::`+loginAcct+`:federated-user/*"}]}`))
	_, err := stsClient(w.url, w.alice).GetFederationToken(ctx(t), &sts.GetFederationTokenInput{Name: aws.String("alice")})
	must(t, err)
	_, err = stsClient(w.url, w.bob).GetFederationToken(ctx(t), &sts.GetFederationTokenInput{Name: aws.String("bob")})
	wantErr(t, err, "AccessDenied", "sts:GetFederationToken on resource: arn:aws:sts::"+loginAcct+":federated-user/bob", 403)
}

// The rotate statement on arn:…:user/${aws:username} lets each user manage
// its own keys and nobody else's; GetAccessKeyLastUsed says when a key last
// signed a request.
func TestAccessKeyActionsFollowIdentityPolicy(t *testing.T) {
	w := newWorld(t)
	now := time.Now().Add(time.Minute).UTC().Truncate(time.Second)
	w.s.SetNow(func() time.Time { return now })
	_, err := iamClient(w.url, w.alice).GetAccessKeyLastUsed(ctx(t), &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(w.bob.id)})
	wantErr(t, err, "AccessDenied", "iam:GetAccessKeyLastUsed", 403)

	last, err := iamClient(w.url, w.bob).GetAccessKeyLastUsed(ctx(t), &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(w.bob.id)})
	must(t, err)
	// This very request signed with the key counts, as in IAM.
	if u := last.AccessKeyLastUsed; aws.ToString(last.UserName) != "bob" || aws.ToString(u.ServiceName) != "iam" ||
		aws.ToString(u.Region) != "us-east-1" || !aws.ToTime(u.LastUsedDate).Equal(now) {
		t.Errorf("GetAccessKeyLastUsed = %+v %+v", last.UserName, u)
	}

	must(t, w.s.AddUserToGroup(loginAcct, "ops", "alice"))
	must(t, w.s.PutGroupPolicy(loginAcct, "ops", "rotate", `{"Version": "2012-10-17", "Statement": [{"Sid": "Rotate", "Effect": "Allow",
		"Action": ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"],
		"Resource": "arn:aws:iam::`+loginAcct+`:user/${aws:username}", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}`))
	_, err = iamClient(w.url, w.alice).ListAccessKeys(ctx(t), &iam.ListAccessKeysInput{}) // no MFA
	wantErr(t, err, "AccessDenied", "iam:ListAccessKeys on resource: user alice because no identity-based policy allows", 403)
	mfa := w.mfaSession(t)
	keys, err := iamClient(w.url, mfa).ListAccessKeys(ctx(t), &iam.ListAccessKeysInput{})
	must(t, err)
	if len(keys.AccessKeyMetadata) != 1 {
		t.Errorf("ListAccessKeys = %+v", keys.AccessKeyMetadata)
	}
	_, err = iamClient(w.url, mfa).ListAccessKeys(ctx(t), &iam.ListAccessKeysInput{UserName: aws.String("bob")})
	wantErr(t, err, "AccessDenied", "iam:ListAccessKeys on resource: user bob", 403)
	last, err = iamClient(w.url, mfa).GetAccessKeyLastUsed(ctx(t), &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(w.alice.id)})
	must(t, err)
	if aws.ToString(last.AccessKeyLastUsed.ServiceName) != "sts" {
		t.Errorf("alice's key was last used for GetSessionToken, got %+v", last.AccessKeyLastUsed)
	}
	created, err := iamClient(w.url, mfa).CreateAccessKey(ctx(t), &iam.CreateAccessKeyInput{})
	must(t, err)
	last, err = iamClient(w.url, mfa).GetAccessKeyLastUsed(ctx(t), &iam.GetAccessKeyLastUsedInput{AccessKeyId: created.AccessKey.AccessKeyId})
	must(t, err)
	if u := last.AccessKeyLastUsed; aws.ToString(u.ServiceName) != "N/A" || aws.ToString(u.Region) != "N/A" || u.LastUsedDate != nil {
		t.Errorf("an unused key: %+v", u)
	}
	// bob has no policy at all now that the world has some.
	_, err = iamClient(w.url, w.bob).ListAccessKeys(ctx(t), &iam.ListAccessKeysInput{})
	wantErr(t, err, "AccessDenied", "iam:ListAccessKeys", 403)
}

func TestSimulatePrincipalPolicy(t *testing.T) {
	w := newWorld(t)
	admin, adminSecret := w.s.AddUser(loginAcct, "auditor")
	must(t, w.s.PutUserPolicy(loginAcct, "auditor", "simulate", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
		"Action": "iam:SimulatePrincipalPolicy", "Resource": "arn:aws:iam::`+loginAcct+`:user/*"}]}`))
	must(t, w.s.AddUserToGroup(loginAcct, "ops", "alice"))
	must(t, w.s.PutGroupPolicy(loginAcct, "ops", "assume", AssumeRolePolicy(true, w.devRole, w.prodRole)))
	must(t, w.s.PutUserPolicy(loginAcct, "alice", "no-prod", `{"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
		"Action": "sts:AssumeRole", "Resource": "`+w.prodRole+`"}]}`))
	aliceArn := "arn:aws:iam::" + loginAcct + ":user/alice"
	c := iamClient(w.url, keys{admin, adminSecret, ""})
	sim := func(mfa string, resources ...string) []iamtypes.EvaluationResult {
		t.Helper()
		in := &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(aliceArn), ActionNames: []string{"sts:AssumeRole"}, ResourceArns: resources}
		if mfa != "" {
			in.ContextEntries = []iamtypes.ContextEntry{{ContextKeyName: aws.String("aws:MultiFactorAuthPresent"),
				ContextKeyType: iamtypes.ContextKeyTypeEnumBoolean, ContextKeyValues: []string{mfa}}}
		}
		out, err := c.SimulatePrincipalPolicy(ctx(t), in)
		must(t, err)
		return out.EvaluationResults
	}
	other := "arn:aws:iam::" + devAcct + ":role/other"
	res := sim("true", w.devRole, w.prodRole, other)
	want := []struct{ res, decision string }{
		{w.devRole, "allowed"}, {w.prodRole, "explicitDeny"}, {other, "implicitDeny"},
	}
	if len(res) != 3 {
		t.Fatalf("got %d results", len(res))
	}
	for i, r := range res {
		if aws.ToString(r.EvalActionName) != "sts:AssumeRole" || aws.ToString(r.EvalResourceName) != want[i].res || string(r.EvalDecision) != want[i].decision {
			t.Errorf("result %d = %s %s %s, want %+v", i, aws.ToString(r.EvalActionName), aws.ToString(r.EvalResourceName), r.EvalDecision, want[i])
		}
	}
	if m := res[0].MatchedStatements; len(m) != 1 || aws.ToString(m[0].SourcePolicyId) != "assume" || m[0].SourcePolicyType != iamtypes.PolicySourceTypeGroup {
		t.Errorf("matched statements = %+v", m)
	}
	// Without the MFA context entry the statement's key is missing.
	res = sim("", w.devRole)
	if res[0].EvalDecision != iamtypes.PolicyEvaluationDecisionTypeImplicitDeny || len(res[0].MissingContextValues) != 1 ||
		res[0].MissingContextValues[0] != "aws:multifactorauthpresent" {
		t.Errorf("without context: %s missing %v", res[0].EvalDecision, res[0].MissingContextValues)
	}
	// The caller needs iam:SimulatePrincipalPolicy itself.
	_, err := iamClient(w.url, w.bob).SimulatePrincipalPolicy(ctx(t), &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String(aliceArn), ActionNames: []string{"sts:AssumeRole"}})
	wantErr(t, err, "AccessDenied", "iam:SimulatePrincipalPolicy", 403)
}

func TestClockOffsetSkewsDateAndSignatureCheck(t *testing.T) {
	w := newWorld(t)
	w.s.SetClockOffset(10 * time.Minute)
	req, _ := http.NewRequest(http.MethodGet, w.url+"/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	must(t, err)
	if skew := time.Until(date); skew < 9*time.Minute || skew > 11*time.Minute {
		t.Errorf("Date header %s is %v from now, want about 10m", resp.Header.Get("Date"), skew)
	}
	_, err = stsClient(w.url, w.alice).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	wantErr(t, err, "SignatureDoesNotMatch", "Signature expired", 403)
	w.s.SetClockOffset(0)
	_, err = stsClient(w.url, w.alice).GetCallerIdentity(ctx(t), &sts.GetCallerIdentityInput{})
	must(t, err)
}

func TestFixtureCarriesPolicies(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/f.json"
	role := "arn:aws:iam::" + devAcct + ":role/dev"
	doc := `{"users": [{"account": "` + loginAcct + `", "name": "alice", "groups": ["ops"],
		"accessKeys": [{"accessKeyId": "AKIAFIXTUREALICE0001", "secretAccessKey": "` + strings.Repeat("s", 40) + `"}], "mfaDevices": []}],
	  "groups": [{"account": "` + loginAcct + `", "name": "ops", "policies": {"assume": ` + AssumeRolePolicy(false, role) + `}}],
	  "roles": [{"arn": "` + role + `", "trustPolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
	    "Principal": {"AWS": "arn:aws:iam::` + loginAcct + `:root"}, "Action": "sts:AssumeRole"}]}}]}`
	must(t, os.WriteFile(path, []byte(doc), 0o600))
	f, err := LoadFixture(path)
	must(t, err)
	s, u := start(t)
	must(t, s.Apply(f))
	alice := keys{"AKIAFIXTUREALICE0001", strings.Repeat("s", 40), ""}
	_, err = stsClient(u, alice).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("xx")})
	must(t, err)
	must(t, s.AddRole(role, RoleOptions{TrustPolicy: strings.Replace(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
	    "Principal": {"AWS": "arn:aws:iam::ACCT:root"}, "Action": "sts:AssumeRole"}]}`, "ACCT", devAcct, 1)}))
	_, err = stsClient(u, alice).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("xx")})
	wantErr(t, err, "AccessDenied", "sts:AssumeRole", 403)
}
