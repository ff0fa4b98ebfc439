package plan

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rolevault/rolevault/config"
)

// Default durations, as in aws-vault v7.
const (
	DefaultSessionTokenDuration        = time.Hour     // GetSessionToken for a profile used on its own
	DefaultChainedSessionTokenDuration = 8 * time.Hour // GetSessionToken shared by the roles built on it
	DefaultAssumeRoleDuration          = time.Hour
	DefaultFederationTokenDuration     = time.Hour

	// RoleChainingMaxDuration is the most AWS grants an AssumeRole made with
	// role credentials, or with a session whose MFA is to be reused.
	RoleChainingMaxDuration = time.Hour
)

// STS limits, checked here so a bad duration is a clear error before any
// network call.
const (
	MinSTSDuration          = 15 * time.Minute
	maxAssumeRoleDuration   = 12 * time.Hour
	maxSessionTokenDuration = 36 * time.Hour
)

// CacheInspector reports when a cached session expires without reading its
// secret, so `explain` can say whether a step would be reused. ok is false
// when nothing is cached under key. The session cache implements it.
type CacheInspector interface {
	Expiry(key string) (exp time.Time, ok bool, err error)
}

// New turns a resolved profile into the STS calls that produce its
// credentials. It is pure: no I/O, no clock, no keyring. The rules follow
// aws-vault v7 (see docs/config.md, "How a profile becomes STS calls").
func New(p *config.Profile, opts Options) (*Plan, error) {
	if p == nil {
		return nil, fmt.Errorf("plan: no profile")
	}
	chain, err := SourceChain(p)
	if err != nil {
		return nil, err
	}
	plan := &Plan{
		Profile:              p,
		Region:               p.Region,
		EndpointURL:          p.STSEndpointURL,
		STSRegionalEndpoints: p.STSRegionalEndpoints,
		MinTTL:               p.MinTTL,
	}
	if plan.MinTTL == 0 {
		plan.MinTTL = config.DefaultMinTTL
	}

	base := chain[0] // the profile whose keys start it all
	first, sourceID, err := keySourceStep(base, opts)
	if err != nil {
		return nil, err
	}
	plan.Steps = append(plan.Steps, first)
	longTerm := first.Kind == StepStoredKeys ||
		(first.Kind == StepCredentialsFile && base.FileKeys.SessionToken == "")

	roles := roleProfiles(chain, first)
	mfaDone, err := addSessionStep(plan, base, roles, sourceID, longTerm, opts)
	if err != nil {
		return nil, err
	}
	prevKey := sourceID
	if n := len(plan.Steps); n > 1 {
		prevKey = plan.Steps[n-1].CacheKey
	}
	for _, r := range roles {
		s, err := assumeRoleStep(r, plan.Steps[len(plan.Steps)-1].Kind, base, roles, mfaDone, prevKey, opts)
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, s)
		prevKey = s.CacheKey
	}
	return plan, nil
}

// roleProfiles are the profiles of chain that add an AssumeRole, innermost
// first. The base profile is one of them when its role comes with its own
// keys (AWS_ROLE_ARN, or source_profile naming itself); web identity
// consumes its role itself.
func roleProfiles(chain []*config.Profile, first Step) []*config.Profile {
	var roles []*config.Profile
	for i, q := range chain {
		if q.RoleARN == "" || (i == 0 && first.Kind == StepWebIdentity) {
			continue
		}
		roles = append(roles, q)
	}
	return roles
}

// addSessionStep adds the session made from a long-term key, when there is
// one: GetFederationToken (console), GetSessionToken for the profile on its
// own, or the GetSessionToken the roles share. It returns the MFA serial
// that session already proved, so the roles do not ask again.
func addSessionStep(plan *Plan, base *config.Profile, roles []*config.Profile, sourceID string, longTerm bool, opts Options) (mfaDone string, err error) {
	switch {
	case len(roles) == 0 && longTerm && opts.Federation:
		d, why := pickDuration(opts.Duration, base.FederationTokenDuration, base.Origins[config.OriginFederationTokenTTL],
			DefaultFederationTokenDuration, "default for GetFederationToken")
		if err := checkDuration(base, StepGetFederationToken, d, maxSessionTokenDuration); err != nil {
			return "", err
		}
		plan.Steps = append(plan.Steps, Step{
			Kind: StepGetFederationToken, Profile: base.Name, Duration: d, DurationReason: why,
			CacheKey: SessionKey(StepGetFederationToken, base.Name, sourceID, d.String()),
		})
	case len(roles) == 0 && longTerm && !opts.NoSession:
		d, why := pickDuration(opts.Duration, base.SessionTokenDuration, base.Origins[config.OriginSessionTokenTTL],
			DefaultSessionTokenDuration, "default for GetSessionToken")
		if err := checkDuration(base, StepGetSessionToken, d, maxSessionTokenDuration); err != nil {
			return "", err
		}
		explicit := opts.Duration != 0 || base.SessionTokenDuration != 0
		plan.Steps = append(plan.Steps, sessionTokenStep(base, sourceID, d, why, explicit))
		mfaDone = base.MFASerial
	case len(roles) > 0 && longTerm:
		use, why := canShareSession(base, roles[0], opts)
		if !use {
			plan.Notes = append(plan.Notes, "no GetSessionToken: "+why)
			break
		}
		d, reason := pickDuration(0, base.ChainedSessionTokenDuration, base.Origins[config.OriginChainedSessionTokenTTL],
			DefaultChainedSessionTokenDuration, "default for a session shared by role profiles")
		if err := checkDuration(base, StepGetSessionToken, d, maxSessionTokenDuration); err != nil {
			return "", err
		}
		step := sessionTokenStep(base, sourceID, d, reason, base.ChainedSessionTokenDuration != 0)
		if step.MFAProcess == "" {
			// The serial is the role's too; its mfa_process is how this
			// person gets codes for it when the base profile names none.
			step.MFAProcess = roles[0].MFAProcess
		}
		plan.Steps = append(plan.Steps, step)
		mfaDone = base.MFASerial
	}
	return mfaDone, nil
}

// assumeRoleStep is the AssumeRole of role profile r, made with the
// credentials of a step of kind prev whose cache key is prevKey.
func assumeRoleStep(r *config.Profile, prev StepKind, base *config.Profile, roles []*config.Profile, mfaDone, prevKey string, opts Options) (Step, error) {
	d, why := pickDuration(opts.Duration, r.AssumeRoleDuration, r.Origins[config.KeyDurationSeconds],
		DefaultAssumeRoleDuration, "default for AssumeRole")
	if err := checkDuration(r, StepAssumeRole, d, maxAssumeRoleDuration); err != nil {
		return Step{}, err
	}
	if yieldsRoleCredentials(prev) && d > RoleChainingMaxDuration {
		d, why = RoleChainingMaxDuration, "capped at 1h: role chaining"
	}
	s := Step{
		Kind: StepAssumeRole, Profile: r.Name,
		RoleARN: r.RoleARN, RoleSessionName: r.RoleSessionName, ExternalID: r.ExternalID,
		SourceIdentity: r.SourceIdentity, SessionTags: r.SessionTags, TransitiveSessionTags: r.TransitiveSessionTags,
		Duration: d, DurationReason: why,
	}
	if r.MFASerial != "" && r.MFASerial != mfaDone {
		// mfa_process belongs to the device: when the role profile names
		// none, the source's for the same device serves (--no-session,
		// or a role that asks for more than an hour).
		s.MFASerial = r.MFASerial
		s.MFAProcess = mfaProcessFor(r.MFASerial, append([]*config.Profile{r, base}, roles...)...)
	}
	s.CacheKey = SessionKey(StepAssumeRole, r.Name,
		r.RoleARN, r.RoleSessionName, r.ExternalID, tagsParam(r.SessionTags),
		strings.Join(r.TransitiveSessionTags, ","), r.SourceIdentity, s.MFASerial, d.String(), prevKey)
	return s, nil
}

// SourceChain lists the profile and its sources, innermost (the one with the
// keys) first. Resolve never builds a cycle, but a hand-made Profile could.
func SourceChain(p *config.Profile) ([]*config.Profile, error) {
	var chain []*config.Profile
	seen := map[*config.Profile]bool{}
	for q := p; q != nil; q = q.Source {
		if seen[q] {
			return nil, &config.ConfigError{Kind: config.ErrSourceProfileCycle, Profile: p.Name,
				Msg: "source_profile cycle", Advice: "resolve profiles with Config.Resolve"}
		}
		seen[q] = true
		chain = append(chain, q)
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain, nil
}

// keySourceStep is the first step: where the base profile's keys come from.
// sourceID identifies those keys in the cache keys of the steps built on
// them: the step's own cache key when it has one, else a name for the keys.
func keySourceStep(p *config.Profile, opts Options) (Step, string, error) {
	s := Step{Profile: p.Name}
	switch {
	case p.CredentialSource != "":
		s.Kind = StepEnvironment
		return s, "environment:" + p.Name, nil
	case p.CredentialProcess != "":
		s.Kind = StepCredentialProcess
		s.CredentialProcess = p.CredentialProcess
		return s, "credential-process:" + p.Name + ":" + p.CredentialProcess, nil
	case p.WebIdentityTokenFile != "" || p.WebIdentityTokenProcess != "":
		d, why := pickDuration(opts.Duration, p.AssumeRoleDuration, p.Origins[config.KeyDurationSeconds],
			DefaultAssumeRoleDuration, "default for AssumeRole")
		if err := checkDuration(p, StepWebIdentity, d, maxAssumeRoleDuration); err != nil {
			return s, "", err
		}
		s.Kind = StepWebIdentity
		s.RoleARN, s.RoleSessionName = p.RoleARN, p.RoleSessionName
		s.WebIdentityTokenFile, s.WebIdentityTokenProcess = p.WebIdentityTokenFile, p.WebIdentityTokenProcess
		s.Duration, s.DurationReason = d, why
		s.CacheKey = SessionKey(StepWebIdentity, p.Name, p.RoleARN, p.RoleSessionName,
			p.WebIdentityTokenFile, p.WebIdentityTokenProcess, d.String())
		return s, s.CacheKey, nil
	case p.SSO != nil:
		s.Kind = StepSSO
		sso := *p.SSO
		s.SSO = &sso
		// Per account, role and sign-in: two sso-sessions on one start URL
		// are two people (or two sets of scopes) and never share a session.
		s.CacheKey = SessionKey(StepSSO, p.Name, sso.StartURL, sso.Region, sso.AccountID, sso.RoleName, "session="+sso.Session)
		return s, s.CacheKey, nil
	case p.FileKeys != nil && !p.FileKeysIgnored:
		s.Kind = StepCredentialsFile
		return s, "credentials-file:" + p.Name, nil
	default:
		s.Kind = StepStoredKeys
		return s, "stored-keys:" + p.Name, nil
	}
}

// canShareSession is aws-vault's canUseGetSessionToken for a role chain:
// one MFA'd session from the base profile's keys can serve the first role
// (and every other role profile with the same source and serial) only when
// both name the same MFA device and the role asks for no more than AWS
// allows when assuming a role with session credentials.
func canShareSession(base, role *config.Profile, opts Options) (bool, string) {
	d := role.AssumeRoleDuration
	if opts.Duration != 0 {
		d = opts.Duration
	}
	switch {
	case opts.NoSession:
		return false, "--no-session"
	case role == base:
		return false, fmt.Sprintf("profile %q assumes its role with its own keys", base.Name)
	case role.MFASerial == "":
		return false, fmt.Sprintf("profile %q has no mfa_serial, so a session would add nothing", role.Name)
	case base.MFASerial == "":
		return false, fmt.Sprintf("profile %q has no mfa_serial", base.Name)
	case role.MFASerial != base.MFASerial:
		return false, fmt.Sprintf("profile %q uses MFA device %s, not %s of %q", role.Name, role.MFASerial, base.MFASerial, base.Name)
	case d > RoleChainingMaxDuration:
		return false, fmt.Sprintf("profile %q asks for %s, more than the %s AWS allows for a role assumed with a session; the role is assumed directly with MFA",
			role.Name, FormatDuration(d), FormatDuration(RoleChainingMaxDuration))
	}
	return true, ""
}

// sessionTokenStep is the MFA session of base. explicit says its length was
// asked for (--duration, AWS_SESSION_TOKEN_TTL, AWS_CHAINED_SESSION_TOKEN_TTL)
// rather than defaulted.
func sessionTokenStep(base *config.Profile, sourceID string, d time.Duration, why string, explicit bool) Step {
	// Built from the base profile only, never the role that asked: dev and
	// prod sharing login and its MFA device share this one session. With a
	// default length the duration is left out, as aws-vault does: the
	// session is reused whatever length it was asked for while more than
	// the minimum TTL remains, so `exec login` followed by `exec prod` asks
	// for one code, not two. A length asked for explicitly is honoured: it
	// is part of the name, so a shorter session cached by a default request
	// is never handed to a request for 8h, and every request for the same
	// length (every role, every process) still shares one session.
	params := []string{sourceID, base.MFASerial}
	if explicit {
		params = append(params, "duration="+d.String())
	}
	return Step{
		Kind: StepGetSessionToken, Profile: base.Name,
		MFASerial: base.MFASerial, MFAProcess: base.MFAProcess,
		Duration: d, DurationReason: why,
		CacheKey: SessionKey(StepGetSessionToken, base.Name, params...),
	}
}

// yieldsRoleCredentials reports whether a step's result is a role session,
// so an AssumeRole made with it is role chaining (capped at 1h by AWS).
func yieldsRoleCredentials(k StepKind) bool {
	return k == StepAssumeRole || k == StepWebIdentity || k == StepSSO
}

// pickDuration chooses --duration, then the profile's setting (with where it
// came from), then the default, and says which.
func pickDuration(flag, set time.Duration, origin string, def time.Duration, defWhy string) (time.Duration, string) {
	switch {
	case flag != 0:
		return flag, "--duration"
	case set != 0:
		switch {
		case origin == "":
			return set, "set in the profile"
		case strings.HasPrefix(origin, "AWS_") || strings.HasPrefix(origin, "--"):
			return set, origin
		default:
			return set, "duration_seconds in " + origin
		}
	default:
		return def, defWhy
	}
}

func checkDuration(p *config.Profile, kind StepKind, d, maxD time.Duration) error {
	if d >= MinSTSDuration && d <= maxD {
		return nil
	}
	return &config.ConfigError{Kind: config.ErrInvalidDuration, Profile: p.Name,
		Msg:    fmt.Sprintf("%s duration %s is outside the %s..%s STS accepts", kind, FormatDuration(d), FormatDuration(MinSTSDuration), FormatDuration(maxD)),
		Advice: "pick a duration in that range with --duration, duration_seconds or the AWS_*_TTL variables"}
}

// tagsParam renders session tags in a stable order for cache keys.
func tagsParam(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(tags[k])
		b.WriteByte(',')
	}
	return b.String()
}

// FormatDuration prints 1h, 90m, 8h, 1h30m rather than Go's 1h0m0s.
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// mfaProcessFor is the first mfa_process among profiles that use the MFA
// device serial.
func mfaProcessFor(serial string, profiles ...*config.Profile) string {
	for _, p := range profiles {
		if p.MFASerial == serial && p.MFAProcess != "" {
			return p.MFAProcess
		}
	}
	return ""
}
