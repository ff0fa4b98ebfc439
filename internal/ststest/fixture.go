package ststest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"
)

// Fixture is the JSON form of an emulator's starting state, used by the
// standalone ststest command and make demo.
type Fixture struct {
	Users []FixtureUser `json:"users"`
	Roles []FixtureRole `json:"roles"`
	// Groups carry identity policies for their member users; see
	// PutGroupPolicy.
	Groups []FixtureGroup `json:"groups,omitempty"`
	// ClockOffsetSeconds skews the emulator's Date header and signature
	// check (see SetClockOffset).
	ClockOffsetSeconds int `json:"clockOffsetSeconds,omitempty"`
	// MaxSessionLifetimeSeconds, when set, caps every issued session (see
	// SetMaxSessionLifetime).
	MaxSessionLifetimeSeconds int `json:"maxSessionLifetimeSeconds,omitempty"`
	// KeyPropagationDelaySeconds delays keys made by CreateAccessKey.
	KeyPropagationDelaySeconds int `json:"keyPropagationDelaySeconds,omitempty"`
	// SSO is IAM Identity Center: instances, assignments and settings.
	SSO *FixtureSSO `json:"sso,omitempty"`
}

// FixtureSSO sets up IAM Identity Center (see AddSSOInstance and the
// SetSSO… methods). Lifetimes are in seconds; 0 keeps the default.
type FixtureSSO struct {
	Instances              []FixtureSSOInstance `json:"instances"`
	AccessTokenSeconds     int                  `json:"accessTokenSeconds,omitempty"`
	RefreshTokenSeconds    int                  `json:"refreshTokenSeconds,omitempty"`
	DeviceCodeSeconds      int                  `json:"deviceCodeSeconds,omitempty"`
	AuthCodeSeconds        int                  `json:"authCodeSeconds,omitempty"`
	RoleCredentialsSeconds int                  `json:"roleCredentialsSeconds,omitempty"`
	IntervalSeconds        int                  `json:"intervalSeconds,omitempty"`
	// Consent is SetSSOConsent's: "approve" (default), "deny" or "ignore".
	Consent string `json:"consent,omitempty"`
	// NoRefreshRotation keeps refresh tokens across refreshes.
	NoRefreshRotation bool `json:"noRefreshRotation,omitempty"`
	// PageSize is SetSSOPageSize's (default 20).
	PageSize int `json:"pageSize,omitempty"`
}

// FixtureSSOInstance is one instance and the permission sets its users
// are assigned.
type FixtureSSOInstance struct {
	StartURL string `json:"startUrl"`
	Region   string `json:"region"`
	// User is who signs in (default "alice").
	User        string                 `json:"user,omitempty"`
	Assignments []FixtureSSOAssignment `json:"assignments"`
}

// FixtureSSOAssignment gives a user (default: the instance's) a
// permission set in an account. Policies are the permission set's inline
// policies, put on its AWSReservedSSO_… role.
type FixtureSSOAssignment struct {
	AccountID   string                     `json:"accountId"`
	AccountName string                     `json:"accountName"`
	RoleName    string                     `json:"roleName"`
	User        string                     `json:"user,omitempty"`
	Policies    map[string]json.RawMessage `json:"policies,omitempty"`
}

// FixtureUser is an IAM user with fixed keys and MFA devices.
type FixtureUser struct {
	Account    string             `json:"account"`
	Name       string             `json:"name"`
	AccessKeys []FixtureAccessKey `json:"accessKeys"`
	MFADevices []FixtureMFADevice `json:"mfaDevices"`
	// Groups the user is a member of (in its account).
	Groups []string `json:"groups,omitempty"`
	// Policies are inline identity policies by name, as IAM JSON.
	Policies map[string]json.RawMessage `json:"policies,omitempty"`
}

// FixtureGroup is an IAM group with inline identity policies.
type FixtureGroup struct {
	Account  string                     `json:"account"`
	Name     string                     `json:"name"`
	Policies map[string]json.RawMessage `json:"policies"`
}

// FixtureAccessKey is a long-term key pair.
type FixtureAccessKey struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// FixtureMFADevice is a virtual MFA device; Secret is base32.
type FixtureMFADevice struct {
	Serial string `json:"serial"`
	Secret string `json:"secret"`
}

// FixtureRole mirrors RoleOptions.
type FixtureRole struct {
	Arn                       string   `json:"arn"`
	Trust                     []string `json:"trust"`
	RequireMFA                bool     `json:"requireMFA,omitempty"`
	ExternalID                string   `json:"externalId,omitempty"`
	MaxSessionDurationSeconds int      `json:"maxSessionDurationSeconds,omitempty"`
	WebIdentityTokens         []string `json:"webIdentityTokens,omitempty"`
	// TrustPolicy is the role's trust policy as IAM JSON, instead of
	// trust, requireMFA and externalId.
	TrustPolicy json.RawMessage `json:"trustPolicy,omitempty"`
	// Policies are the role's inline identity policies (role chaining).
	Policies map[string]json.RawMessage `json:"policies,omitempty"`
}

// LoadFixture reads a fixture file. Unknown fields are errors, so a typo
// in a fixture does not silently drop a requirement such as requireMFA.
func LoadFixture(path string) (*Fixture, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f Fixture
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("fixture %s: %w", path, err)
	}
	return &f, nil
}

// Apply adds the fixture's users, keys, devices and roles to s.
func (s *Server) Apply(f *Fixture) error {
	for _, u := range f.Users {
		s.mu.Lock()
		_, err := s.ensureUserLocked(u.Account, u.Name)
		s.mu.Unlock()
		if err != nil {
			return err
		}
		for _, k := range u.AccessKeys {
			if err := s.AddUserKey(u.Account, u.Name, k.AccessKeyID, k.SecretAccessKey); err != nil {
				return err
			}
		}
		for _, d := range u.MFADevices {
			if err := s.AddMFADeviceSecret(u.Account, u.Name, d.Serial, d.Secret); err != nil {
				return err
			}
		}
		for _, g := range u.Groups {
			if err := s.AddUserToGroup(u.Account, g, u.Name); err != nil {
				return err
			}
		}
		for _, name := range sortedNames(u.Policies) {
			if err := s.PutUserPolicy(u.Account, u.Name, name, string(u.Policies[name])); err != nil {
				return err
			}
		}
	}
	for _, g := range f.Groups {
		for _, name := range sortedNames(g.Policies) {
			if err := s.PutGroupPolicy(g.Account, g.Name, name, string(g.Policies[name])); err != nil {
				return err
			}
		}
	}
	for _, r := range f.Roles {
		err := s.AddRole(r.Arn, RoleOptions{
			Trust:              r.Trust,
			RequireMFA:         r.RequireMFA,
			ExternalID:         r.ExternalID,
			MaxSessionDuration: time.Duration(r.MaxSessionDurationSeconds) * time.Second,
			WebIdentityTokens:  r.WebIdentityTokens,
			TrustPolicy:        string(r.TrustPolicy),
		})
		if err != nil {
			return err
		}
		for _, name := range sortedNames(r.Policies) {
			if err := s.PutRolePolicy(r.Arn, name, string(r.Policies[name])); err != nil {
				return err
			}
		}
	}
	if f.SSO != nil {
		if err := s.applySSO(f.SSO); err != nil {
			return err
		}
	}
	s.SetClockOffset(time.Duration(f.ClockOffsetSeconds) * time.Second)
	s.SetMaxSessionLifetime(time.Duration(f.MaxSessionLifetimeSeconds) * time.Second)
	s.SetKeyPropagationDelay(time.Duration(f.KeyPropagationDelaySeconds) * time.Second)
	return nil
}

func (s *Server) applySSO(f *FixtureSSO) error {
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	s.SetSSOLifetimes(SSOLifetimes{AccessToken: sec(f.AccessTokenSeconds), RefreshToken: sec(f.RefreshTokenSeconds),
		DeviceCode: sec(f.DeviceCodeSeconds), AuthCode: sec(f.AuthCodeSeconds),
		RoleCredentials: sec(f.RoleCredentialsSeconds), Interval: sec(f.IntervalSeconds)})
	if f.Consent != "" {
		switch f.Consent {
		case "approve", "deny", "ignore":
			s.SetSSOConsent(f.Consent)
		default:
			return fmt.Errorf("ststest: sso consent %q: want approve, deny or ignore", f.Consent)
		}
	}
	s.SetSSORefreshRotation(!f.NoRefreshRotation)
	if f.PageSize > 0 {
		s.SetSSOPageSize(f.PageSize)
	}
	for _, in := range f.Instances {
		if in.StartURL == "" || in.Region == "" {
			return fmt.Errorf("ststest: sso instance needs startUrl and region")
		}
		s.AddSSOInstance(in.StartURL, in.Region)
		user := in.User
		if user == "" {
			user = "alice"
		}
		s.SetSSOUser(in.StartURL, user)
		for _, a := range in.Assignments {
			who := a.User
			if who == "" {
				who = user
			}
			arn, err := s.AddSSOUserAssignment(in.StartURL, who, a.AccountID, a.AccountName, a.RoleName)
			if err != nil {
				return err
			}
			for _, name := range sortedNames(a.Policies) {
				if err := s.PutRolePolicy(arn, name, string(a.Policies[name])); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func sortedNames(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
