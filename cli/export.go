package cli

import (
	"github.com/rolevault/rolevault/plan"
)

// ExportCmd prints a profile's credentials.
type ExportCmd struct {
	sessionFlags

	Format  string `default:"env" enum:"env,export-env,json,export-json,ini" help:"Output format: env (KEY=value lines), export-env (export KEY=value), json (a credential_process Version 1 document; export-json is accepted too) or ini."`
	Stdout  bool   `env:"AWS_VAULT_STDOUT" help:"Sign in to IAM Identity Center with a code printed on the terminal instead of opening a browser tab (the device flow)."`
	Profile string `arg:"" help:"Name of the profile (from ~/.aws/config)." predictor:"profile"`
}

// Help is shown under 'rolevault export --help'.
func (c *ExportCmd) Help() string {
	return `As an AWS SDK credential source, in ~/.aws/config:

  [profile prod-sdk]
  credential_process = rolevault export --format=json prod

MFA prompts go to the terminal device, never to stdout; stdout gets the
document only when everything succeeded.`
}

// Run fetches the credentials and prints them. Nothing reaches stdout unless
// the whole document is ready.
func (c *ExportCmd) Run(g *Globals) error {
	if err := refuseNesting(); err != nil {
		return err
	}
	g.ssoNoBrowser = c.Stdout
	setup, err := g.setupCredentials(c.Profile, c.sessionFlags, plan.Options{})
	if err != nil {
		return err
	}
	ctx, stop := interruptContext()
	defer stop()
	creds, err := setup.retrieve(ctx)
	if err != nil {
		return err
	}
	return writeExport(g.streams.Out, c.Format, childEnv{Profile: c.Profile, Region: setup.region(), EndpointURL: setup.profile.EndpointURL}, creds)
}
