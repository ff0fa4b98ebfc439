package doctor

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/credentials"
	"github.com/rolevault/rolevault/iampolicy"
	"github.com/rolevault/rolevault/plan"
)

// Keys is the part of keychain.KeyStore doctor reads: the item's name
// (no secret) and then the key itself.
type Keys interface {
	Has(profile string) (bool, error)
	Get(profile string) (aws.Credentials, error)
}

// Input is what a doctor run needs; cli builds it.
type Input struct {
	Profile string
	// Resolve loads the config and resolves the profile.
	Resolve     func() (*config.Profile, error)
	PlanOptions plan.Options
	// OpenKeys opens the keyring and names the backend ("the file keyring
	// (~/.awsvault/keys)").
	OpenKeys func() (Keys, string, error)
	// Provider runs the chain's steps, through the cache and the MFA prompt
	// as exec and export do.
	Provider *credentials.Provider
	// Policies are the policies 'rolevault policy' prints for the profile,
	// for the statements that would allow a refused call; nil when the
	// chain is not one policy covers.
	Policies func(*config.Profile) (*iampolicy.Result, error)
	Now      func() time.Time
}

// Thresholds of the checks.
const (
	MaxKeyAge   = 90 * 24 * time.Hour
	SkewWarn    = time.Minute
	SkewFail    = 5 * time.Minute // AWS refuses signatures further off
	noRetryName = "rolevault-doctor"
)

func (in *Input) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}

// Run walks the chain and returns the report. It stops at the first check
// that leaves nothing to go on (no config, no key, no STS).
func Run(ctx context.Context, in Input) *Report {
	r := &Report{Profile: in.Profile}
	p, err := in.Resolve()
	if err != nil {
		r.add(Check{Check: CheckConfig, Verdict: Fail, Detail: oneLine(err), Next: hintOr(err, "fix the config file at the line named; 'rolevault explain "+in.Profile+"' shows the chain once it resolves")})
		return r
	}
	pl, err := plan.New(p, in.PlanOptions)
	if err != nil {
		r.add(Check{Check: CheckConfig, Verdict: Fail, Detail: oneLine(err), Next: hintOr(err, "fix the profile's settings")})
		return r
	}
	kinds := make([]string, len(pl.Steps))
	for i, s := range pl.Steps {
		kinds[i] = string(s.Kind)
	}
	r.add(Check{Check: CheckConfig, Verdict: OK, Detail: fmt.Sprintf("profile %s resolves: %s", p.Name, strings.Join(kinds, " → "))})

	w := &walk{in: in, r: r, pl: pl, prof: p}
	base, ok := w.keySource(ctx)
	if !ok {
		return r
	}
	if !w.identify(ctx, base) {
		return r
	}
	w.keyAge(ctx, base)
	w.mfaSerial()
	w.steps(ctx, base)
	return r
}

type walk struct {
	in       Input
	r        *Report
	pl       *plan.Plan
	prof     *config.Profile
	account  string // the caller's account, from GetCallerIdentity
	userARN  string // the caller's ARN (an IAM user, or whatever signs the first call)
	keyID    string
	policies *iampolicy.Result
	polErr   error
	polDone  bool
}

func (w *walk) prefix(n int) *plan.Plan {
	cp := *w.pl
	cp.Steps = w.pl.Steps[:n]
	return &cp
}

// keySource checks the first step: the stored key is there and readable,
// or the other source gives credentials.
func (w *walk) keySource(ctx context.Context) (aws.Credentials, bool) {
	first := w.pl.Steps[0]
	if first.Kind != plan.StepStoredKeys {
		c, err := w.in.Provider.Retrieve(ctx, w.prefix(1))
		if err != nil {
			w.r.add(Check{Check: CheckKey, Verdict: Fail, Detail: fmt.Sprintf("%s of profile %s: %s", first.Kind, first.Profile, oneLine(err)), Next: hintOr(err, "fix the credential source of profile "+first.Profile)})
			return c, false
		}
		w.r.add(Check{Check: CheckKey, Verdict: OK, Detail: fmt.Sprintf("credentials from %s of profile %s (%s)", first.Kind, first.Profile, maskKey(c.AccessKeyID))})
		return c, true
	}
	keys, place, err := w.in.OpenKeys()
	if err != nil {
		w.r.add(Check{Check: CheckKey, Verdict: Fail, Detail: "cannot open the keyring: " + oneLine(err), Next: hintOr(err, "choose a working backend with --backend or AWS_VAULT_BACKEND")})
		return aws.Credentials{}, false
	}
	has, err := keys.Has(first.Profile)
	if err != nil {
		w.r.add(Check{Check: CheckKey, Verdict: Fail, Detail: fmt.Sprintf("cannot list %s: %s", place, oneLine(err)), Next: hintOr(err, "unlock the keyring, or choose another with --backend")})
		return aws.Credentials{}, false
	}
	if !has {
		w.r.add(Check{Check: CheckKey, Verdict: Fail, Detail: fmt.Sprintf("no access key stored for profile %s in %s", first.Profile, place),
			Next: fmt.Sprintf("store the IAM user's key with 'rolevault add %s' (or point --backend at the keyring that holds it)", first.Profile)})
		return aws.Credentials{}, false
	}
	c, err := keys.Get(first.Profile)
	if err != nil {
		w.r.add(Check{Check: CheckKey, Verdict: Fail, Detail: fmt.Sprintf("the access key of profile %s in %s cannot be read: %s", first.Profile, place, oneLine(err)), Next: hintOr(err, "unlock the keyring or give its passphrase; or store the key again with 'rolevault add "+first.Profile+"'")})
		return c, false
	}
	w.keyID = c.AccessKeyID
	w.r.add(Check{Check: CheckKey, Verdict: OK, Detail: fmt.Sprintf("access key %s of profile %s is stored in %s and readable", maskKey(c.AccessKeyID), first.Profile, place)})
	return c, true
}

// identify calls GetCallerIdentity once, without retries, and from its
// answer checks the endpoint, the clock (the Date header) and the key.
func (w *walk) identify(ctx context.Context, base aws.Credentials) bool {
	var date http.Header
	var at time.Time
	client := w.in.Provider.STSClient(w.pl, base, func(o *sts.Options) {
		o.Retryer = aws.NopRetryer{}
		o.APIOptions = append(o.APIOptions, recordHeader(&date, &at, w.in.now))
	})
	ep := credentials.STSEndpointName(w.pl)
	region := credentials.PlanRegion(w.pl)
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil && unreachable(err) {
		w.r.add(unreachableCheck(ep, region, err))
		return false
	}
	w.r.add(Check{Check: CheckEndpoint, Verdict: OK, Detail: fmt.Sprintf("STS at %s (region %s) answers", ep, region)})

	clockBad := false
	if d, perr := http.ParseTime(date.Get("Date")); date != nil && perr == nil {
		c := SkewCheck(d.Sub(at))
		clockBad = c.Verdict == Fail
		w.r.add(c)
	} else {
		w.r.add(Check{Check: CheckClock, Verdict: Skip, Detail: "STS's answer had no Date header to compare this machine's clock with"})
	}

	if err != nil {
		code, msg := apiError(err)
		c := Check{Check: CheckCaller, Verdict: Fail, Detail: fmt.Sprintf("GetCallerIdentity with %s failed: %s: %s", maskKey(base.AccessKeyID), code, msg)}
		profile := w.pl.Steps[0].Profile
		switch {
		case clockBad:
			c.Next = "set this machine's clock first (see the clock check): AWS refuses every signature more than 5 minutes off"
		case code == "InvalidClientTokenId":
			c.Next = fmt.Sprintf("AWS does not know this key (deleted or rotated elsewhere?): store a current one with 'rolevault add %s'", profile)
		case code == "SignatureDoesNotMatch":
			c.Next = fmt.Sprintf("the secret does not belong to this key: store the right one with 'rolevault add %s'", profile)
		case code == "ExpiredToken":
			c.Next = "the source's session has expired: refresh it where it comes from"
		default:
			c.Next = "check the key's status in IAM"
		}
		w.r.add(c)
		return false
	}
	w.userARN, w.account = aws.ToString(out.Arn), aws.ToString(out.Account)
	w.r.add(Check{Check: CheckCaller, Verdict: OK, Detail: fmt.Sprintf("the key works: %s in account %s", w.userARN, w.account)})
	return true
}

// SkewCheck turns the difference between STS's clock and this machine's
// (positive: STS is ahead) into the clock check.
func SkewCheck(skew time.Duration) Check {
	abs := skew
	if abs < 0 {
		abs = -abs
	}
	way := "behind"
	if skew < 0 {
		way = "ahead of"
	}
	c := Check{Check: CheckClock, Verdict: OK, Detail: fmt.Sprintf("this machine's clock is within %s of STS's", abs.Round(time.Second)+time.Second)}
	switch {
	case abs > SkewFail:
		c.Verdict, c.Detail = Fail, fmt.Sprintf("this machine's clock is %s %s STS's: AWS refuses signatures more than 5 minutes off (SignatureDoesNotMatch, \"Signature expired\" or \"not yet current\")", abs.Round(time.Second), way)
		c.Next = "set the clock (enable NTP: timedatectl set-ntp true, or your OS's time settings)"
	case abs > SkewWarn:
		c.Verdict, c.Detail = Warn, fmt.Sprintf("this machine's clock is %s %s STS's; past 5 minutes AWS refuses every request with SignatureDoesNotMatch", abs.Round(time.Second), way)
		c.Next = "enable time synchronisation (NTP) before it drifts further"
	}
	return c
}

// recordHeader keeps the raw answer's headers and when it came.
func recordHeader(dst *http.Header, at *time.Time, now func() time.Time) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Deserialize.Add(middleware.DeserializeMiddlewareFunc("RolevaultDoctorDate",
			func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleDeserialize(ctx, in)
				if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp != nil {
					*dst, *at = resp.Header.Clone(), now()
				}
				return out, md, err
			}), middleware.After)
	}
}

// keyAge asks IAM for the key's CreateDate, where the user may see it.
func (w *walk) keyAge(ctx context.Context, base aws.Credentials) {
	if w.keyID == "" || !strings.HasPrefix(base.AccessKeyID, "AKIA") {
		return
	}
	client, err := w.in.Provider.IAMClient(w.pl, base, func(o *iam.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		w.r.add(Check{Check: CheckKeyAge, Verdict: Skip, Detail: "cannot tell the key's age: " + oneLine(err)})
		return
	}
	out, err := client.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	if err != nil {
		code, msg := apiError(err)
		if code == "AccessDenied" {
			w.r.add(Check{Check: CheckKeyAge, Verdict: Skip, Detail: "cannot tell the key's age: IAM does not let " + w.userARN + " call iam:ListAccessKeys (" + msg + ")"})
			return
		}
		w.r.add(Check{Check: CheckKeyAge, Verdict: Skip, Detail: fmt.Sprintf("cannot tell the key's age: iam:ListAccessKeys failed: %s %s", code, msg)})
		return
	}
	for _, k := range out.AccessKeyMetadata {
		if aws.ToString(k.AccessKeyId) == base.AccessKeyID && k.CreateDate != nil {
			w.r.add(AgeCheck(w.in.now().Sub(*k.CreateDate), *k.CreateDate, w.pl.Steps[0].Profile))
			return
		}
	}
	w.r.add(Check{Check: CheckKeyAge, Verdict: Skip, Detail: "cannot tell the key's age: iam:ListAccessKeys does not list " + maskKey(base.AccessKeyID)})
}

// AgeCheck is the key-age verdict for a key created age ago.
func AgeCheck(age time.Duration, created time.Time, profile string) Check {
	days := int(age / (24 * time.Hour))
	c := Check{Check: CheckKeyAge, Verdict: OK, Detail: fmt.Sprintf("the key was created %s (%d days ago)", created.UTC().Format("2006-01-02"), days)}
	if age > MaxKeyAge {
		c.Verdict = Warn
		c.Detail += "; keys older than 90 days should be replaced"
		c.Next = "rotate it: rolevault rotate " + profile
	}
	return c
}

// mfaSerial checks that the chain's MFA device is in the caller's account:
// an IAM user's device always is.
func (w *walk) mfaSerial() {
	serial := ""
	for _, s := range w.pl.Steps {
		if s.MFASerial != "" {
			serial = s.MFASerial
			break
		}
	}
	if serial == "" {
		return
	}
	w.r.add(MFASerialCheck(serial, w.account, w.userARN))
}

// MFASerialCheck compares the account of an MFA serial with the caller's.
func MFASerialCheck(serial, account, caller string) Check {
	a, ok := config.ParseIAMARN(serial)
	if !ok || a.Type != "mfa" {
		return Check{Check: CheckMFASerial, Verdict: Skip, Detail: "mfa_serial " + serial + " is a hardware device's serial number, not an ARN: its account cannot be compared"}
	}
	if a.Account != account {
		name := caller
		if i := strings.LastIndex(caller, "/"); i >= 0 {
			name = caller[i+1:]
		}
		return Check{Check: CheckMFASerial, Verdict: Fail,
			Detail: fmt.Sprintf("mfa_serial %s is in account %s, but the key belongs to %s in account %s: STS accepts only the caller's own devices", serial, a.Account, caller, account),
			Next:   fmt.Sprintf("set mfa_serial to the device of %s (arn:aws:iam::%s:mfa/%s for a virtual device; 'aws iam list-mfa-devices' lists them)", caller, account, name)}
	}
	return Check{Check: CheckMFASerial, Verdict: OK, Detail: fmt.Sprintf("mfa_serial %s is in the caller's account %s", serial, account)}
}

// steps runs each STS step of the plan in order through the provider, so
// cached sessions are reused and at most one MFA code is asked for.
func (w *walk) steps(ctx context.Context, base aws.Credentials) {
	principal := w.userARN
	if roleOf := assumedRoleARN(principal); roleOf != "" {
		principal = roleOf
	}
	creds := base
	mfa := false
	for i := 1; i < len(w.pl.Steps); i++ {
		step := w.pl.Steps[i]
		mfa = mfa || step.MFASerial != ""
		what := string(step.Kind)
		if step.Kind == plan.StepAssumeRole {
			what = "AssumeRole " + step.RoleARN
		}
		cached := ""
		if step.CacheKey != "" && w.in.Provider.Cache != nil {
			if s, err := w.in.Provider.Cache.Get(step.CacheKey); err == nil && s.Usable(w.in.now(), minTTL(w.pl)) {
				cached = " (cached session)"
			}
		}
		next, err := w.in.Provider.Retrieve(ctx, w.prefix(i+1))
		if err == nil {
			d := fmt.Sprintf("%s for profile %s works%s", what, step.Profile, cached)
			if next.CanExpire {
				d += fmt.Sprintf(": session until %s", next.Expires.UTC().Format(time.RFC3339))
			}
			w.r.add(Check{Check: CheckStep, Step: i, Verdict: OK, Detail: d})
			creds = next
			if step.Kind == plan.StepAssumeRole {
				principal = step.RoleARN
			}
			continue
		}
		code, msg := apiError(err)
		switch {
		case unreachable(err):
			c := unreachableCheck(credentials.STSEndpointName(w.pl), credentials.PlanRegion(w.pl), err)
			c.Step = i
			w.r.add(c)
		case code == "ValidationError" && strings.Contains(msg, "DurationSeconds"):
			w.r.add(w.durationCheck(i, step, msg))
		case code == "AccessDenied" && step.Kind == plan.StepAssumeRole && !strings.Contains(strings.ToLower(msg), "multifactorauthentication"):
			w.r.add(w.accessDenied(ctx, i, step, creds, principal, mfa, msg))
		default:
			w.r.add(Check{Check: CheckStep, Step: i, Verdict: Fail, Detail: fmt.Sprintf("%s for profile %s: %s", what, step.Profile, oneLine(err)), Next: hintOr(err, "run the command with --debug for details")})
		}
		return
	}
}

func minTTL(pl *plan.Plan) time.Duration {
	if pl.MinTTL > 0 {
		return pl.MinTTL
	}
	return config.DefaultMinTTL
}

func (w *walk) durationCheck(i int, step plan.Step, msg string) Check {
	c := Check{Check: CheckDuration, Step: i, Verdict: Fail,
		Detail: fmt.Sprintf("%s for profile %s: the requested duration %s is more than %s allows (%s)", step.Kind, step.Profile, step.Duration, step.RoleARN, msg)}
	need := ""
	if res := w.policyResult(); res != nil {
		for _, ro := range res.Roles {
			if ro.ARN == step.RoleARN {
				need = fmt.Sprintf(" to at least %d seconds", int64(ro.MaxSessionDuration/time.Second))
			}
		}
	}
	c.Next = fmt.Sprintf("raise the MaxSessionDuration of %s%s (aws iam update-role --max-session-duration), or ask for less with duration_seconds / --duration; a chained role (assumed with another role's session) allows at most 1h whatever its MaxSessionDuration", step.RoleARN, need)
	if step.Kind != plan.StepAssumeRole {
		c.Detail = fmt.Sprintf("%s for profile %s: the requested duration %s is refused (%s)", step.Kind, step.Profile, step.Duration, msg)
		c.Next = "ask for a shorter session with duration_seconds / --duration"
	}
	return c
}
