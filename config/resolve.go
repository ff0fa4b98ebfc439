// Resolve and its per-call state; the parts of a resolution live in resolve_*.go.

package config

import (
	"fmt"
	"strings"
	"time"
)

// Overrides are the command-line flags that change a profile. They beat the
// environment, which beats the config files.
type Overrides struct {
	Region    string        // --region
	MFASerial string        // --mfa-serial, for the profile being resolved only
	Duration  time.Duration // --duration: AssumeRole, GetSessionToken and GetFederationToken durations of every profile in the chain, as aws-vault's base config does

	// HasStoredKeys, when set, lets a profile that no file defines resolve
	// anyway if the keyring holds keys under its name. aws-vault allows
	// `add NAME` without a config section, and people rely on that; without
	// this hook such a name is ErrProfileNotFound, never a fall-back to
	// [default]. It is consulted only for names missing from both files.
	HasStoredKeys func(profile string) bool

	// StoredKeyBesideFile, when set, is asked whether the keyring holds a key
	// under the name of a profile that also has keys written in a file. When
	// it does, the stored key is used and the file's copy is a leftover that
	// earns a warning: aws-vault never reads keys from the files, so a person
	// who moved to it (or to rolevault) keeps using the key they stored, and
	// the old one in ~/.aws/credentials is usually stale. It is consulted
	// only for profiles with file keys, so a warm run of any other profile
	// still reads exactly one keyring item; it must answer without a
	// passphrase or unlock prompt, and false when it cannot tell.
	StoredKeyBesideFile func(profile string) bool
}

// resolver carries the state of one Resolve call.
type resolver struct {
	c        *Config
	ov       Overrides
	target   string
	warnings []string
	seenWarn map[string]bool
}

func (r *resolver) warn(s string) {
	if r.seenWarn == nil {
		r.seenWarn = make(map[string]bool)
	}
	s = clipWords(s)
	if !r.seenWarn[s] {
		r.seenWarn[s] = true
		r.warnings = append(r.warnings, s)
	}
}

// Resolve builds the profile name with everything that feeds it: flags (ov),
// the environment, the profile's own keys, its include_profile chain and
// [default]; then resolves its source_profile the same way, recursively.
// A name no file defines is ErrProfileNotFound — never [default].
func (c *Config) Resolve(name string, ov Overrides) (*Profile, error) {
	r := &resolver{c: c, ov: ov, target: name}
	p, err := r.resolve(name, nil, nil)
	if err != nil {
		return nil, err
	}
	p.Warnings = r.warnings
	return p, nil
}

// referrer is the profile and key that led to resolving a name, so a missing
// source names the place that mentions it.
type referrer struct {
	profile string
	val     rawValue
	key     string
}

func (r *resolver) resolve(name string, chain []string, ref *referrer) (*Profile, error) {
	for i, n := range chain {
		if n == name {
			cycle := append(append([]string{}, chain[i:]...), name)
			return nil, r.errAt(ErrSourceProfileCycle, ref.profile, ref.key, ref.val,
				"source_profile cycle "+clip(strings.Join(cycle, " → ")),
				"break the cycle: the last profile of a source_profile chain must hold keys (stored with 'rolevault add', credential_process, sso_*, …)")
		}
	}
	vals, file, err := r.collect(name, ref)
	if err != nil {
		return nil, err
	}
	p, err := r.build(name, file, vals)
	if err != nil {
		return nil, err
	}
	if p.SourceProfileName != "" {
		src, err := r.resolve(p.SourceProfileName, append(chain, name), &referrer{profile: name, val: vals[keySourceProfile], key: keySourceProfile})
		if err != nil {
			return nil, err
		}
		p.Source = src
	}
	return p, nil
}

func (r *resolver) hasStoredKeys(name string) bool {
	return r.ov.HasStoredKeys != nil && r.ov.HasStoredKeys(name)
}

// errAt builds a ConfigError located where v came from: a file line, or the
// environment variable or flag.
func (r *resolver) errAt(kind error, profile, key string, v rawValue, msg, advice string) *ConfigError {
	e := &ConfigError{Kind: kind, Profile: profile, Msg: msg, Advice: advice}
	switch {
	case v.env != "":
		e.Key = v.env
		if !strings.Contains(msg, v.env) {
			e.Msg = msg + " (from " + v.env + ")"
		}
	case v.file != "":
		e.File = v.file
		e.Key = key
		if key != "" {
			e.Line = r.c.lineOf(v.file, sectionProfile, v.profile, key)
		} else {
			e.Line = r.c.lineOf(v.file, sectionProfile, v.profile, "")
		}
		if v.via != "" && v.profile != profile {
			if v.via == "[default]" {
				e.Msg += " (inherited from [default])"
			} else {
				e.Msg += fmt.Sprintf(" (from %s %q)", v.via, v.profile)
			}
		}
	default:
		e.File = r.c.config.path
		e.Line = r.c.lineOf(e.File, sectionProfile, profile, "")
		e.Key = key
	}
	return e
}

func (r *resolver) notFound(name string, ref *referrer) error {
	c := r.c
	if ref == nil {
		return &ConfigError{Kind: ErrProfileNotFound,
			Msg:    fmt.Sprintf("profile %q is not defined in %s or %s", clip(name), c.config.path, c.credentials.path),
			Advice: r.didYouMean(name, "run 'rolevault list --profiles' to see the profiles, or 'rolevault add "+name+"' to store keys for it")}
	}
	e := r.errAt(ErrSourceProfileNotFound, ref.profile, ref.key, ref.val,
		fmt.Sprintf("source_profile names profile %q, which is not defined", clip(name)), "")
	e.Advice = r.didYouMean(name, "define [profile "+name+"] (and store its keys with 'rolevault add "+name+"'), or fix the name")
	return e
}

func (r *resolver) didYouMean(name, otherwise string) string {
	if s := suggest(name, r.c.ProfileNames()); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return otherwise
}
