package plan

import (
	"time"

	"github.com/rolevault/rolevault/config"
)

// StepKind names what a plan step does: where keys come from, or which STS call
// turns the previous step's credentials into the next.
type StepKind string

// Key sources: the first step of every plan is one of these.
const (
	StepStoredKeys        StepKind = "stored-keys"        // long-term keys in the keyring, item = Step.Profile
	StepCredentialsFile   StepKind = "credentials-file"   // keys in ~/.aws/credentials
	StepEnvironment       StepKind = "environment"        // credential_source = Environment
	StepCredentialProcess StepKind = "credential-process" // credential_process
	StepWebIdentity       StepKind = "AssumeRoleWithWebIdentity"
	StepSSO               StepKind = "sso" // IAM Identity Center GetRoleCredentials
)

// STS calls that follow a key source.
const (
	StepGetSessionToken    StepKind = "GetSessionToken"
	StepAssumeRole         StepKind = "AssumeRole"
	StepGetFederationToken StepKind = "GetFederationToken"
)

// Step is one link of a credential chain. The fields that matter depend on
// Kind; the rest are empty.
type Step struct {
	Kind    StepKind
	Profile string // the config profile this step comes from

	RoleARN               string
	RoleSessionName       string
	ExternalID            string
	SourceIdentity        string
	SessionTags           map[string]string
	TransitiveSessionTags []string

	// MFASerial is set when this call must carry an MFA code; MFAProcess is the
	// profile's mfa_process, if any, to get it from.
	MFASerial  string
	MFAProcess string

	Duration       time.Duration
	DurationReason string // why this duration, e.g. "capped at 1h: role chaining"

	CredentialProcess       string
	WebIdentityTokenFile    string
	WebIdentityTokenProcess string
	SSO                     *config.SSOSettings

	// CacheKey is the keyring item that holds this step's session; empty when
	// the step's result is not cached (key sources).
	CacheKey string
}

// Plan is the ordered list of steps that produce a profile's credentials.
// Steps[0] is always a key source; the last step's credentials are the answer.
type Plan struct {
	Profile *config.Profile
	Steps   []Step

	// STS settings for every call in the plan, from the target profile.
	Region               string
	EndpointURL          string
	STSRegionalEndpoints string
	MinTTL               time.Duration

	// Notes explain choices that left a step out (why no GetSessionToken),
	// for explain and --debug.
	Notes []string
}

// Options are the per-invocation choices that change a plan.
type Options struct {
	NoSession bool          // --no-session: never insert GetSessionToken
	Duration  time.Duration // --duration: overrides the profile's durations
	// Federation asks for GetFederationToken instead of GetSessionToken when the
	// plan ends at an IAM user's keys (used by login).
	Federation bool
}

// ProfileNamed finds a profile of the plan's source chain by name.
func (plan *Plan) ProfileNamed(name string) *config.Profile {
	for p := plan.Profile; p != nil; p = p.Source {
		if p.Name == name {
			return p
		}
	}
	return nil
}
