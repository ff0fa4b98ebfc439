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
	s.SetClockOffset(time.Duration(f.ClockOffsetSeconds) * time.Second)
	s.SetMaxSessionLifetime(time.Duration(f.MaxSessionLifetimeSeconds) * time.Second)
	s.SetKeyPropagationDelay(time.Duration(f.KeyPropagationDelaySeconds) * time.Second)
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
