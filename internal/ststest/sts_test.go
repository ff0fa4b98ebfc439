package ststest

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

func TestGetCallerIdentity(t *testing.T) {
	w := newWorld(t)
	fed, err := stsClient(w.url, w.alice).GetFederationToken(ctx(t), &sts.GetFederationTokenInput{Name: aws.String("console")})
	must(t, err)
	tests := []struct {
		name    string
		creds   keys
		arn     string
		account string
		userID  string // prefix
	}{
		{"long-term key", w.alice, "arn:aws:iam::111111111111:user/alice", loginAcct, "AIDA"},
		{"session token", w.mfaSession(t), "arn:aws:iam::111111111111:user/alice", loginAcct, "AIDA"},
		{"role session", w.assume(t, w.alice, w.devRole), "arn:aws:sts::222222222222:assumed-role/developer/test", devAcct, "AROA"},
		{"federated user", fromCreds(fed.Credentials), "arn:aws:sts::111111111111:federated-user/console", loginAcct, "111111111111:console"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := stsClient(w.url, tc.creds).GetCallerIdentity(ctx(t), nil)
			must(t, err)
			if aws.ToString(out.Arn) != tc.arn || aws.ToString(out.Account) != tc.account ||
				!strings.HasPrefix(aws.ToString(out.UserId), tc.userID) {
				t.Fatalf("got %s %s %s", aws.ToString(out.Arn), aws.ToString(out.Account), aws.ToString(out.UserId))
			}
		})
	}
}

func TestGetSessionToken(t *testing.T) {
	w := newWorld(t)
	sess := w.mfaSession(t)
	bobSerial, _ := w.s.AddMFADevice(loginAcct, "bob")
	tests := []struct {
		name    string
		creds   keys
		in      sts.GetSessionTokenInput
		code    string
		msg     string
		status  int
		wantDur time.Duration
		wantMFA bool
	}{
		{name: "default duration is 12 hours", creds: w.alice, wantDur: 12 * time.Hour},
		{name: "shortest", creds: w.alice, in: sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)}, wantDur: 15 * time.Minute},
		{name: "longest", creds: w.alice, in: sts.GetSessionTokenInput{DurationSeconds: aws.Int32(129600)}, wantDur: 36 * time.Hour},
		{name: "too short", creds: w.alice, in: sts.GetSessionTokenInput{DurationSeconds: aws.Int32(899)},
			code: "ValidationError", status: 400,
			msg: "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{name: "too long", creds: w.alice, in: sts.GetSessionTokenInput{DurationSeconds: aws.Int32(129601)},
			code: "ValidationError", status: 400, msg: "Member must have value less than or equal to 129600"},
		{name: "with session credentials", creds: sess,
			code: "AccessDenied", status: 403, msg: "Cannot call GetSessionToken with session credentials"},
		{name: "with MFA", creds: w.alice, in: sts.GetSessionTokenInput{SerialNumber: aws.String(w.serial), TokenCode: aws.String(w.code(1))},
			wantDur: 12 * time.Hour, wantMFA: true},
		{name: "wrong code", creds: w.alice, in: sts.GetSessionTokenInput{SerialNumber: aws.String(w.serial), TokenCode: aws.String(wrongCode(w.code(0)))},
			code: "AccessDenied", status: 403, msg: msgBadMFACode},
		{name: "code two steps old", creds: w.alice, in: sts.GetSessionTokenInput{SerialNumber: aws.String(w.serial), TokenCode: aws.String(w.code(-2))},
			code: "AccessDenied", status: 403, msg: msgBadMFACode},
		{name: "another user's device", creds: w.alice, in: sts.GetSessionTokenInput{SerialNumber: aws.String(bobSerial), TokenCode: aws.String("123456")},
			code: "AccessDenied", status: 403, msg: msgBadMFASerial},
		{name: "malformed code", creds: w.alice, in: sts.GetSessionTokenInput{SerialNumber: aws.String(w.serial), TokenCode: aws.String("12a4")},
			code: "ValidationError", status: 400,
			msg: "2 validation errors detected: Value '12a4' at 'tokenCode' failed to satisfy constraint: Member must have length greater than or equal to 6; " +
				"Value '12a4' at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]*"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := w.s.Now()
			out, err := stsClient(w.url, tc.creds).GetSessionToken(ctx(t), &tc.in)
			if tc.code != "" {
				wantErr(t, err, tc.code, tc.msg, tc.status)
				return
			}
			must(t, err)
			if d := aws.ToTime(out.Credentials.Expiration).Sub(before); d < tc.wantDur-2*time.Second || d > tc.wantDur+time.Second {
				t.Fatalf("lifetime %v, want %v", d, tc.wantDur)
			}
			got, ok := w.s.Session(aws.ToString(out.Credentials.AccessKeyId))
			if !ok || got.Kind != KindSessionToken || got.MFA != tc.wantMFA || got.UserName != "alice" {
				t.Fatalf("recorded %+v", got)
			}
		})
	}
}

func wrongCode(c string) string {
	return fmt.Sprintf("%06d", (atoi(c)+1)%1_000_000)
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// AWS accepts a code once per device; the next step's code is still
// accepted, an older one is not.
func TestMFAReplayAndWindow(t *testing.T) {
	w := newWorld(t)
	c := stsClient(w.url, w.alice)
	gst := func(code string) error {
		_, err := c.GetSessionToken(ctx(t), &sts.GetSessionTokenInput{SerialNumber: aws.String(w.serial), TokenCode: aws.String(code)})
		return err
	}
	must(t, gst(w.code(-1)))
	wantErr(t, gst(w.code(-1)), "AccessDenied", msgBadMFACode, 403)
	must(t, gst(w.code(0)))
	wantErr(t, gst(w.code(0)), "AccessDenied", msgBadMFACode, 403)
	wantErr(t, gst(w.code(-1)), "AccessDenied", msgBadMFACode, 403)
	must(t, gst(w.code(1)))
	if got := w.s.MFAChecks(); got != 6 {
		t.Fatalf("MFAChecks = %d, want 6", got)
	}
}

func TestAssumeRole(t *testing.T) {
	w := newWorld(t)
	extRole := "arn:aws:iam::" + devAcct + ":role/vendor"
	must(t, w.s.AddRole(extRole, RoleOptions{Trust: []string{"arn:aws:iam::111111111111:user/alice"}, ExternalID: "s3cr3t-id"}))
	onlyBob := "arn:aws:iam::" + devAcct + ":role/bob-only"
	must(t, w.s.AddRole(onlyBob, RoleOptions{Trust: []string{"arn:aws:iam::111111111111:user/bob"}}))
	long := "arn:aws:iam::" + devAcct + ":role/long"
	must(t, w.s.AddRole(long, RoleOptions{Trust: []string{"arn:aws:iam::111111111111:root", w.devRole}, MaxSessionDuration: 12 * time.Hour}))
	session := w.mfaSession(t)
	plainSession := func() keys {
		out, err := stsClient(w.url, w.bob).GetSessionToken(ctx(t), nil)
		must(t, err)
		return fromCreds(out.Credentials)
	}()
	devSession := w.assume(t, w.alice, w.devRole)
	aliceArn := "arn:aws:iam::111111111111:user/alice"
	denied := func(caller, role string) string {
		return "User: " + caller + " is not authorized to perform: sts:AssumeRole on resource: " + role
	}

	tests := []struct {
		name        string
		creds       keys
		in          sts.AssumeRoleInput
		code, msg   string
		status      int
		wantMFA     bool
		wantChained bool
		wantDur     time.Duration
	}{
		{name: "trusted through the account root", creds: w.alice, in: ar(w.devRole, "s1"), wantDur: time.Hour},
		{name: "no such role", creds: w.alice, in: ar("arn:aws:iam::222222222222:role/nope", "s1"),
			code: "AccessDenied", status: 403, msg: denied(aliceArn, "arn:aws:iam::222222222222:role/nope")},
		{name: "not trusted", creds: w.alice, in: ar(onlyBob, "s1"), code: "AccessDenied", status: 403, msg: denied(aliceArn, onlyBob)},
		{name: "trusted user", creds: w.bob, in: ar(onlyBob, "s1"), wantDur: time.Hour},
		{name: "MFA required but absent", creds: w.alice, in: ar(w.prodRole, "s1"),
			code: "AccessDenied", status: 403, msg: denied(aliceArn, w.prodRole)},
		{name: "MFA required, session without MFA", creds: plainSession, in: ar(w.prodRole, "s1"),
			code: "AccessDenied", status: 403, msg: "is not authorized to perform: sts:AssumeRole"},
		{name: "MFA from the session", creds: session, in: ar(w.prodRole, "s1"), wantMFA: true, wantChained: true, wantDur: time.Hour},
		{name: "MFA in the call", creds: w.alice, in: withMFA(ar(w.prodRole, "s1"), w.serial, w.code(1)), wantMFA: true, wantDur: time.Hour},
		{name: "wrong MFA code in the call", creds: w.alice, in: withMFA(ar(w.devRole, "s1"), w.serial, "000000"),
			code: "AccessDenied", status: 403, msg: msgBadMFACode},
		{name: "external id missing", creds: w.alice, in: ar(extRole, "s1"), code: "AccessDenied", status: 403, msg: denied(aliceArn, extRole)},
		{name: "external id wrong", creds: w.alice, in: withExt(ar(extRole, "s1"), "other-id"), code: "AccessDenied", status: 403},
		{name: "external id right", creds: w.alice, in: withExt(ar(extRole, "s1"), "s3cr3t-id"), wantDur: time.Hour},
		{name: "session name with a space", creds: w.alice, in: ar(w.devRole, "a b"), code: "ValidationError", status: 400,
			msg: "1 validation error detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"},
		{name: "session name too short", creds: w.alice, in: ar(w.devRole, "a"), code: "ValidationError", status: 400,
			msg: "Member must have length greater than or equal to 2"},
		{name: "session name too long", creds: w.alice, in: ar(w.devRole, strings.Repeat("a", 65)), code: "ValidationError", status: 400,
			msg: "Member must have length less than or equal to 64"},
		{name: "duration below 900", creds: w.alice, in: withDur(ar(w.devRole, "s1"), 899), code: "ValidationError", status: 400,
			msg: "Member must have value greater than or equal to 900"},
		{name: "duration above 12h", creds: w.alice, in: withDur(ar(long, "s1"), 43201), code: "ValidationError", status: 400,
			msg: "Member must have value less than or equal to 43200"},
		{name: "duration above the role's maximum", creds: w.alice, in: withDur(ar(w.devRole, "s1"), 4*3600+1), code: "ValidationError", status: 400,
			msg: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{name: "duration at the role's maximum", creds: w.alice, in: withDur(ar(w.devRole, "s1"), 4*3600), wantDur: 4 * time.Hour},
		{name: "chained from a role over an hour", creds: devSession, in: withDur(ar(long, "s1"), 3601), code: "ValidationError", status: 400,
			msg: "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."},
		{name: "chained from a session token over an hour", creds: session, in: withDur(ar(long, "s1"), 7200), code: "ValidationError", status: 400,
			msg: "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."},
		{name: "chained for an hour", creds: devSession, in: withDur(ar(long, "s1"), 3600), wantChained: true, wantDur: time.Hour},
		{name: "unchained for 12 hours", creds: w.alice, in: withDur(ar(long, "s1"), 43200), wantDur: 12 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := w.s.Now()
			out, err := stsClient(w.url, tc.creds).AssumeRole(ctx(t), &tc.in)
			if tc.code != "" {
				wantErr(t, err, tc.code, tc.msg, tc.status)
				return
			}
			must(t, err)
			role := aws.ToString(tc.in.RoleArn)
			name := role[strings.LastIndex(role, "/")+1:]
			acct := role[13:25]
			if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::"+acct+":assumed-role/"+name+"/s1" {
				t.Fatalf("AssumedRoleUser.Arn = %s", got)
			}
			if id := aws.ToString(out.AssumedRoleUser.AssumedRoleId); !strings.HasPrefix(id, "AROA") || !strings.HasSuffix(id, ":s1") {
				t.Fatalf("AssumedRoleId = %s", id)
			}
			if d := aws.ToTime(out.Credentials.Expiration).Sub(before); d < tc.wantDur-2*time.Second || d > tc.wantDur+time.Second {
				t.Fatalf("lifetime %v, want %v", d, tc.wantDur)
			}
			got, _ := w.s.Session(aws.ToString(out.Credentials.AccessKeyId))
			if got.Kind != KindAssumeRole || got.RoleArn != role || got.MFA != tc.wantMFA || got.Chained != tc.wantChained ||
				got.CallerAccessKeyID != tc.creds.id {
				t.Fatalf("recorded %+v", got)
			}
		})
	}
}

func ar(role, name string) sts.AssumeRoleInput {
	return sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String(name)}
}

func withMFA(in sts.AssumeRoleInput, serial, code string) sts.AssumeRoleInput {
	in.SerialNumber, in.TokenCode = aws.String(serial), aws.String(code)
	return in
}

func withExt(in sts.AssumeRoleInput, id string) sts.AssumeRoleInput {
	in.ExternalId = aws.String(id)
	return in
}

func withDur(in sts.AssumeRoleInput, secs int32) sts.AssumeRoleInput {
	in.DurationSeconds = aws.Int32(secs)
	return in
}

// MFA proven once (GetSessionToken) carries through a chain of roles, and
// so does the source identity; the chain is recorded hop by hop.
func TestRoleChainingCarriesMFAAndSourceIdentity(t *testing.T) {
	w := newWorld(t)
	breakGlass := "arn:aws:iam::" + prodAcct + ":role/break-glass"
	must(t, w.s.AddRole(breakGlass, RoleOptions{Trust: []string{w.prodRole}, RequireMFA: true}))
	sess := w.mfaSession(t)
	out, err := stsClient(w.url, sess).AssumeRole(ctx(t), &sts.AssumeRoleInput{
		RoleArn: aws.String(w.prodRole), RoleSessionName: aws.String("alice"), SourceIdentity: aws.String("alice@example.com"),
	})
	must(t, err)
	if aws.ToString(out.SourceIdentity) != "alice@example.com" {
		t.Fatalf("SourceIdentity = %q", aws.ToString(out.SourceIdentity))
	}
	prod := fromCreds(out.Credentials)

	out2, err := stsClient(w.url, prod).AssumeRole(ctx(t), &sts.AssumeRoleInput{
		RoleArn: aws.String(breakGlass), RoleSessionName: aws.String("alice"),
	})
	must(t, err)
	if aws.ToString(out2.SourceIdentity) != "alice@example.com" {
		t.Fatalf("SourceIdentity not carried: %q", aws.ToString(out2.SourceIdentity))
	}
	got, _ := w.s.Session(aws.ToString(out2.Credentials.AccessKeyId))
	if !got.MFA || !got.Chained || got.Parent != prod.id || got.UserName != "alice" || got.MFASerial != w.serial {
		t.Fatalf("recorded %+v", got)
	}

	_, err = stsClient(w.url, prod).AssumeRole(ctx(t), &sts.AssumeRoleInput{
		RoleArn: aws.String(breakGlass), RoleSessionName: aws.String("alice"), SourceIdentity: aws.String("mallory"),
	})
	wantErr(t, err, "AccessDenied", "sts:SetSourceIdentity", 403)

	// A role not trusted by the prod role's sessions stays closed.
	_, err = stsClient(w.url, prod).AssumeRole(ctx(t), &sts.AssumeRoleInput{
		RoleArn: aws.String(w.devRole), RoleSessionName: aws.String("alice"),
	})
	wantErr(t, err, "AccessDenied", "User: arn:aws:sts::444444444444:assumed-role/administrator/alice is not authorized", 403)
}

func TestAssumeRoleTags(t *testing.T) {
	w := newWorld(t)
	tags := func(kv ...string) []ststypes.Tag {
		var out []ststypes.Tag
		for i := 0; i < len(kv); i += 2 {
			out = append(out, ststypes.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return out
	}
	c := stsClient(w.url, w.alice)
	t.Run("transitive key must be a tag", func(t *testing.T) {
		_, err := c.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(w.devRole), RoleSessionName: aws.String("s1"),
			Tags: tags("team", "a"), TransitiveTagKeys: []string{"project"}})
		wantErr(t, err, "InvalidParameterValue", "transitive tag key must be included", 400)
	})
	t.Run("duplicate keys differ only in case", func(t *testing.T) {
		_, err := c.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(w.devRole), RoleSessionName: aws.String("s1"),
			Tags: tags("team", "a", "Team", "b")})
		wantErr(t, err, "InvalidParameterValue", "Duplicate tag keys found.", 400)
	})
	t.Run("more than 50 tags", func(t *testing.T) {
		var kv []string
		for i := 0; i < 51; i++ {
			kv = append(kv, fmt.Sprintf("k%d", i), "v")
		}
		_, err := c.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(w.devRole), RoleSessionName: aws.String("s1"), Tags: tags(kv...)})
		wantErr(t, err, "ValidationError", "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50", 400)
	})
	t.Run("malformed policy", func(t *testing.T) {
		_, err := c.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(w.devRole), RoleSessionName: aws.String("s1"), Policy: aws.String("{not json")})
		wantErr(t, err, "MalformedPolicyDocument", "", 400)
	})
	t.Run("transitive tags carry into the chain", func(t *testing.T) {
		must(t, w.s.AddRole("arn:aws:iam::222222222222:role/next", RoleOptions{Trust: []string{w.devRole}}))
		out, err := c.AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(w.devRole), RoleSessionName: aws.String("s1"),
			Tags: tags("team", "a", "cost", "b"), TransitiveTagKeys: []string{"team"}})
		must(t, err)
		body := "Action=AssumeRole&Version=2011-06-15&RoleArn=" + url.QueryEscape(w.devRole) + "&RoleSessionName=s1" +
			"&Tags.member.1.Key=team&Tags.member.1.Value=a&Tags.member.2.Key=cost&Tags.member.2.Value=b&TransitiveTagKeys.member.1=team"
		if size, ok := packedPolicySize(t, w, body); !ok || size <= 0 {
			t.Fatalf("PackedPolicySize = %d (present %v)", size, ok)
		}
		first := fromCreds(out.Credentials)
		out2, err := stsClient(w.url, first).AssumeRole(ctx(t), &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::222222222222:role/next"), RoleSessionName: aws.String("s1")})
		must(t, err)
		got, _ := w.s.Session(aws.ToString(out2.Credentials.AccessKeyId))
		if got.Tags["team"] != "a" || got.Tags["cost"] != "" || len(got.TransitiveTagKeys) != 1 {
			t.Fatalf("tags %v transitive %v", got.Tags, got.TransitiveTagKeys)
		}
		_, err = stsClient(w.url, first).AssumeRole(ctx(t), &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::222222222222:role/next"), RoleSessionName: aws.String("s1"), Tags: tags("TEAM", "b")})
		wantErr(t, err, "InvalidParameterValue", "conflicts with a transitive tag key", 400)
	})
	t.Run("no PackedPolicySize without policy or tags", func(t *testing.T) {
		body := "Action=AssumeRole&Version=2011-06-15&RoleArn=" + url.QueryEscape(w.devRole) + "&RoleSessionName=s1"
		if size, ok := packedPolicySize(t, w, body); ok {
			t.Fatalf("PackedPolicySize = %d", size)
		}
	})
}

// packedPolicySize sends the AssumeRole request body signed with alice's key
// and returns the PackedPolicySize element of the answer, as AWS still sends
// it on the wire. It is read from the raw XML because the SDK marks the field
// deprecated (in favour of SessionTokenUtilization), while the emulator is
// meant to answer what STS answers.
func packedPolicySize(t *testing.T, w *world, body string) (int, bool) {
	t.Helper()
	req := newPost(t, w.url, body)
	sign(t, req, body, w.alice, "sts", "us-east-1", time.Now())
	got := do(t, req)
	if got.status != 200 {
		t.Fatalf("AssumeRole: %d %s", got.status, got.body)
	}
	var doc struct {
		Size *int `xml:"AssumeRoleResult>PackedPolicySize"`
	}
	must(t, xml.Unmarshal([]byte(got.body), &doc))
	if doc.Size == nil {
		return 0, false
	}
	return *doc.Size, true
}

func TestGetFederationToken(t *testing.T) {
	w := newWorld(t)
	sess := w.mfaSession(t)
	role := w.assume(t, w.alice, w.devRole)
	tests := []struct {
		name      string
		creds     keys
		in        sts.GetFederationTokenInput
		code, msg string
		status    int
		wantDur   time.Duration
	}{
		{name: "long-term key", creds: w.alice, in: sts.GetFederationTokenInput{Name: aws.String("alice-console")}, wantDur: 12 * time.Hour},
		{name: "36 hours", creds: w.alice, in: sts.GetFederationTokenInput{Name: aws.String("al"), DurationSeconds: aws.Int32(129600)}, wantDur: 36 * time.Hour},
		{name: "session token credentials", creds: sess, in: sts.GetFederationTokenInput{Name: aws.String("alice")},
			code: "AccessDenied", status: 403, msg: "Cannot call GetFederationToken with session credentials"},
		{name: "role credentials", creds: role, in: sts.GetFederationTokenInput{Name: aws.String("alice")},
			code: "AccessDenied", status: 403, msg: "Cannot call GetFederationToken with session credentials"},
		{name: "name too short", creds: w.alice, in: sts.GetFederationTokenInput{Name: aws.String("a")},
			code: "ValidationError", status: 400, msg: "Value 'a' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{name: "name too long", creds: w.alice, in: sts.GetFederationTokenInput{Name: aws.String(strings.Repeat("n", 33))},
			code: "ValidationError", status: 400, msg: "Member must have length less than or equal to 32"},
		{name: "duration too long", creds: w.alice, in: sts.GetFederationTokenInput{Name: aws.String("al"), DurationSeconds: aws.Int32(129601)},
			code: "ValidationError", status: 400, msg: "Member must have value less than or equal to 129600"},
		{name: "policy accepted", creds: w.alice, in: sts.GetFederationTokenInput{Name: aws.String("al"),
			Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}, wantDur: 12 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := w.s.Now()
			out, err := stsClient(w.url, tc.creds).GetFederationToken(ctx(t), &tc.in)
			if tc.code != "" {
				wantErr(t, err, tc.code, tc.msg, tc.status)
				return
			}
			must(t, err)
			name := aws.ToString(tc.in.Name)
			if aws.ToString(out.FederatedUser.Arn) != "arn:aws:sts::111111111111:federated-user/"+name ||
				aws.ToString(out.FederatedUser.FederatedUserId) != "111111111111:"+name {
				t.Fatalf("FederatedUser = %+v", out.FederatedUser)
			}
			if d := aws.ToTime(out.Credentials.Expiration).Sub(before); d < tc.wantDur-2*time.Second || d > tc.wantDur+time.Second {
				t.Fatalf("lifetime %v, want %v", d, tc.wantDur)
			}
			fed := fromCreds(out.Credentials)
			// Federated users may call no STS action but GetCallerIdentity.
			_, err = stsClient(w.url, fed).AssumeRole(ctx(t), &sts.AssumeRoleInput{RoleArn: aws.String(w.devRole), RoleSessionName: aws.String("xx")})
			wantErr(t, err, "AccessDenied", "federated-user/"+name+" is not authorized to perform: sts:AssumeRole", 403)
		})
	}
}

func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("sig"))
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	w := newWorld(t)
	good := jwt(`{"iss":"https://token.actions.example.com","sub":"repo:org/app","aud":"sts.amazonaws.com","exp":` +
		fmt.Sprint(time.Now().Add(time.Hour).Unix()) + `}`)
	expired := jwt(`{"sub":"x","exp":` + fmt.Sprint(time.Now().Add(-time.Hour).Unix()) + `}`)
	ci := "arn:aws:iam::" + devAcct + ":role/ci"
	must(t, w.s.AddRole(ci, RoleOptions{WebIdentityTokens: []string{good, expired}}))
	must(t, w.s.AddRole("arn:aws:iam::222222222222:role/other", RoleOptions{WebIdentityTokens: []string{"opaque-token-1"}}))
	// The SDK sends this action unsigned; credentials here must not matter.
	c := stsClient(w.url, keys{"AKIANOTUSEDNOTUSED00", strings.Repeat("x", 40), ""})
	in := func(role, token string) *sts.AssumeRoleWithWebIdentityInput {
		return &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(role), RoleSessionName: aws.String("gha"), WebIdentityToken: aws.String(token)}
	}
	out, err := c.AssumeRoleWithWebIdentity(ctx(t), in(ci, good))
	must(t, err)
	if aws.ToString(out.SubjectFromWebIdentityToken) != "repo:org/app" || aws.ToString(out.Audience) != "sts.amazonaws.com" ||
		aws.ToString(out.Provider) != "token.actions.example.com" ||
		aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::222222222222:assumed-role/ci/gha" {
		t.Fatalf("got %+v", out)
	}
	id, err := stsClient(w.url, fromCreds(out.Credentials)).GetCallerIdentity(ctx(t), nil)
	must(t, err)
	if aws.ToString(id.Arn) != "arn:aws:sts::222222222222:assumed-role/ci/gha" {
		t.Fatalf("identity %s", aws.ToString(id.Arn))
	}

	_, err = c.AssumeRoleWithWebIdentity(ctx(t), in(ci, "not-a-jwt"))
	wantErr(t, err, "InvalidIdentityToken", "not a valid JWT", 400)
	_, err = c.AssumeRoleWithWebIdentity(ctx(t), in(ci, jwt(`{"sub":"unknown"}`)))
	wantErr(t, err, "InvalidIdentityToken", "", 400)
	_, err = c.AssumeRoleWithWebIdentity(ctx(t), in(ci, "opaque-token-1"))
	wantErr(t, err, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403)
	_, err = c.AssumeRoleWithWebIdentity(ctx(t), in(ci, expired))
	wantErr(t, err, "ExpiredTokenException", "Token expired", 400)
	long := in(ci, good)
	long.DurationSeconds = aws.Int32(7200)
	_, err = c.AssumeRoleWithWebIdentity(ctx(t), long)
	wantErr(t, err, "ValidationError", "exceeds the MaxSessionDuration set for this role", 400)
}

func TestSessionExpiryAndLifetimeCap(t *testing.T) {
	w := newWorld(t)
	w.s.SetMaxSessionLifetime(time.Minute)
	out, err := stsClient(w.url, w.alice).AssumeRole(ctx(t), &sts.AssumeRoleInput{
		RoleArn: aws.String(w.devRole), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(7200)})
	must(t, err)
	got, _ := w.s.Session(aws.ToString(out.Credentials.AccessKeyId))
	if life := got.Expiration.Sub(got.Issued); life != time.Minute || got.RequestedDuration != 2*time.Hour {
		t.Fatalf("lifetime %v requested %v", life, got.RequestedDuration)
	}
	k := fromCreds(out.Credentials)
	_, err = stsClient(w.url, k).GetCallerIdentity(ctx(t), nil)
	must(t, err)
	w.s.SetNow(func() time.Time { return time.Now().Add(61 * time.Second) })
	_, err = stsClient(w.url, k).GetCallerIdentity(ctx(t), nil)
	wantErr(t, err, "ExpiredToken", msgExpiredToken, 403)
}

// SDKs refuse to send a request missing a required member, so AWS's own
// "must not be null" answer is checked with a raw signed request.
func TestMissingRequiredMembers(t *testing.T) {
	w := newWorld(t)
	body := "Action=AssumeRole&Version=2011-06-15"
	req := newPost(t, w.url, body)
	sign(t, req, body, w.alice, "sts", "us-east-1", time.Now())
	got := do(t, req)
	want := "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; " +
		"Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null"
	if got.status != 400 || got.code != "ValidationError" || got.message != want {
		t.Fatalf("got %d %s %q", got.status, got.code, got.message)
	}
}

func TestLifetimeCapSparesTheMFASession(t *testing.T) {
	w := newWorld(t)
	w.s.SetMaxSessionLifetime(time.Minute)
	out, err := stsClient(w.url, w.alice).GetSessionToken(ctx(t), &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(3600)})
	must(t, err)
	got, _ := w.s.Session(aws.ToString(out.Credentials.AccessKeyId))
	if life := got.Expiration.Sub(got.Issued); life != time.Hour {
		t.Fatalf("GetSessionToken lifetime %v, want the 1h asked for", life)
	}
}
