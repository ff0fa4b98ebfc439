package ststest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Kind says which STS call issued a session.
type Kind string

// The kinds of temporary credentials the emulator issues.
const (
	KindSessionToken    Kind = "GetSessionToken"
	KindAssumeRole      Kind = "AssumeRole"
	KindFederationToken Kind = "GetFederationToken"
	KindWebIdentity     Kind = "AssumeRoleWithWebIdentity"
)

// Session is what the emulator remembers about one set of temporary
// credentials, so tests can check what the client under test asked for.
type Session struct {
	Kind            Kind
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Issued          time.Time
	Expiration      time.Time
	// RequestedDuration is what the client asked for (or the action's
	// default); Expiration-Issued can be shorter because of
	// SetMaxSessionLifetime.
	RequestedDuration time.Duration

	Account string
	Arn     string // the identity GetCallerIdentity reports for these credentials
	UserID  string // GetCallerIdentity's UserId

	CallerArn         string // who asked for the session
	CallerAccessKeyID string // the key the request was signed with
	UserName          string // the IAM user at the root of the chain, if any

	RoleArn         string
	RoleSessionName string
	FederatedName   string
	ExternalID      string
	Policy          string
	PolicyArns      []string

	// MFA is true when MFA was proven in this call or inherited from the
	// caller's session, which is what aws:MultiFactorAuthPresent means.
	MFA       bool
	MFASerial string
	// MFAAuthenticated is when that MFA code was checked; aws:MultiFactorAuthAge
	// counts from it along the whole chain.
	MFAAuthenticated time.Time

	SourceIdentity    string
	Tags              map[string]string
	TransitiveTagKeys []string
	// Chained is true when the session was requested with temporary
	// credentials. AWS applies its one-hour "role chaining" limit to every
	// such AssumeRole, including ones signed with GetSessionToken
	// credentials.
	Chained bool
	// Parent is the access key ID of the temporary credentials the request
	// was signed with, "" for long-term keys.
	Parent string
}

// RoleOptions configures a role's trust policy, reduced to what credential
// helpers exercise.
type RoleOptions struct {
	// Trust lists principal ARNs allowed to assume the role: a user
	// (arn:aws:iam::A:user/N), an account root (arn:aws:iam::A:root, any
	// principal of account A), a role (arn:aws:iam::A:role/N, its sessions:
	// role chaining), an assumed-role session ARN, or "*".
	Trust []string
	// RequireMFA adds the aws:MultiFactorAuthPresent condition.
	RequireMFA bool
	// ExternalID adds the sts:ExternalId condition.
	ExternalID string
	// TrustPolicy, when set, is the role's trust policy as IAM JSON (see
	// policy.go for the subset emulated); Trust, RequireMFA and ExternalID
	// must then be empty.
	TrustPolicy string
	// MaxSessionDuration is the role's setting, 1h (the default) to 12h.
	MaxSessionDuration time.Duration
	// WebIdentityTokens are the tokens AssumeRoleWithWebIdentity accepts
	// for this role. A token that is a JWT has its iss, sub, aud and exp
	// claims honoured; its signature is not checked.
	WebIdentityTokens []string
}

// AccessKey is an IAM user's long-term key as the emulator stores it.
type AccessKey struct {
	AccessKeyID     string
	SecretAccessKey string
	UserName        string
	Account         string
	Status          string
	Created         time.Time
	// Usable is when the key starts to authenticate; see
	// SetKeyPropagationDelay.
	Usable time.Time
	// LastUsed, LastUsedService and LastUsedRegion are what
	// GetAccessKeyLastUsed reports: the newest request signed with the key.
	LastUsed        time.Time
	LastUsedService string
	LastUsedRegion  string
}

type user struct {
	account, name, id string
	created           time.Time
	keys              []*AccessKey
	mfa               []*mfaDevice
	groups            []string
}

func (u *user) arn() string { return "arn:aws:iam::" + u.account + ":user/" + u.name }

type mfaDevice struct {
	serial  string
	secret  []byte
	owner   *user
	enabled time.Time
	// lastStep is the newest TOTP time step accepted. Like AWS, a code is
	// good once: the same or an older step is refused afterwards.
	lastStep int64
}

type role struct {
	arn, account, name, id string
	created                time.Time
	opts                   RoleOptions
	trust                  *policyDoc // parsed opts.TrustPolicy, nil without one
}

var (
	accountRE   = regexp.MustCompile(`^\d{12}$`)
	iamNameRE   = regexp.MustCompile(`^[\w+=,.@-]+$`)
	roleArnRE   = regexp.MustCompile(`^arn:aws:iam::(\d{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})$`)
	rootArnRE   = regexp.MustCompile(`^arn:aws:iam::(\d{12}):root$`)
	serialArnRE = regexp.MustCompile(`^arn:aws:iam::(\d{12}):mfa/(?:[\x21-\x7e]*/)?[\w+=,.@-]+$`)
)

func parseRoleArn(arn string) (account, name string, ok bool) {
	m := roleArnRE.FindStringSubmatch(arn)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

func userKey(account, name string) string { return account + "/" + name }

// AddUser creates IAM user name in account (or reuses it) and gives it a
// fresh long-term access key, returned with its secret. It panics on a
// malformed account or name, as a test setup mistake.
func (s *Server) AddUser(account, name string) (accessKeyID, secretAccessKey string) {
	id, secret := newLongTermKeyID(), newSecret()
	if err := s.AddUserKey(account, name, id, secret); err != nil {
		panic(err)
	}
	return id, secret
}

// AddUserKey is AddUser with a key chosen by the caller (fixtures use fixed
// keys). AWS's limit of two keys per user applies.
func (s *Server) AddUserKey(account, name, accessKeyID, secretAccessKey string) error {
	if !strings.HasPrefix(accessKeyID, "AKIA") || len(accessKeyID) < 16 || len(accessKeyID) > 128 {
		return fmt.Errorf("ststest: access key id %q: want AKIA… of 16 to 128 characters", accessKeyID)
	}
	if len(secretAccessKey) != 40 {
		return fmt.Errorf("ststest: secret for %s: want 40 characters, got %d", accessKeyID, len(secretAccessKey))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.ensureUserLocked(account, name)
	if err != nil {
		return err
	}
	if _, dup := s.keys[accessKeyID]; dup {
		return fmt.Errorf("ststest: access key %s already exists", accessKeyID)
	}
	if len(u.keys) >= maxKeysPerUser {
		return fmt.Errorf("ststest: user %s already has %d access keys", u.arn(), maxKeysPerUser)
	}
	now := s.now()
	k := &AccessKey{AccessKeyID: accessKeyID, SecretAccessKey: secretAccessKey, UserName: name,
		Account: account, Status: "Active", Created: now, Usable: now}
	u.keys = append(u.keys, k)
	s.keys[accessKeyID] = k
	return nil
}

func (s *Server) ensureUserLocked(account, name string) (*user, error) {
	if !accountRE.MatchString(account) {
		return nil, fmt.Errorf("ststest: account %q: want 12 digits", account)
	}
	if len(name) > 64 || !iamNameRE.MatchString(name) {
		return nil, fmt.Errorf("ststest: user name %q is not a valid IAM user name", name)
	}
	if u := s.users[userKey(account, name)]; u != nil {
		return u, nil
	}
	u := &user{account: account, name: name, id: newUserID(), created: s.now()}
	s.users[userKey(account, name)] = u
	return u, nil
}

// AddMFADevice gives the user (created if needed) a virtual MFA device
// arn:aws:iam::ACCOUNT:mfa/NAME and returns its serial and base32 secret.
// Compute codes with TOTP(secret, s.Now()).
func (s *Server) AddMFADevice(account, name string) (serial, secret string) {
	serial = "arn:aws:iam::" + account + ":mfa/" + name
	secret = NewTOTPSecret()
	if err := s.AddMFADeviceSecret(account, name, serial, secret); err != nil {
		panic(err)
	}
	return serial, secret
}

// AddMFADeviceSecret attaches a virtual MFA device with a known serial and
// base32 secret to the user (created if needed).
func (s *Server) AddMFADeviceSecret(account, name, serial, secret string) error {
	key, err := decodeTOTPSecret(secret)
	if err != nil || len(key) == 0 {
		return fmt.Errorf("ststest: MFA secret for %s is not base32", serial)
	}
	if m := serialArnRE.FindStringSubmatch(serial); m == nil || m[1] != account {
		return fmt.Errorf("ststest: MFA serial %q: want arn:aws:iam::%s:mfa/NAME", serial, account)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.mfa[serial]; dup {
		return fmt.Errorf("ststest: MFA device %s already exists", serial)
	}
	u, err := s.ensureUserLocked(account, name)
	if err != nil {
		return err
	}
	d := &mfaDevice{serial: serial, secret: key, owner: u, enabled: s.now()}
	u.mfa = append(u.mfa, d)
	s.mfa[serial] = d
	return nil
}

// AddRole creates the role arn (arn:aws:iam::ACCOUNT:role/NAME), replacing
// any role with that ARN.
func (s *Server) AddRole(arn string, opts RoleOptions) error {
	account, name, ok := parseRoleArn(arn)
	if !ok {
		return fmt.Errorf("ststest: role ARN %q: want arn:aws:iam::ACCOUNT:role/NAME", arn)
	}
	if opts.MaxSessionDuration == 0 {
		opts.MaxSessionDuration = time.Hour
	}
	if opts.MaxSessionDuration < time.Hour || opts.MaxSessionDuration > 12*time.Hour {
		return fmt.Errorf("ststest: role %s: MaxSessionDuration %v is outside AWS's 1h..12h", arn, opts.MaxSessionDuration)
	}
	var trust *policyDoc
	if opts.TrustPolicy != "" {
		if len(opts.Trust) > 0 || opts.RequireMFA || opts.ExternalID != "" {
			return fmt.Errorf("ststest: role %s: TrustPolicy replaces Trust, RequireMFA and ExternalID; set one or the other", arn)
		}
		p, err := parsePolicy(opts.TrustPolicy)
		if err != nil {
			return fmt.Errorf("ststest: role %s trust policy: %w", arn, err)
		}
		for i, st := range p.statements {
			if st.principals == nil {
				return fmt.Errorf("ststest: role %s trust policy statement %d has no Principal", arn, i+1)
			}
		}
		trust = p
	}
	opts.Trust = slices.Clone(opts.Trust)
	opts.WebIdentityTokens = slices.Clone(opts.WebIdentityTokens)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[arn] = &role{arn: arn, account: account, name: name, id: newRoleID(), created: s.now(), opts: opts, trust: trust}
	return nil
}

// DeleteAccessKey removes a long-term key as if an administrator had deleted
// it; requests signed with it then fail with InvalidClientTokenId. It
// reports whether the key existed.
func (s *Server) DeleteAccessKey(accessKeyID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleteKeyLocked(accessKeyID)
}

func (s *Server) deleteKeyLocked(accessKeyID string) bool {
	k := s.keys[accessKeyID]
	if k == nil {
		return false
	}
	delete(s.keys, accessKeyID)
	if u := s.users[userKey(k.Account, k.UserName)]; u != nil {
		u.keys = slices.DeleteFunc(u.keys, func(x *AccessKey) bool { return x == k })
	}
	return true
}

// AccessKeys lists the user's long-term keys, oldest first.
func (s *Server) AccessKeys(account, name string) []AccessKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userKey(account, name)]
	if u == nil {
		return nil
	}
	out := make([]AccessKey, 0, len(u.keys))
	for _, k := range u.keys {
		out = append(out, *k)
	}
	return out
}

// Session returns what the emulator recorded about the temporary credentials
// with this access key ID.
func (s *Server) Session(accessKeyID string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[accessKeyID]
	if ss == nil {
		return Session{}, false
	}
	return cloneSession(ss), true
}

// Sessions returns every session issued so far, oldest first.
func (s *Server) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Session, 0, len(s.sessionOrder))
	for _, id := range s.sessionOrder {
		out = append(out, cloneSession(s.sessions[id]))
	}
	return out
}

func cloneSession(ss *Session) Session {
	c := *ss
	c.PolicyArns = slices.Clone(ss.PolicyArns)
	c.TransitiveTagKeys = slices.Clone(ss.TransitiveTagKeys)
	if ss.Tags != nil {
		c.Tags = make(map[string]string, len(ss.Tags))
		for k, v := range ss.Tags {
			c.Tags[k] = v
		}
	}
	return c
}

// SetAccessKeyCreated backdates (or postdates) a long-term key's creation
// time, the CreateDate ListAccessKeys reports, as for a key made long ago.
// It reports whether the key exists.
func (s *Server) SetAccessKeyCreated(accessKeyID string, created time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[accessKeyID]
	if k == nil {
		return false
	}
	k.Created = created
	return true
}
