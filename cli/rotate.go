package cli

import (
	"fmt"

	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/credentials"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/plan"
	"github.com/rolevault/rolevault/prompt"
)

// RotateCmd replaces a stored access key with a new one.
type RotateCmd struct {
	NoSession bool   `short:"n" help:"Call IAM with the stored key itself, not with an MFA session (for users whose policy does not require MFA)."`
	MFAToken  string `short:"t" name:"mfa-token" placeholder:"CODE" help:"The current MFA code, instead of being asked for it."`

	Profile string `arg:"" help:"Name of the profile whose stored key to rotate (for a role profile, the key of the profile its chain starts from)." predictor:"profile"`
}

// Help is shown under 'rolevault rotate --help'.
func (c *RotateCmd) Help() string {
	return `Creates a new access key for the IAM user, stores it in the keychain, waits
until AWS accepts it, then deletes the old key and the sessions cached from
it. If a step fails, the keychain keeps a key that works and the message says
which keys are active in AWS.

IAM is called with an MFA session when the profile (or the first role built on
it) has mfa_serial, since IAM refuses sessions without MFA; --no-session
calls it with the stored key itself.

  rolevault rotate login
  rolevault rotate dev          # rotates the key of dev's source profile`
}

// Run rotates the key.
func (c *RotateCmd) Run(g *Globals) error {
	f := sessionFlags{NoSession: c.NoSession, MFAToken: c.MFAToken}
	if c.MFAToken != "" {
		if _, err := prompt.ValidateCode(c.MFAToken); err != nil {
			return &hintedError{msg: fmt.Sprintf("--mfa-token: %v", err), hint: "Pass the 6-digit code your MFA device shows now.", err: err}
		}
	}
	cfg, p, err := g.resolveProfile(c.Profile, f)
	if err != nil {
		return err
	}
	pl, err := credentials.NewRotationPlan(p, plan.Options{NoSession: c.NoSession})
	if err != nil {
		return err
	}
	for _, n := range pl.Notes {
		g.debugf("rotate: %s", n)
	}
	ks, err := g.KeyStore()
	if err != nil {
		return err
	}
	prov, err := g.newProvider(f)
	if err != nil {
		return err
	}
	ctx, stop := interruptContext()
	defer stop()
	res, err := prov.Rotate(ctx, pl, ks, credentials.RotateOptions{
		Progress: func(format string, args ...any) { fmt.Fprintf(g.streams.Err, format+"\n", args...) },
	})
	if res != nil && res.Stored {
		// Sessions made with the old key would outlive it in the cache;
		// drop them even when the rotation stopped after storing.
		n, cerr := clearSessionsOf(cfg, ks, res.Profile)
		if cerr != nil {
			fmt.Fprintf(g.streams.Err, "rolevault: warning: clearing sessions cached with the old key: %v (run 'rolevault clear')\n", cerr)
		} else if n > 0 {
			fmt.Fprintf(g.streams.Err, "Cleared %d cached %s made with the old key\n", n, sessionsNoun(n))
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(g.streams.Err, "Done: profile %s now uses access key %s\n", res.Profile, res.NewKeyID)
	return nil
}

// clearSessionsOf removes the cached sessions of base and of every profile
// whose source chain starts at base: all of them were made with its key.
func clearSessionsOf(cfg *config.Config, ks *keychain.KeyStore, base string) (int, error) {
	items, err := ks.Sessions()
	if err != nil {
		return 0, err
	}
	profiles := []string{base}
	seen := map[string]bool{base: true}
	for _, it := range items {
		if seen[it.Profile] {
			continue
		}
		seen[it.Profile] = true
		if startsAt(cfg, it.Profile, base) {
			profiles = append(profiles, it.Profile)
		}
	}
	total := 0
	for _, name := range profiles {
		n, err := ks.RemoveSessions(name)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// startsAt reports whether profile's chain of source profiles ends at base.
// A profile that no longer resolves is left alone.
func startsAt(cfg *config.Config, profile, base string) bool {
	p, err := cfg.Resolve(profile, config.Overrides{})
	if err != nil {
		return false
	}
	for p.Source != nil {
		p = p.Source
	}
	return p.Name == base
}

func sessionsNoun(n int) string {
	if n == 1 {
		return "session"
	}
	return "sessions"
}
