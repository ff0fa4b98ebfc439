package credentials

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/plan"
)

// DefaultPropagationTimeout bounds the wait for IAM to accept a new access
// key. IAM is eventually consistent; new keys usually work within seconds,
// and a minute is long enough that a key still refused is a real problem.
const DefaultPropagationTimeout = time.Minute

// rotationSessionDuration is the life of a GetSessionToken made only to
// rotate: STS's minimum, since it is needed for a few IAM calls.
const rotationSessionDuration = plan.MinSTSDuration

// NewRotationPlan plans the credentials that call IAM while rotating the key
// stored for profile p (or for the profile its chain starts from). IAM
// refuses GetSessionToken credentials that did not prove MFA, and users'
// self-management policies usually demand MFA, so:
//
//   - with --no-session, or with no MFA device in the chain, IAM is called
//     with the stored key itself;
//   - otherwise with an MFA session of that key: the one the profile's own
//     plan shares (so a cached one saves a prompt), or a short new one.
func NewRotationPlan(p *config.Profile, opts plan.Options) (*plan.Plan, error) {
	full, err := plan.New(p, plan.Options{NoSession: opts.NoSession})
	if err != nil {
		return nil, err
	}
	src := full.Steps[0]
	if src.Kind != plan.StepStoredKeys {
		return nil, &ProviderError{
			Err:      fmt.Errorf("profile %q gets its keys from %s, not from the keychain; rotate only replaces keys rolevault stores", p.Name, describeSource(src)),
			HintLine: "rotate such keys where they live, or store them with 'rolevault add " + src.Profile + "' and remove them from there",
		}
	}
	pl := &plan.Plan{
		Profile: p, Region: full.Region, EndpointURL: full.EndpointURL,
		STSRegionalEndpoints: full.STSRegionalEndpoints, MinTTL: full.MinTTL,
		Steps: []plan.Step{src},
	}
	if opts.NoSession {
		pl.Notes = append(pl.Notes, "--no-session: IAM is called with the stored key itself")
		return pl, nil
	}
	for _, s := range full.Steps[1:] {
		if s.Kind == plan.StepGetSessionToken && s.MFASerial != "" {
			pl.Steps = append(pl.Steps, s)
			return pl, nil
		}
	}
	serial, process := rotationMFA(p)
	if serial == "" {
		pl.Notes = append(pl.Notes, "no mfa_serial in the chain: IAM is called with the stored key itself, since IAM refuses sessions without MFA")
		return pl, nil
	}
	pl.Steps = append(pl.Steps, plan.Step{
		Kind: plan.StepGetSessionToken, Profile: src.Profile, MFASerial: serial, MFAProcess: process,
		Duration: rotationSessionDuration, DurationReason: "only for this rotation",
		// No CacheKey: the session is made from the key about to be
		// deleted, so there is nothing to keep it for.
	})
	return pl, nil
}

// rotationMFA finds the MFA device of the IAM user whose key is rotated: the
// base profile's, else the one on the first role assumed with that user's
// keys (AWS checks an AssumeRole's MFA code against the caller, so that
// device is the user's too).
func rotationMFA(p *config.Profile) (serial, process string) {
	chain, err := plan.SourceChain(p)
	if err != nil || len(chain) == 0 {
		return "", ""
	}
	if b := chain[0]; b.MFASerial != "" {
		return b.MFASerial, b.MFAProcess
	}
	for _, q := range chain {
		if q.RoleARN != "" {
			return q.MFASerial, q.MFAProcess
		}
	}
	return "", ""
}

func describeSource(s plan.Step) string {
	switch s.Kind {
	case plan.StepCredentialsFile:
		return "the shared credentials file"
	case plan.StepEnvironment:
		return "the environment (credential_source = Environment)"
	case plan.StepCredentialProcess:
		return "credential_process"
	case plan.StepWebIdentity:
		return "a web identity token"
	case plan.StepSSO:
		return "IAM Identity Center (SSO)"
	}
	return string(s.Kind)
}

// KeyReadWriter reads and replaces stored long-term keys; KeyStore is one.
type KeyReadWriter interface {
	Get(profile string) (aws.Credentials, error)
	Set(profile string, c aws.Credentials) error
}

// RotateOptions tune a rotation.
type RotateOptions struct {
	// Progress gets one line per step, for the person watching.
	Progress func(format string, args ...any)
	// PropagationTimeout bounds the wait for IAM to accept the new key
	// (0: DefaultPropagationTimeout). PollInterval is the first pause
	// between checks, doubling up to 8s (0: 1s).
	PropagationTimeout time.Duration
	PollInterval       time.Duration
}

// RotateResult says what a rotation did. It comes back with an error too,
// when the rotation got part of the way.
type RotateResult struct {
	Profile  string // the profile whose stored key was replaced
	UserARN  string
	OldKeyID string
	NewKeyID string
	// Stored is true when the keychain ends up holding the new key, so
	// sessions cached from the old key should be dropped.
	Stored bool
}

// RotateError is a rotation that stopped. Its message says which key the
// keychain holds and which keys are active in AWS; the hint, what to do.
type RotateError struct {
	Msg      string
	HintLine string
	Err      error
}

func (e *RotateError) Error() string { return e.Msg }
func (e *RotateError) Unwrap() error { return e.Err }

// Hint is the second line the CLI prints.
func (e *RotateError) Hint() string { return e.HintLine }

// Rotate replaces the access key stored for the plan's key source with a new
// one: create it, store it, confirm AWS accepts it, then delete the old one.
// The order keeps promise 6 of docs/architecture.md: the new secret is stored the moment
// IAM hands it over (IAM never shows it again), and the old key is deleted
// only once the new one is known to work. When a step fails, what came before
// is undone as far as it can be, so the keychain always ends up with a key
// that works, and the error names the keys live in AWS.
func (p *Provider) Rotate(ctx context.Context, pl *plan.Plan, keys KeyReadWriter, opts RotateOptions) (*RotateResult, error) {
	if len(pl.Steps) == 0 || pl.Steps[0].Kind != plan.StepStoredKeys {
		return nil, fmt.Errorf("rotate: the plan does not start from a stored key")
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	profile := pl.Steps[0].Profile
	res := &RotateResult{Profile: profile}

	old, err := keys.Get(profile)
	if err != nil {
		return nil, err
	}
	res.OldKeyID = old.AccessKeyID

	caller, userARN, err := p.rotatingUser(ctx, pl, profile)
	if err != nil {
		return nil, err
	}
	res.UserARN = userARN
	usingMFA := len(pl.Steps) > 1
	how := "with the stored key itself"
	if usingMFA {
		how = "with an MFA session"
	}
	progress("Rotating access key %s of %s (profile %s), %s", old.AccessKeyID, res.UserARN, profile, how)

	client, err := p.iamClient(pl, caller)
	if err != nil {
		return nil, err
	}
	// Which keys the user has beforehand, so a key IAM creates but whose
	// reply is lost can be named. Best effort: the policy may not allow it.
	before, listErr := listKeyIDs(ctx, client)
	if listErr == nil && len(before) >= 2 {
		return res, &RotateError{
			Msg: fmt.Sprintf("%s already has two access keys (%s), the most IAM allows; nothing was changed, and the keychain still holds %s, which is live in AWS",
				res.UserARN, strings.Join(before, ", "), old.AccessKeyID),
			HintLine: "delete the key you no longer use (aws iam delete-access-key --access-key-id " + otherKey(before, old.AccessKeyID) + "), then run rotate again",
		}
	}

	// Never retried: CreateAccessKey is not idempotent, and a retry after a
	// lost reply would make a second key (or fail on the two-key limit).
	out, err := client.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{}, func(o *iam.Options) { o.Retryer = aws.NopRetryer{} })
	if err != nil {
		ctx, cancel := cleanupContext(ctx)
		defer cancel()
		return res, p.createFailed(ctx, client, res, before, listErr == nil, usingMFA, err)
	}
	fresh := aws.Credentials{
		AccessKeyID:     aws.ToString(out.AccessKey.AccessKeyId),
		SecretAccessKey: aws.ToString(out.AccessKey.SecretAccessKey),
		Source:          "rolevault rotate",
	}
	res.NewKeyID = fresh.AccessKeyID
	progress("Created access key %s", fresh.AccessKeyID)

	if err := p.storeNewKey(ctx, client, keys, res, old, fresh, progress); err != nil {
		return res, err
	}
	res.Stored = true
	progress("Stored %s in the keychain for profile %s", fresh.AccessKeyID, profile)

	if err := p.waitForKey(ctx, pl, fresh, res.UserARN, opts, progress); err != nil {
		return res, p.restoreOldKey(ctx, client, keys, res, old, fresh, err)
	}
	progress("AWS accepts the new key %s", fresh.AccessKeyID)

	if err := p.deleteOldKey(ctx, pl, client, old, fresh, usingMFA); err != nil {
		return res, err
	}
	progress("Deleted the old access key %s", old.AccessKeyID)
	return res, nil
}

// rotatingUser gets the plan's credentials and the IAM user they act as,
// refusing anything that is not an IAM user (a role's keys cannot be rotated).
func (p *Provider) rotatingUser(ctx context.Context, pl *plan.Plan, profile string) (aws.Credentials, string, error) {
	caller, err := p.Retrieve(ctx, pl)
	if err != nil {
		return caller, "", err
	}
	who, err := p.stsClient(pl, &caller).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return caller, "", p.explainSTSError(ctx, pl, pl.Steps[len(pl.Steps)-1], caller, "", err)
	}
	userARN := aws.ToString(who.Arn)
	if !strings.Contains(userARN, ":user/") && !strings.HasSuffix(userARN, ":root") {
		return caller, "", &RotateError{Msg: fmt.Sprintf("the key stored for profile %q acts as %s, which is not an IAM user; only an IAM user's access keys can be rotated", profile, userARN),
			HintLine: "store the IAM user's own access key with 'rolevault add " + profile + "'"}
	}
	return caller, userARN, nil
}

// storeNewKey stores the key IAM just created. When the store reports a
// failure, what the keychain holds is read back, not assumed: a store can
// fail after it wrote, and a backend may lose the old value. It returns nil
// when the keychain holds the new key.
func (p *Provider) storeNewKey(ctx context.Context, client *iam.Client, keys KeyReadWriter, res *RotateResult, old, fresh aws.Credentials, progress func(string, ...any)) error {
	profile := res.Profile
	err := keys.Set(profile, fresh)
	if err == nil {
		return nil
	}
	switch held, rerr := keys.Get(profile); {
	case rerr == nil && sameKey(held, fresh):
		progress("Storing %s reported an error (%v), but the keychain holds it", fresh.AccessKeyID, err)
	case rerr == nil && sameKey(held, old):
		ctx, cancel := cleanupContext(ctx)
		defer cancel()
		return p.undoNewKey(ctx, client, res,
			fmt.Sprintf("could not store the new key %s in the keychain (%v)", fresh.AccessKeyID, err), err)
	default:
		what := fmt.Sprintf("reading it back failed (%v)", rerr)
		if rerr == nil {
			what = "it now holds " + held.AccessKeyID
		}
		return &RotateError{
			Msg: fmt.Sprintf("could not store the new key %s in the keychain (%v), and the keychain no longer holds the old key %s: %s; both keys are active in AWS, and the new key's secret is lost",
				fresh.AccessKeyID, err, old.AccessKeyID, what),
			HintLine: "store the old key again with 'rolevault add " + profile + "' if you have it, then delete the new one: aws iam delete-access-key --access-key-id " + fresh.AccessKeyID,
			Err:      err,
		}
	}
	return nil
}

// restoreOldKey runs when the new key is not known to work (err): it puts
// the old key back before anything else, since that is the one known to
// work, then deletes the new key. It runs on Ctrl-C too, so it must not use
// the cancelled context.
func (p *Provider) restoreOldKey(ctx context.Context, client *iam.Client, keys KeyReadWriter, res *RotateResult, old, fresh aws.Credentials, err error) error {
	profile := res.Profile
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	rerr := keys.Set(profile, old)
	if rerr == nil {
		if held, gerr := keys.Get(profile); gerr != nil {
			rerr = fmt.Errorf("reading it back: %w", gerr)
		} else if !sameKey(held, old) {
			rerr = fmt.Errorf("reading it back gave %s", held.AccessKeyID)
		}
	}
	if rerr != nil {
		holds := "the keychain holds neither key now (reading it back failed)"
		if held, gerr := keys.Get(profile); gerr == nil && sameKey(held, fresh) {
			holds = "the keychain holds " + fresh.AccessKeyID
		} else if gerr == nil {
			holds = "the keychain holds " + held.AccessKeyID
		}
		return &RotateError{
			Msg: fmt.Sprintf("the new key %s was not accepted by AWS (%v), and putting the old key %s back in the keychain failed (%v); %s, and both keys are active in AWS",
				fresh.AccessKeyID, err, old.AccessKeyID, rerr, holds),
			HintLine: "try 'rolevault exec " + profile + " -- aws sts get-caller-identity' in a minute; if it fails, store the old key again with 'rolevault add " + profile + "'",
			Err:      err,
		}
	}
	res.Stored = false
	return p.undoNewKey(ctx, client, res,
		fmt.Sprintf("the new key %s was not accepted by AWS (%v); the keychain holds the old key %s again", fresh.AccessKeyID, err, old.AccessKeyID), err)
}

// deleteOldKey deletes the replaced key once the new one works. A reported
// failure that in fact deleted it (see keyGone) is success.
func (p *Provider) deleteOldKey(ctx context.Context, pl *plan.Plan, client *iam.Client, old, fresh aws.Credentials, usingMFA bool) error {
	_, err := client.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String(old.AccessKeyID)})
	if err != nil && apiCode(err) != "NoSuchEntity" && !p.keyGone(ctx, pl, client, fresh, old.AccessKeyID, usingMFA, err) {
		return &RotateError{
			Msg: fmt.Sprintf("the keychain holds the new key %s, which works, but deleting the old key %s failed (%s); both are active in AWS",
				fresh.AccessKeyID, old.AccessKeyID, iamErrorText(err)),
			HintLine: "delete the old key yourself: aws iam delete-access-key --access-key-id " + old.AccessKeyID + " (or in the IAM console); until then the next rotate hits IAM's two-key limit",
			Err:      err,
		}
	}
	return nil
}

// sameKey reports whether a and b are the same access key and secret.
func sameKey(a, b aws.Credentials) bool {
	return a.AccessKeyID == b.AccessKeyID && a.SecretAccessKey == b.SecretAccessKey
}

// cleanupContext is for undoing a half-done rotation: it outlives a Ctrl-C
// that stopped the rotation, but not by much.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}
