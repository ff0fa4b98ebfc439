package cli

import (
	"fmt"
	"strings"

	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/credentials"
)

// SSOCmd groups the commands about an IAM Identity Center sign-in itself,
// rather than a profile's credentials ([sso.md](../docs/sso.md)).
type SSOCmd struct {
	Login    SSOLoginCmd    `cmd:"" help:"Sign in to IAM Identity Center now (or renew the sign-in), for a profile or an sso-session."`
	Logout   SSOLogoutCmd   `cmd:"" help:"Sign out of IAM Identity Center: revoke the sign-in at AWS and forget its tokens and cached sessions."`
	Profiles SSOProfilesCmd `cmd:"" help:"Print, or --write to the config, a [profile …] section for every account and role you can use."`
}

// ssoTarget names the sign-in a command is about: a profile whose chain
// starts with IAM Identity Center, an [sso-session], or the only one.
type ssoTarget struct {
	Profile string `arg:"" optional:"" help:"A profile that signs in with IAM Identity Center (directly or as the source of its roles)." predictor:"profile"`
	Session string `name:"session" placeholder:"NAME" help:"The [sso-session NAME] of the config, instead of a profile."`
	Stdout  bool   `env:"AWS_VAULT_STDOUT" help:"Sign in with a code shown here instead of opening a browser."`
}

// resolve finds the sign-in and the profile whose endpoints its calls use.
func (t *ssoTarget) resolve(g *Globals) (*config.Config, *config.Profile, error) {
	g.ssoNoBrowser = t.Stdout
	if t.Profile != "" && t.Session != "" {
		return nil, nil, &hintedError{msg: fmt.Sprintf("both a profile (%s) and --session %s were given", t.Profile, t.Session),
			hint: "Name the sign-in once: a profile, or --session NAME."}
	}
	if t.Profile != "" {
		cfg, p, err := g.resolveProfile(t.Profile, sessionFlags{})
		if err != nil {
			return nil, nil, err
		}
		for q := p; q != nil; q = q.Source {
			if q.SSO != nil {
				return cfg, q, nil
			}
		}
		return nil, nil, &hintedError{msg: fmt.Sprintf("profile %q does not sign in with IAM Identity Center (no sso_session or sso_start_url in its chain)", t.Profile),
			hint: "Name a profile with sso_session (or sso_start_url), or --session NAME; 'rolevault explain " + t.Profile + "' shows its chain."}
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	name := t.Session
	if name == "" {
		names := cfg.SSOSessionNames()
		switch len(names) {
		case 0:
			return nil, nil, &hintedError{msg: "the config has no [sso-session] section",
				hint: fmt.Sprintf("Add one to %s: [sso-session NAME] with sso_start_url = https://…/start and sso_region = REGION, or name an SSO profile.", tildeHome(cfg.ConfigPath()))}
		case 1:
			name = names[0]
		default:
			return nil, nil, &hintedError{msg: "the config has several sso-sessions: " + strings.Join(names, ", "),
				hint: "Name one: --session NAME, or a profile that uses it."}
		}
	}
	p, err := cfg.ResolveSSOSession(name, config.Overrides{})
	if err != nil {
		return nil, nil, err
	}
	return cfg, p, nil
}

// ssoRun is what every sso command works with: the config, the profile
// whose sign-in and endpoints it is about, and a provider.
type ssoRun struct {
	cfg  *config.Config
	p    *config.Profile
	prov *credentials.Provider
}

// start resolves the sign-in and wires a provider; nothing is asked yet.
func (t *ssoTarget) start(g *Globals) (*ssoRun, error) {
	cfg, p, err := t.resolve(g)
	if err != nil {
		return nil, err
	}
	prov, err := g.newProvider(sessionFlags{})
	if err != nil {
		return nil, err
	}
	return &ssoRun{cfg: cfg, p: p, prov: prov}, nil
}

// describe names a sign-in in messages: its start URL and sso-session.
func describeSignIn(s *config.SSOSettings) string {
	if s.Session != "" {
		return fmt.Sprintf("%s (sso-session %s)", s.StartURL, s.Session)
	}
	return s.StartURL
}

// SSOLoginCmd signs in, or renews a sign-in, ahead of the commands that need it.
type SSOLoginCmd struct {
	ssoTarget
}

// Help is shown by 'rolevault sso login --help'.
func (c *SSOLoginCmd) Help() string {
	return `exec, export, login and the credential servers sign in by themselves when they
need to; this signs in ahead of them (before a long job, say). A valid sign-in is
left as it is; an expired one is renewed with its refresh token when there is one,
without a browser.`
}

// Run signs in.
func (c *SSOLoginCmd) Run(g *Globals) error {
	r, err := c.start(g)
	if err != nil {
		return err
	}
	p := r.p
	ctx, stop := interruptContext()
	defer stop()
	tok, err := r.prov.SSOAccessToken(ctx, p, p.SSO, "")
	if err != nil {
		return err
	}
	renew := "it is renewed without a browser while the sign-in lasts"
	if tok.RefreshToken == "" {
		renew = "there is no refresh token (a profile without sso_session signs in again when it expires)"
	}
	fmt.Fprintf(g.streams.Err, "Signed in to %s until %s; %s.\n", describeSignIn(p.SSO), tok.ExpiresAt.Local().Format("2006-01-02 15:04 MST"), renew)
	return nil
}

// SSOLogoutCmd signs out.
type SSOLogoutCmd struct {
	ssoTarget
}

// Help is shown by 'rolevault sso logout --help'.
func (c *SSOLogoutCmd) Help() string {
	return `Revokes the sign-in at IAM Identity Center (its access and refresh tokens
stop working there), then removes every token rolevault can find for it: its
own keyring item, aws-vault's oidc: item and the AWS CLI's cache file; and the
cached sessions of the profiles that use it. Role credentials already handed
to programs stay valid until they expire, as with the AWS CLI's sso logout.`
}

// Run signs out.
func (c *SSOLogoutCmd) Run(g *Globals) error {
	r, err := c.start(g)
	if err != nil {
		return err
	}
	p := r.p
	ctx, stop := interruptContext()
	defer stop()
	res, err := r.prov.SSOLogout(ctx, p, p.SSO)
	if err != nil {
		return err
	}
	sessions, err := g.forgetSessionsOf(r.cfg, p.SSO)
	if err != nil {
		return err
	}
	if len(res.Forgotten) == 0 && sessions == 0 {
		fmt.Fprintf(g.streams.Err, "Not signed in to %s; nothing to sign out of.\n", describeSignIn(p.SSO))
		return nil
	}
	what := []string{}
	if res.Revoked > 0 {
		what = append(what, "ended the sign-in at IAM Identity Center")
	}
	if len(res.Forgotten) > 0 {
		what = append(what, "forgot its tokens in "+strings.Join(res.Forgotten, ", "))
	}
	if sessions > 0 {
		what = append(what, fmt.Sprintf("removed %d cached %s", sessions, plural(sessions, "session", "sessions")))
	}
	fmt.Fprintf(g.streams.Err, "Signed out of %s: %s.\n", describeSignIn(p.SSO), strings.Join(what, "; "))
	if res.RevokeErr != nil {
		return &hintedError{
			msg: fmt.Sprintf("IAM Identity Center could not be told to end the sign-in (%v), so its token stays valid at AWS until %s", res.RevokeErr,
				res.ValidUntil.Local().Format("2006-01-02 15:04 MST")),
			hint: "Sign out in the AWS access portal (" + p.SSO.StartURL + ") to end it now; nothing here can use it any more.",
			err:  res.RevokeErr,
		}
	}
	return nil
}

// forgetSessionsOf removes the cached sessions of every profile whose chain
// signs in through s: they came from that sign-in.
func (g *Globals) forgetSessionsOf(cfg *config.Config, s *config.SSOSettings) (int, error) {
	var names []string
	for _, name := range cfg.ProfileNamesInFileOrder() {
		p, err := cfg.Resolve(name, config.Overrides{})
		if err != nil {
			continue // a broken profile has no sessions of this sign-in
		}
		for q := p; q != nil; q = q.Source {
			if q.SSO != nil && q.SSO.TokenName() == s.TokenName() && q.SSO.StartURL == s.StartURL {
				names = append(names, name)
				break
			}
		}
	}
	if len(names) == 0 {
		return 0, nil
	}
	ks, err := g.KeyStore()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		k, err := ks.RemoveSessions(name)
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// SSOProfilesCmd writes profiles for the accounts and roles of a sign-in.
type SSOProfilesCmd struct {
	ssoTarget
	Write      bool   `help:"Append the new sections to the AWS config file instead of printing them."`
	NameFormat string `name:"name-format" placeholder:"FORMAT" help:"How to name the profiles: {account_name}, {account_id}, {role_name}, {session}. Default: {account_name}-{role_name}."`
	Region     string `placeholder:"REGION" help:"The region = … of each new profile. Default: the sign-in's sso_region."`
}

// Help is shown by 'rolevault sso profiles --help'.
func (c *SSOProfilesCmd) Help() string {
	return `Signs in if needed, lists every account and role you can use through the
sign-in (ListAccounts and ListAccountRoles) and prints a [profile …] section for
each one the config does not already have (by any name, for the same account,
role and sign-in). With --write they are appended to the config; every existing
line stays as it is, and a name that is taken is left alone. The sign-in must be
an [sso-session]: profiles with only sso_start_url cannot be generated.`
}

// Run lists and writes.
func (c *SSOProfilesCmd) Run(g *Globals) error {
	if c.NameFormat != "" {
		// Checked before any sign-in: a bad format must not cost one.
		if err := config.CheckSSOProfileFormat(c.NameFormat); err != nil {
			return err
		}
	}
	r, err := c.start(g)
	if err != nil {
		return err
	}
	cfg, p, prov := r.cfg, r.p, r.prov
	if p.SSO.Session == "" {
		return &hintedError{msg: fmt.Sprintf("profile %q signs in with sso_start_url, not an [sso-session]", c.Profile),
			hint: "Move its sso_start_url and sso_region into an [sso-session NAME] section, set sso_session = NAME, and run this again; generated profiles name the session."}
	}
	ctx, stop := interruptContext()
	defer stop()
	assignments, err := prov.SSOAssignments(ctx, p, p.SSO)
	if err != nil {
		return err
	}
	region := c.Region
	if region == "" {
		region = p.SSO.Region
	}
	add, skip, err := cfg.PlanSSOProfiles(assignments, config.SSOProfileOptions{Session: p.SSO.Session, Region: region, Format: c.NameFormat})
	if err != nil {
		return err
	}
	for _, s := range skip {
		g.debugf("not adding %s in %s (%s): %s", s.RoleName, s.AccountID, s.AccountName, s.Reason)
	}
	if len(assignments) == 0 {
		fmt.Fprintf(g.streams.Err, "No accounts or roles are assigned to you through %s.\n", describeSignIn(p.SSO))
		return nil
	}
	if !c.Write {
		fmt.Fprint(g.streams.Out, config.FormatProfiles(add))
		fmt.Fprintf(g.streams.Err, "%d %s for %d %s; %d already in %s. Run again with --write to add them.\n",
			len(add), plural(len(add), "new profile", "new profiles"), len(assignments), plural(len(assignments), "role", "roles"), len(skip), tildeHome(cfg.ConfigPath()))
		return nil
	}
	if len(add) == 0 {
		fmt.Fprintf(g.streams.Err, "All %d %s already have a profile in %s; nothing added.\n", len(assignments), plural(len(assignments), "role", "roles"), tildeHome(cfg.ConfigPath()))
		return nil
	}
	if err := config.AppendProfiles(cfg.ConfigPath(), add); err != nil {
		return err
	}
	names := make([]string, len(add))
	for i, a := range add {
		names[i] = a.Name
	}
	fmt.Fprintf(g.streams.Err, "Added %d %s to %s: %s.\n", len(add), plural(len(add), "profile", "profiles"), tildeHome(cfg.ConfigPath()), strings.Join(names, ", "))
	return nil
}
