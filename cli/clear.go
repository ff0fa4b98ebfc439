package cli

import (
	"fmt"

	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/keychain"
)

// ClearCmd removes cached sessions and IAM Identity Center sign-ins.
type ClearCmd struct {
	Profile string `arg:"" optional:"" help:"Only clear the sessions of this profile (and its IAM Identity Center sign-in). Default: all." predictor:"profile"`
	SSO     bool   `name:"sso" help:"Only forget IAM Identity Center sign-ins (all, or the profile's), keeping the STS sessions."`
}

// Help is shown by 'rolevault clear --help'.
func (c *ClearCmd) Help() string {
	return `Removes cached sessions, and IAM Identity Center sign-ins as aws-vault clear
does: the next command that needs one asks for an MFA code or signs in again.
Long-term access keys are never touched. To also end a sign-in at AWS, use
'rolevault sso logout'.`
}

// Run removes the sessions and sign-ins; long-term keys are never touched.
func (c *ClearCmd) Run(g *Globals) error {
	// The profile's sign-in, if its chain has one, comes from the config.
	var signIn *config.SSOSettings
	if c.Profile != "" {
		cfg, err := g.loadConfig()
		if err != nil {
			return err
		}
		// A profile that no longer resolves (or is gone) may still have
		// sessions to clear; it just has no sign-in to forget.
		if p, err := cfg.Resolve(c.Profile, config.Overrides{HasStoredKeys: g.hasStoredKey}); err == nil {
			for q := p; q != nil; q = q.Source {
				if q.SSO != nil {
					signIn = q.SSO
				}
			}
		}
	}
	ks, err := g.KeyStore()
	if err != nil {
		return err
	}
	sessions := 0
	if !c.SSO {
		if sessions, err = clearSessions(ks, c.Profile); err != nil {
			return err
		}
	}
	prov, err := g.newProvider(sessionFlags{})
	if err != nil {
		return err
	}
	signIns := 0
	switch {
	case c.Profile != "" && signIn != nil:
		had, err := prov.ForgetSSOSignIn(signIn)
		if err != nil {
			return err
		}
		if had {
			signIns++
		}
	case c.Profile == "":
		items, err := prov.SSOTokens.List()
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := prov.SSOTokens.Remove(it.Key); err != nil {
				return err
			}
			signIns++
		}
		// Sign-ins shared with the AWS CLI: its cache file is rolevault's too.
		if cfg, err := g.loadConfig(); err == nil {
			for _, name := range cfg.SSOSessionNames() {
				if s, err := cfg.SSOSession(name); err == nil && s.ShareCache {
					if _, err := prov.ForgetSSOSignIn(s); err != nil {
						return err
					}
				}
			}
		}
	}
	msg := fmt.Sprintf("Cleared %d %s", sessions, plural(sessions, "session", "sessions"))
	switch {
	case c.SSO:
		msg = fmt.Sprintf("Cleared %d IAM Identity Center %s", signIns, plural(signIns, "sign-in", "sign-ins"))
	case signIns > 0:
		msg += fmt.Sprintf(" and %d IAM Identity Center %s", signIns, plural(signIns, "sign-in", "sign-ins"))
	}
	fmt.Fprintln(g.streams.Err, msg+".")
	return nil
}

// clearSessions removes the cached STS and role sessions of profile, or all.
func clearSessions(ks *keychain.KeyStore, profile string) (int, error) {
	if profile != "" {
		return ks.RemoveSessions(profile)
	}
	items, err := ks.Sessions()
	if err != nil {
		return 0, err
	}
	cache := &keychain.SessionCache{Keyring: ks.Keyring, IndexDir: ks.SessionIndexDir}
	n := 0
	for _, it := range items {
		if err := cache.Remove(it.Name); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
