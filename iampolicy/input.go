package iampolicy

import "time"

// CallKind is the STS call a step of a chain makes.
type CallKind string

// The STS calls a chain is made of.
const (
	AssumeRole         CallKind = "AssumeRole"
	GetSessionToken    CallKind = "GetSessionToken"
	GetFederationToken CallKind = "GetFederationToken"
)

// MFA says how multi-factor authentication reaches a call's request
// context (see docs/policy.md for the AWS rules behind it).
type MFA int

const (
	// MFANone: no MFA; aws:MultiFactorAuthPresent is absent (long-term
	// keys) or false (temporary credentials without MFA).
	MFANone MFA = iota
	// MFAInCall: the call itself carries SerialNumber and TokenCode.
	MFAInCall
	// MFACarried: the call is signed with temporary credentials whose
	// session was authenticated with MFA (an MFA GetSessionToken, or a role
	// session that had MFA); the MFA context carries over to the call and
	// to the session it returns.
	MFACarried
)

// Present reports whether aws:MultiFactorAuthPresent is true for the call.
func (m MFA) Present() bool { return m != MFANone }

// Call is one STS call of a chain.
type Call struct {
	Kind CallKind
	// Caller is the ARN of the principal whose credentials sign the call:
	// an IAM user (arn:aws:iam::A:user/N, also behind its GetSessionToken
	// session) or a role (arn:aws:iam::A:role/N, for role chaining).
	Caller string
	// RoleARN is the role an AssumeRole call assumes.
	RoleARN string
	MFA     MFA
	// ExternalID is the call's ExternalId, "" for none.
	ExternalID string
	// SessionTags are the keys of the tags the call passes (with any
	// transitive tag keys): the call then needs sts:TagSession.
	SessionTags []string
	// SourceIdentity set means the call needs sts:SetSourceIdentity.
	SourceIdentity string
	// Duration is the session length the call asks for; zero is the
	// call's default.
	Duration time.Duration
}

// Rotate says whether, and with which credentials, the IAM user at the
// start of a chain rotates its own access key.
type Rotate int

// How a chain's user rotates its key.
const (
	RotateNone     Rotate = iota
	RotateWithKeys        // with the long-term key itself: no MFA context
	RotateWithMFA         // with an MFA GetSessionToken session
)

// Chain is the calls that produce one profile's credentials, in order.
type Chain struct {
	Name  string // the profile, for notes
	Calls []Call
	// User is the IAM user whose long-term key starts the chain, "" when
	// the chain starts elsewhere (SSO, web identity, a process).
	User string
	// Rotate: the user rotates its key with 'rotate'.
	Rotate Rotate
	// Login: the user signs in to the console with GetFederationToken
	// ('login' for an IAM user profile).
	Login bool
}

// PrincipalMode chooses whom a trust policy names.
type PrincipalMode int

const (
	// PrincipalAccount trusts the caller's account root, delegating to the
	// identity policies of that account (the seeds' layout).
	PrincipalAccount PrincipalMode = iota
	// PrincipalExact trusts the exact user or role ARN that calls.
	PrincipalExact
)

// Options tune the generated policies.
type Options struct {
	Principal PrincipalMode
	// MFAMaxAge, when set, adds aws:MultiFactorAuthAge NumericLessThan to
	// every MFA condition. The age counts from the MFA authentication,
	// not from the session in hand.
	MFAMaxAge time.Duration
	// ExactUsers names exact users in identity statements about a user's
	// own resources instead of ${aws:username}.
	ExactUsers bool
}
