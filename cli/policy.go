package cli

import (
	"fmt"
	"time"

	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/credentials"
	"github.com/rolevault/rolevault/iampolicy"
	"github.com/rolevault/rolevault/plan"
)

// PolicyCmd prints the IAM policies a profile's chain needs, from the
// config and the plan alone: no network, no secrets, no keyring.
type PolicyCmd struct {
	Profiles  []string      `arg:"" optional:"" help:"The profiles whose chains to cover." predictor:"profile"`
	All       bool          `name:"all" help:"Cover every profile of the config, merged."`
	Format    string        `name:"format" enum:"json,terraform" default:"json" help:"json (IAM policy documents) or terraform."`
	Principal string        `name:"principal" enum:"account,exact" default:"account" help:"Whom trust policies name: the caller's account (account) or the exact user or role (exact)."`
	MFAMaxAge time.Duration `name:"mfa-max-age" placeholder:"1h" help:"Also require aws:MultiFactorAuthAge below this (it counts from the MFA code, not the session)."`
}

// Help is shown by 'rolevault policy --help'.
func (c *PolicyCmd) Help() string {
	return `Prints, for every role the profiles' chains assume, the trust policy and
MaxSessionDuration it needs, and for every principal that makes a call (the
IAM users' group in the login account, or a role that assumes the next one)
the identity policy: sts:AssumeRole on exactly those roles, with the MFA,
external ID, session tag and source identity conditions the plan brings, and
what rotate and login need. The IAM user is taken from mfa_serial. See
docs/policy.md for the condition semantics.`
}

// Run prints the policies.
func (c *PolicyCmd) Run(g *Globals) error {
	if c.All == (len(c.Profiles) > 0) {
		return &codedError{msg: "policy needs profile names or --all, not both or neither",
			hint: "Usage: rolevault policy PROFILE... [--format json|terraform] [--principal account|exact], or rolevault policy --all", code: ExitUsage}
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	names := c.Profiles
	if c.All {
		names = cfg.ProfileNames()
	}
	var chains []iampolicy.Chain
	for _, name := range names {
		p, err := cfg.Resolve(name, config.Overrides{})
		if err == nil {
			var ch iampolicy.Chain
			if ch, err = policyChain(p); err == nil {
				if len(ch.Calls) > 0 || ch.Login || ch.Rotate != iampolicy.RotateNone {
					chains = append(chains, ch)
				}
				continue
			}
		}
		if !c.All {
			return err
		}
		fmt.Fprintf(g.streams.Err, "rolevault: note: profile %s left out: %v\n", name, err)
	}
	opts := iampolicy.Options{MFAMaxAge: c.MFAMaxAge}
	if c.Principal == "exact" {
		opts.Principal, opts.ExactUsers = iampolicy.PrincipalExact, true
	}
	res, err := iampolicy.Generate(chains, opts)
	if err != nil {
		return &codedError{msg: err.Error(), hint: "fix the profile's durations or roles; 'rolevault explain PROFILE' shows its chain", code: ExitError}
	}
	out := res.JSON()
	if c.Format == "terraform" {
		out = append(res.Terraform(), '\n')
	}
	_, err = g.streams.Out.Write(out)
	return err
}

// policyChain turns a resolved profile's plan into the input of
// iampolicy. It is the only place that knows both packages.
func policyChain(p *config.Profile) (iampolicy.Chain, error) {
	pl, err := plan.New(p, plan.Options{})
	if err != nil {
		return iampolicy.Chain{}, err
	}
	ch := iampolicy.Chain{Name: p.Name}
	first := pl.Steps[0]
	caller := ""
	switch {
	case first.Kind == plan.StepWebIdentity:
		caller = first.RoleARN
	case first.Kind == plan.StepStoredKeys || (first.Kind == plan.StepCredentialsFile && (p.FileKeys == nil || p.FileKeys.SessionToken == "")):
		// The IAM user behind the key: the one the chain's virtual MFA
		// device belongs to, named as the console names it.
		for q := p; q != nil && caller == ""; q = q.Source {
			if a, ok := config.ParseIAMARN(q.MFASerial); ok && a.Type == "mfa" {
				caller = "arn:" + a.Partition + ":iam::" + a.Account + ":user/" + a.Name
			}
		}
		if caller == "" {
			return ch, &codedError{msg: fmt.Sprintf("profile %s: no virtual MFA device (mfa_serial arn:aws:iam::ACCOUNT:mfa/USER) in its chain, so the IAM user and account behind its key are unknown", p.Name),
				hint: "set mfa_serial on the profile that holds the key; policy reads the user from it", code: ExitError}
		}
		ch.User = caller
	default:
		return ch, &codedError{msg: fmt.Sprintf("profile %s gets its credentials from %s; policy covers chains that start from an IAM user's key or a web identity role", p.Name, first.Kind),
			hint: "run policy on the profiles that start from a stored key", code: ExitError}
	}
	mfa := iampolicy.MFANone
	for _, s := range pl.Steps[1:] {
		call := iampolicy.Call{Kind: iampolicy.CallKind(s.Kind), Caller: caller, RoleARN: s.RoleARN, ExternalID: s.ExternalID,
			SourceIdentity: s.SourceIdentity, Duration: s.Duration, MFA: mfa}
		if s.MFASerial != "" {
			call.MFA, mfa = iampolicy.MFAInCall, iampolicy.MFACarried
		}
		for k := range s.SessionTags {
			call.SessionTags = append(call.SessionTags, k)
		}
		ch.Calls = append(ch.Calls, call)
		if s.Kind == plan.StepAssumeRole {
			caller = s.RoleARN
		}
	}
	if ch.User != "" && first.Kind == plan.StepStoredKeys {
		ch.Rotate = iampolicy.RotateWithKeys
		if rp, err := credentials.NewRotationPlan(p, plan.Options{}); err == nil && len(rp.Steps) > 1 {
			ch.Rotate = iampolicy.RotateWithMFA
		}
	}
	// login for an IAM user profile calls GetFederationToken with the key.
	ch.Login = ch.User != "" && p.RoleARN == ""
	return ch, nil
}
