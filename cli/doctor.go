package cli

import (
	"context"
	"fmt"

	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/doctor"
	"github.com/rolevault/rolevault/iampolicy"
	"github.com/rolevault/rolevault/plan"
	"github.com/rolevault/rolevault/prompt"
)

// DoctorCmd walks a profile's chain live and reports each check.
type DoctorCmd struct {
	Profile string `arg:"" help:"The profile to check." predictor:"profile"`
	JSON    bool   `name:"json" help:"Print the report as a JSON document, for scripts."`
	sessionFlags
}

// Help is shown by 'rolevault doctor --help'.
func (c *DoctorCmd) Help() string {
	return `Runs a profile's chain against AWS one step at a time and gives a verdict
(ok, warn, skip, fail) for each check, with what to do next: the config, the
stored key and its backend, the key itself (GetCallerIdentity) and its age,
the clock against STS's, the MFA device's account, each STS step (on
AccessDenied it asks iam:SimulatePrincipalPolicy whether the trust policy or
the identity policy is missing, and prints the statement 'rolevault policy'
would add), session durations and the endpoint. Cached sessions are reused, at
most one MFA code is asked for, and no secret is printed. Exits 1 when a check
fails; warnings alone exit 0. See docs/policy.md.`
}

// Run runs the checks and prints the report.
func (c *DoctorCmd) Run(g *Globals) error {
	if c.MFAToken != "" {
		if _, err := prompt.ValidateCode(c.MFAToken); err != nil {
			return &hintedError{msg: fmt.Sprintf("--mfa-token: %v", err), hint: "Pass the 6-digit code your MFA device shows now.", err: err}
		}
	}
	prov, err := g.newProvider(c.sessionFlags)
	if err != nil {
		return err
	}
	ctx, stop := interruptContext()
	defer stop()
	rep := doctor.Run(ctx, doctor.Input{
		Profile: c.Profile,
		Resolve: func() (*config.Profile, error) {
			_, p, err := g.resolveProfile(c.Profile, c.sessionFlags)
			return p, err
		},
		PlanOptions: plan.Options{NoSession: c.NoSession, Duration: c.Duration},
		OpenKeys: func() (doctor.Keys, string, error) {
			ks, err := g.KeyStore()
			if err != nil {
				return nil, "", err
			}
			return ks, g.backendPlace(g.KeyringBackend()), nil
		},
		Provider: prov,
		Policies: func(p *config.Profile) (*iampolicy.Result, error) {
			ch, err := policyChain(p)
			if err != nil {
				return nil, err
			}
			return iampolicy.Generate([]iampolicy.Chain{ch}, iampolicy.Options{})
		},
	})
	if ctx.Err() != nil {
		return fmt.Errorf("doctor %s: %w (%w)", c.Profile, context.Canceled, context.Cause(ctx))
	}
	if c.JSON {
		_, err = g.streams.Out.Write(rep.JSON())
	} else {
		rep.WriteText(g.streams.Out)
	}
	if err != nil {
		return err
	}
	if rep.Failed() {
		return &ExitCodeError{Code: ExitError}
	}
	return nil
}
