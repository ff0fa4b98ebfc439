package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/console"
	"github.com/rolevault/rolevault/credentials"
	"github.com/rolevault/rolevault/plan"
	"github.com/rolevault/rolevault/prompt"
)

// LoginCmd opens the AWS console signed in with a profile's credentials, or
// prints the console's switch-role link for a profile's role.
type LoginCmd struct {
	// The session flags, with login's own help: there is no child here,
	// and the duration also sets the console session's length.
	Duration   time.Duration `short:"d" env:"AWS_VAULT_DURATION" placeholder:"1h" help:"Duration of the assume-role or federated session (e.g. 1h, 90m); for a role it also sets how long the console session lasts. Default: 1h."`
	NoSession  bool          `short:"n" help:"Skip the GetSessionToken MFA session when assuming the role; use the stored keys directly (with MFA on the AssumeRole)."`
	MFAToken   string        `short:"t" name:"mfa-token" placeholder:"CODE" help:"The current MFA code, instead of being asked for it."`
	Path       string        `placeholder:"PATH" help:"Console page to open instead of the console home, e.g. ec2/home or s3/buckets (or a full https:// console URL)."`
	Region     string        `placeholder:"REGION" help:"The AWS region: picks the console's partition and the region it opens in (overrides region in the profile)."`
	Stdout     bool          `short:"s" env:"AWS_VAULT_STDOUT" help:"Print the login URL to stdout instead of opening it in the default browser (and sign in to IAM Identity Center with a code, not a browser tab)."`
	SwitchRole bool          `name:"switch-role" help:"Print or open the console's Switch Role link for the profile's role_arn, for a console you are already signed in to. Uses no credentials and no network."`

	Profile string `arg:"" optional:"" help:"Name of the profile (from ~/.aws/config). If none given, the credentials in the environment are used (e.g. inside 'rolevault exec')." predictor:"profile"`

	resolved *config.Profile // the profile signed in with, for its ca_bundle
}

// credentialFlags are login's flags in the form the credential setup takes.
func (c *LoginCmd) credentialFlags() sessionFlags {
	return sessionFlags{Duration: c.Duration, NoSession: c.NoSession, Region: c.Region, MFAToken: c.MFAToken}
}

// Help is shown under 'rolevault login --help'.
func (c *LoginCmd) Help() string {
	return `Examples:
  rolevault login prod                   # the console, signed in as prod's role
  rolevault login prod --path ec2/home   # straight to a service
  rolevault login prod --stdout          # print the login URL instead
  rolevault login login                  # an IAM user: via GetFederationToken
  rolevault login --switch-role prod     # the console's Switch Role link

A role profile signs in with its role session. An IAM user signs in with a
GetFederationToken session, which cannot carry MFA: for MFA in the console,
sign in through a role. The login URL signs in whoever opens it for the next
15 minutes; treat it like a password.

Switch Role links colour the console's banner with the profile's
rolevault_color key (red, orange, yellow, green, blue or six hex digits).`
}

// Run signs in, or prints the switch-role link.
func (c *LoginCmd) Run(g *Globals) error {
	if c.SwitchRole {
		return c.switchRole(g)
	}
	ctx, stop := interruptContext()
	defer stop()

	var (
		creds    aws.Credentials
		region   string
		duration time.Duration // SessionDuration for getSigninToken; 0 sends none
		kind     plan.StepKind
		err      error
	)
	if c.Profile == "" {
		c.Profile, _ = lookupEnv("AWS_PROFILE") // as aws-vault: the profile when none is named
	}
	if c.Profile == "" {
		creds, region, err = c.environmentCredentials(ctx, g)
		kind = plan.StepEnvironment
	} else {
		creds, region, duration, kind, err = c.profileCredentials(ctx, g)
	}
	if err != nil {
		return err
	}

	endpoint, err := console.FederationEndpoint(region, lookupEnv)
	if err != nil {
		return &hintedError{msg: err.Error(), hint: "Set the profile's region to a region of the aws, aws-cn or aws-us-gov partition.", err: err}
	}
	dest, err := console.ConsoleDestination(region, c.Path)
	if err != nil {
		return &hintedError{msg: err.Error(), hint: "Pass a console path such as ec2/home, or a full https:// console URL.", err: err}
	}
	// The sign-in request trusts the CAs the STS calls trusted: AWS_CA_BUNDLE,
	// else the profile's ca_bundle.
	hc, err := credentials.NewProfileHTTPClient(lookupEnv, c.resolved)
	if err != nil {
		return err
	}
	if creds.CanExpire {
		g.debugf("credentials for the console expire at %s", creds.Expires.Format(time.RFC3339))
	}
	token, err := console.GetSigninToken(ctx, hc, endpoint, creds, duration)
	if err != nil {
		return signinError(err, kind, duration)
	}
	return c.deliverSignin(ctx, g, console.LoginURL(endpoint, dest, token))
}

// profileCredentials fetches the credentials of c.Profile in a form the
// console accepts: a role session as it is, an IAM user's keys turned into a
// federation token. A GetSessionToken session is never handed over: the
// federation endpoint refuses it (aws-vault #1191).
func (c *LoginCmd) profileCredentials(ctx context.Context, g *Globals) (creds aws.Credentials, region string, duration time.Duration, kind plan.StepKind, err error) {
	g.ssoNoBrowser = c.Stdout
	setup, err := g.setupCredentials(c.Profile, c.credentialFlags(), plan.Options{Federation: true})
	if err != nil {
		return creds, "", 0, "", err
	}
	c.resolved = setup.profile
	last := setup.plan.Steps[len(setup.plan.Steps)-1]
	kind = last.Kind
	switch kind {
	case plan.StepAssumeRole, plan.StepWebIdentity:
		// AWS takes SessionDuration only for role sessions. It is sent only
		// when asked for, and as the role session's own duration: that is
		// already capped at 1h where the plan chains roles, which is the
		// console's limit for chained sessions too.
		if c.Duration != 0 {
			duration = last.Duration
			if duration < c.Duration {
				fmt.Fprintf(g.streams.Err, "rolevault: the console session is limited to %s (%s)\n", plan.FormatDuration(duration), last.DurationReason)
			}
		}
	case plan.StepSSO:
		if c.Duration != 0 {
			if c.Duration < 15*time.Minute || c.Duration > 12*time.Hour {
				return creds, "", 0, "", &hintedError{msg: fmt.Sprintf("--duration %s is outside the 15m..12h a console session can last", plan.FormatDuration(c.Duration)), hint: "Pick a duration between 15m and 12h."}
			}
			duration = c.Duration
		}
	case plan.StepGetFederationToken:
		if serial := chainMFASerial(setup.profile); serial != "" {
			fmt.Fprintf(g.streams.Err, "rolevault: note: profile %s names MFA device %s, but a console session from GetFederationToken cannot carry MFA, so pages that require MFA will deny you; for MFA in the console, sign in through a role whose trust policy requires MFA (a profile with role_arn and source_profile = %s)\n",
				setup.profile.Name, serial, last.Profile)
		}
	case plan.StepGetSessionToken:
		// NewPlan with Federation never ends here; refuse rather than send
		// the endpoint credentials it is known to reject.
		return creds, "", 0, "", &hintedError{
			msg:  fmt.Sprintf("profile %q resolves to a GetSessionToken session, which the AWS console does not accept", c.Profile),
			hint: "Sign in through a role (role_arn) instead.",
		}
	}
	creds, err = setup.retrieve(ctx)
	if err != nil {
		return creds, "", 0, "", err
	}
	if creds.SessionToken == "" {
		// credential_process or credential_source = Environment handed over
		// long-term keys, which the plan could not know in advance.
		return creds, "", 0, "", &hintedError{
			msg:  fmt.Sprintf("profile %q gives long-term keys from %s, and the AWS console accepts only role sessions and federation tokens", c.Profile, kind),
			hint: fmt.Sprintf("Store the keys with 'rolevault add %s' (login then uses GetFederationToken), or give the profile a role_arn.", c.Profile),
		}
	}
	return creds, setup.region(), duration, kind, nil
}

// environmentCredentials signs in with the credentials in the environment,
// as aws-vault does without a profile: temporary ones as they are (inside
// 'rolevault exec' they are the profile's role session), long-term keys
// through a federation token.
func (c *LoginCmd) environmentCredentials(ctx context.Context, g *Globals) (aws.Credentials, string, error) {
	id, _ := lookupEnv("AWS_ACCESS_KEY_ID")
	secret, _ := lookupEnv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.Credentials{}, "", &hintedError{
			msg:  "no profile given, and no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
			hint: "Run 'rolevault login PROFILE', or run login inside 'rolevault exec PROFILE'.",
		}
	}
	token, _ := lookupEnv("AWS_SESSION_TOKEN")
	region := firstEnvValue("AWS_REGION", "AWS_DEFAULT_REGION")
	if c.Region != "" {
		region = c.Region
	}
	if c.Duration != 0 && token != "" {
		fmt.Fprintln(g.streams.Err, "rolevault: --duration is ignored for temporary credentials from the environment: their kind is unknown, and AWS takes a console duration only for role sessions")
	}
	if c.MFAToken != "" {
		if _, err := prompt.ValidateCode(c.MFAToken); err != nil {
			return aws.Credentials{}, "", &hintedError{msg: fmt.Sprintf("--mfa-token: %v", err), hint: "Pass the 6-digit code your MFA device shows now.", err: err}
		}
	}
	if v, ok := lookupEnv("AWS_VAULT"); ok && v != "" {
		g.debugf("signing in with the credentials of profile %s from the environment", v)
	}
	pl, err := plan.ForEnvironmentLogin(region, firstEnvValue("AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"), token == "", c.Duration)
	if err != nil {
		return aws.Credentials{}, "", err
	}
	prov, err := g.newProvider(c.credentialFlags())
	if err != nil {
		return aws.Credentials{}, "", err
	}
	creds, err := prov.Retrieve(ctx, pl)
	return creds, region, err
}

// switchRole prints or opens the console's switch-role link. It reads only
// the config: no keyring, no network, no credentials.
func (c *LoginCmd) switchRole(g *Globals) error {
	if c.Profile == "" {
		return &hintedError{msg: "--switch-role needs a profile with a role_arn", hint: "Run 'rolevault login --switch-role PROFILE'."}
	}
	if c.Path != "" {
		return &hintedError{msg: "--path cannot be used with --switch-role: the console opens the page you switch from", hint: "Drop --path."}
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	p, err := cfg.Resolve(c.Profile, config.Overrides{Region: c.Region})
	if err != nil {
		return err
	}
	if p.RoleARN == "" {
		return &hintedError{
			msg:  fmt.Sprintf("profile %q has no role_arn, so there is no role to switch to", c.Profile),
			hint: fmt.Sprintf("Use 'rolevault login %s' to sign in with its credentials, or pick a profile with role_arn.", c.Profile),
		}
	}
	if p.ExternalID != "" {
		fmt.Fprintf(g.streams.Err, "rolevault: warning: profile %s sets external_id, and the console cannot switch to a role that requires one\n", p.Name)
	}
	raw, _, err := cfg.ProfileSetting(p.Name, console.ColorKey)
	if err != nil {
		return err
	}
	color, err := console.ConsoleColor(raw)
	if err != nil {
		return &hintedError{msg: fmt.Sprintf("profile %q in %s: %v", p.Name, cfg.ConfigPath(), err), hint: "The console only offers red, orange, yellow, green and blue.", err: err}
	}
	u, err := console.SwitchRoleURL(p.RoleARN, p.Name, color)
	if err != nil {
		return &hintedError{msg: fmt.Sprintf("profile %q: %v", p.Name, err), hint: "Switch Role in the console needs a role in the aws, aws-cn or aws-us-gov partition.", err: err}
	}
	return c.deliver(g, u)
}

// loginLinkWait is how long the one-time sign-in link waits for the browser.
const loginLinkWait = 2 * time.Minute

// deliver opens a URL that holds no secret (a switch-role link) in the
// browser, or prints it with --stdout or when no browser opens.
func (c *LoginCmd) deliver(g *Globals, u string) error {
	if c.Stdout {
		fmt.Fprintln(g.streams.Out, u)
		return nil
	}
	if err := openBrowser(u); err != nil {
		fmt.Fprintf(g.streams.Err, "rolevault: %s; open this URL yourself:\n", openerFailure(err))
		fmt.Fprintln(g.streams.Out, u)
	}
	return nil
}

// deliverSignin hands the sign-in URL to the browser through a one-time
// loopback link, so the SigninToken is in no process's argv, and waits for
// the browser to follow it. --stdout prints the real URL instead.
func (c *LoginCmd) deliverSignin(ctx context.Context, g *Globals, u string) error {
	if c.Stdout {
		fmt.Fprintln(g.streams.Out, u)
		return nil
	}
	rerun := "rolevault login --stdout"
	if c.Profile != "" {
		rerun += " " + c.Profile
	}
	link, err := console.NewOneTimeLink(u)
	if err != nil {
		return &hintedError{msg: err.Error(), hint: fmt.Sprintf("Run '%s' to print the sign-in URL instead.", rerun), err: err}
	}
	if err := openBrowser(link.URL); err != nil {
		link.Close()
		// One line: what happened and how to get the URL.
		return &hintedError{msg: fmt.Sprintf("%s; run '%s' to print the sign-in URL instead", openerFailure(err), rerun), err: err}
	}
	// The link's path is as good as the sign-in token until it is used:
	// name only where it listens.
	g.debugf("waiting up to %s for the browser to open the one-time link on %s", plan.FormatDuration(loginLinkWait), link.Addr())
	switch err := link.Wait(ctx, loginLinkWait); {
	case err == nil:
		return nil
	case errors.Is(err, console.ErrLinkExpired):
		return &hintedError{msg: fmt.Sprintf("the browser did not open the sign-in link within %s, so it is closed now; run '%s' to print the sign-in URL instead",
			plan.FormatDuration(loginLinkWait), rerun), err: err}
	default:
		fmt.Fprintln(g.streams.Err, "rolevault: interrupted while waiting for the browser to open the sign-in link")
		return &ExitCodeError{Code: 130}
	}
}

// signinError explains a refusal from the federation endpoint by the kind of
// session that was presented.
func signinError(err error, kind plan.StepKind, duration time.Duration) error {
	var se *console.SigninError
	if !errors.As(err, &se) {
		return &hintedError{msg: err.Error(), hint: "Check your network or proxy settings (and " + console.FederationURLEnv + " if you set it).", err: err}
	}
	hint := "Run with --debug for details."
	switch {
	case duration != 0:
		hint = "AWS refused the console session length: a role assumed with temporary credentials allows at most 1h. Try without --duration."
	case kind == plan.StepEnvironment || kind == plan.StepCredentialProcess || kind == plan.StepCredentialsFile:
		hint = "The console accepts only role sessions and federation tokens, not GetSessionToken sessions or long-term keys: sign in with a role profile."
	case kind == plan.StepGetFederationToken:
		hint = "Run 'rolevault clear' to drop the cached federation token, and try again."
	}
	return &hintedError{msg: "console sign-in refused: " + err.Error(), hint: hint, err: err}
}

// chainMFASerial is the first mfa_serial along p's source chain.
func chainMFASerial(p *config.Profile) string {
	for q := p; q != nil; q = q.Source {
		if q.MFASerial != "" {
			return q.MFASerial
		}
	}
	return ""
}

func firstEnvValue(names ...string) string {
	for _, n := range names {
		if v, ok := lookupEnv(n); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
