package iampolicy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/rolevault/rolevault/internal/ststest"
)

// The end-to-end check of the generator: an emulator world built only from
// the generated policies lets every chain through, and removing any one
// statement makes exactly the calls it allows fail with AccessDenied.

var (
	ciRole     = "arn:aws:iam::" + targetAccounts["mgmt"] + ":role/ci"
	deployRole = "arn:aws:iam::" + targetAccounts["prod"] + ":role/deploy"
)

// e2eChains are the seeds' chains plus a role chain that uses the other
// conditions: external ID and a long session on the first role (MFA in
// the call), tags and a source identity on the second.
func e2eChains() []Chain {
	return append(seedsChains(), Chain{
		Name: "bob-deploy", User: bobArn,
		Calls: []Call{
			{Kind: AssumeRole, Caller: bobArn, RoleARN: ciRole, MFA: MFAInCall, ExternalID: "ci-ext-id", Duration: 4 * time.Hour},
			{Kind: AssumeRole, Caller: ciRole, RoleARN: deployRole, MFA: MFACarried, SessionTags: []string{"team"}, SourceIdentity: "bob"},
		},
	})
}

type creds struct{ id, secret, token string }

type e2eWorld struct {
	s     *ststest.Server
	url   string
	users map[string]creds  // by user ARN
	mfa   map[string]string // user ARN -> MFA secret
	mu    sync.Mutex
	now   time.Time
}

func (w *e2eWorld) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

// code advances the clock one TOTP step, so every call gets a fresh code.
func (w *e2eWorld) code(user string) string {
	w.mu.Lock()
	w.now = w.now.Add(30 * time.Second)
	w.mu.Unlock()
	return ststest.TOTP(w.mfa[user], w.clock())
}

func serialOf(user string) string { return strings.Replace(user, ":user/", ":mfa/", 1) }

func newE2EWorld(t *testing.T, res *Result, skip func(doc string, i int) bool, maxSession map[string]time.Duration) *e2eWorld {
	t.Helper()
	w := &e2eWorld{s: ststest.New(), users: map[string]creds{}, mfa: map[string]string{}, now: time.Now()}
	w.s.SetNow(w.clock)
	w.url = w.s.Start()
	t.Cleanup(w.s.Close)
	for _, u := range []string{aliceArn, bobArn} {
		p, _ := parsePrincipal(u)
		id, secret := w.s.AddUser(p.account, p.name)
		w.users[u] = creds{id, secret, ""}
		serial := serialOf(u)
		w.mfa[u] = ststest.NewTOTPSecret()
		if err := w.s.AddMFADeviceSecret(p.account, p.name, serial, w.mfa[u]); err != nil {
			t.Fatal(err)
		}
	}
	strip := func(name string, d Document) string {
		for i := len(d.Statement) - 1; i >= 0; i-- {
			if skip(name, i) {
				d = d.Without(i)
			}
		}
		if d.Statement == nil {
			d.Statement = []Statement{}
		}
		return string(d.JSON())
	}
	for _, r := range res.Roles {
		d := r.MaxSessionDuration
		if m, ok := maxSession[r.ARN]; ok {
			d = m
		}
		if err := w.s.AddRole(r.ARN, ststest.RoleOptions{TrustPolicy: strip("trust "+r.ARN, r.Trust), MaxSessionDuration: d}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range res.Identities {
		doc := strip(identityName(id), id.Policy)
		switch id.Kind {
		case "group":
			for _, u := range id.Users {
				p, _ := parsePrincipal(u)
				if err := w.s.AddUserToGroup(p.account, "rolevault", p.name); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.s.PutGroupPolicy(id.Account, "rolevault", "rolevault", doc); err != nil {
				t.Fatal(err)
			}
		case "role":
			if err := w.s.PutRolePolicy(id.ARN, "rolevault", doc); err != nil {
				t.Fatal(err)
			}
		}
	}
	return w
}

func identityName(id Identity) string { return "identity " + id.Kind + " " + id.Account + " " + id.ARN }

// step is one request a chain makes, with what it needs from the policies.
type step struct {
	chain, what string
	caller      string   // user or role ARN
	actions     []string // what the identity side must allow
	resource    string   // for the identity side
	role        string   // the role whose trust is asked, for AssumeRole
	mfa         bool
	externalID  string
}

func (s step) String() string { return s.chain + ": " + s.what }

type outcome struct {
	step step
	err  error
}

func (w *e2eWorld) stsClient(c creds) *sts.Client {
	return sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(w.url), Retryer: aws.NopRetryer{},
		HTTPClient: awshttp.NewBuildableClient(), Credentials: credentials.NewStaticCredentialsProvider(c.id, c.secret, c.token)})
}

func (w *e2eWorld) iamClient(c creds) *iam.Client {
	return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(w.url), Retryer: aws.NopRetryer{},
		HTTPClient: awshttp.NewBuildableClient(), Credentials: credentials.NewStaticCredentialsProvider(c.id, c.secret, c.token)})
}

func fromSTS(c *ststypes.Credentials) creds {
	return creds{aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)}
}

// run makes each chain's calls with the SDK, stopping a chain at its first
// failure, and returns every step tried with its error.
func (w *e2eWorld) run(t *testing.T, chains []Chain) []outcome {
	t.Helper()
	ctx := context.Background()
	var out []outcome
	for _, ch := range chains {
		cur := w.users[ch.User]
		var mfaSession *creds
		try := func(s step, f func() error) bool {
			s.chain = ch.Name
			err := f()
			out = append(out, outcome{s, err})
			return err == nil
		}
		ok := true
		for i, c := range ch.Calls {
			if !ok {
				break
			}
			switch c.Kind {
			case GetSessionToken:
				in := &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(int32(c.Duration.Seconds()))}
				if c.MFA == MFAInCall {
					in.SerialNumber, in.TokenCode = aws.String(serialOf(c.Caller)), aws.String(w.code(c.Caller))
				}
				ok = try(step{what: fmt.Sprintf("call %d GetSessionToken", i+1), caller: c.Caller}, func() error {
					o, err := w.stsClient(cur).GetSessionToken(ctx, in)
					if err == nil {
						cur = fromSTS(o.Credentials)
						mfaSession = &cur
					}
					return err
				})
			case AssumeRole:
				in := &sts.AssumeRoleInput{RoleArn: aws.String(c.RoleARN), RoleSessionName: aws.String("e2e")}
				actions := []string{"sts:AssumeRole"}
				if c.Duration > 0 {
					in.DurationSeconds = aws.Int32(int32(c.Duration.Seconds()))
				}
				if c.MFA == MFAInCall {
					in.SerialNumber, in.TokenCode = aws.String(serialOf(c.Caller)), aws.String(w.code(c.Caller))
				}
				if c.ExternalID != "" {
					in.ExternalId = aws.String(c.ExternalID)
				}
				for _, k := range c.SessionTags {
					in.Tags = append(in.Tags, ststypes.Tag{Key: aws.String(k), Value: aws.String("v")})
					actions = append(actions, "sts:TagSession")
				}
				if c.SourceIdentity != "" {
					in.SourceIdentity = aws.String(c.SourceIdentity)
					actions = append(actions, "sts:SetSourceIdentity")
				}
				s := step{what: fmt.Sprintf("call %d AssumeRole %s", i+1, c.RoleARN), caller: c.Caller, actions: sortedSet(actions),
					resource: c.RoleARN, role: c.RoleARN, mfa: c.MFA.Present(), externalID: c.ExternalID}
				ok = try(s, func() error {
					o, err := w.stsClient(cur).AssumeRole(ctx, in)
					if err == nil {
						cur = fromSTS(o.Credentials)
					}
					return err
				})
			}
		}
		if !ok {
			continue
		}
		p, _ := parsePrincipal(ch.User)
		if ch.Login {
			ok = try(step{what: "login GetFederationToken", caller: ch.User, actions: []string{"sts:GetFederationToken"},
				resource: "arn:aws:sts::" + p.account + ":federated-user/" + p.name}, func() error {
				_, err := w.stsClient(w.users[ch.User]).GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String(p.name)})
				return err
			})
		}
		if ch.Rotate == RotateNone || !ok {
			continue
		}
		with := w.users[ch.User]
		if ch.Rotate == RotateWithMFA {
			with = *mfaSession
		}
		c := w.iamClient(with)
		rot := func(action string) step {
			return step{what: "rotate " + action, caller: ch.User, actions: []string{"iam:" + action},
				resource: ch.User, mfa: ch.Rotate == RotateWithMFA}
		}
		var newKey *string
		_ = try(rot("ListAccessKeys"), func() error {
			_, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
			return err
		}) && try(rot("CreateAccessKey"), func() error {
			o, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
			if err == nil {
				newKey = o.AccessKey.AccessKeyId
			}
			return err
		}) && try(rot("GetAccessKeyLastUsed"), func() error {
			_, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: newKey})
			return err
		}) && try(rot("DeleteAccessKey"), func() error {
			_, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: newKey})
			return err
		})
	}
	return out
}

func hasMFACondition(s Statement) bool {
	return slices.Equal(s.Condition["Bool"]["aws:MultiFactorAuthPresent"], List{"true"})
}

// identityNeeds says whether step st needs statement s of identity id: the
// caller is id's, the statement is about the step's actions and resource,
// and carries an MFA condition exactly when the step has MFA.
func identityNeeds(id Identity, s Statement, st step) bool {
	if len(st.actions) == 0 || (!slices.Contains(id.Users, st.caller) && id.ARN != st.caller) {
		return false
	}
	p, _ := parsePrincipal(st.caller)
	resourceOK := slices.ContainsFunc(s.Resource, func(r string) bool {
		r = strings.ReplaceAll(r, "${aws:username}", p.name)
		pre, wild := strings.CutSuffix(r, "*")
		return r == st.resource || (wild && strings.HasPrefix(st.resource, pre))
	})
	actionsOK := slices.Equal([]string(s.Action), st.actions)
	if strings.HasPrefix(st.actions[0], "iam:") {
		actionsOK = slices.Contains(s.Action, st.actions[0])
	}
	return actionsOK && resourceOK && hasMFACondition(s) == st.mfa
}

func trustNeeds(r Role, s Statement, st step) bool {
	if st.role == "" || st.role != r.ARN || !slices.Equal([]string(s.Action), st.actions) || hasMFACondition(s) != st.mfa {
		return false
	}
	p, _ := parsePrincipal(st.caller)
	if !slices.Contains(s.Principal.AWS, "arn:aws:iam::"+p.account+":root") && !slices.Contains(s.Principal.AWS, st.caller) {
		return false
	}
	ext := s.Condition["StringEquals"]["sts:ExternalId"]
	return (len(ext) == 0 && st.externalID == "") || slices.Equal(ext, List{st.externalID})
}

func failures(out []outcome) []string {
	var f []string
	for _, o := range out {
		if o.err != nil {
			f = append(f, o.step.String())
		}
	}
	return f
}

func TestGeneratedPoliciesAgainstTheEmulator(t *testing.T) {
	chains := e2eChains()
	for _, principal := range []PrincipalMode{PrincipalAccount, PrincipalExact} {
		res, err := Generate(chains, Options{Principal: principal})
		if err != nil {
			t.Fatal(err)
		}
		// Everything generated, nothing else: every step succeeds.
		full := newE2EWorld(t, res, func(string, int) bool { return false }, nil)
		all := full.run(t, chains)
		if f := failures(all); len(f) > 0 {
			t.Fatalf("principal mode %d: with every generated statement these failed: %v\nfirst error: %v", principal, f, all[slices.IndexFunc(all, func(o outcome) bool { return o.err != nil })].err)
		}
		if len(all) < 2*9*2 {
			t.Fatalf("only %d steps ran", len(all))
		}

		type removal struct {
			doc   string
			index int
			needs func(step) bool
		}
		var removals []removal
		for _, r := range res.Roles {
			for i, s := range r.Trust.Statement {
				removals = append(removals, removal{"trust " + r.ARN, i, func(st step) bool { return trustNeeds(r, s, st) }})
			}
		}
		for _, id := range res.Identities {
			for i, s := range id.Policy.Statement {
				removals = append(removals, removal{identityName(id), i, func(st step) bool { return identityNeeds(id, s, st) }})
			}
		}
		for _, rm := range removals {
			// Expected: in each chain, the first step that needs the
			// statement fails; the steps before it succeed.
			var want []string
			skipChain := ""
			for _, o := range all {
				if o.step.chain == skipChain {
					continue
				}
				if rm.needs(o.step) {
					want = append(want, o.step.String())
					skipChain = o.step.chain
				}
			}
			if len(want) == 0 {
				t.Errorf("%s statement %d is needed by no step: it should not be generated", rm.doc, rm.index)
				continue
			}
			w := newE2EWorld(t, res, func(doc string, i int) bool { return doc == rm.doc && i == rm.index }, nil)
			got := w.run(t, chains)
			if f := failures(got); !slices.Equal(f, want) {
				t.Errorf("without %s statement %d: failed %v, want exactly %v", rm.doc, rm.index, f, want)
			}
			for _, o := range got {
				var ae smithy.APIError
				if o.err != nil && (!errors.As(o.err, &ae) || ae.ErrorCode() != "AccessDenied") {
					t.Errorf("without %s statement %d: %s failed with %v, want AccessDenied", rm.doc, rm.index, o.step, o.err)
				}
			}
		}
	}
}

// The generated MaxSessionDuration is what the long session needs: the
// AWS default of one hour refuses it.
func TestGeneratedMaxSessionDurationIsNeeded(t *testing.T) {
	chains := e2eChains()
	res, err := Generate(chains, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := newE2EWorld(t, res, func(string, int) bool { return false }, map[string]time.Duration{ciRole: time.Hour})
	got := w.run(t, chains)
	f := failures(got)
	if len(f) != 1 || !strings.HasPrefix(f[0], "bob-deploy: call 1 AssumeRole "+ciRole) {
		t.Fatalf("failed %v, want only bob-deploy's 4h AssumeRole", f)
	}
	var ae smithy.APIError
	if o := got[slices.IndexFunc(got, func(o outcome) bool { return o.err != nil })]; !errors.As(o.err, &ae) || ae.ErrorCode() != "ValidationError" {
		t.Errorf("error = %v, want ValidationError", o.err)
	}
}
