package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rolevault/rolevault/prompt"
	"github.com/rolevault/rolevault/vault"
)

// AddCmd stores a profile's long-term access key in the keyring.
type AddCmd struct {
	Profile   string `arg:"" help:"Profile to store the key under: the NAME of [profile NAME] in ~/.aws/config (the profile that has no source_profile)." predictor:"profile"`
	Env       bool   `help:"Read the key from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead of asking on the terminal."`
	AddConfig bool   `default:"true" negatable:"" help:"Add [profile NAME] to the AWS config file if it is not there (--no-add-config to leave the file alone)."`
}

// Help is shown by 'rolevault add --help'.
func (c *AddCmd) Help() string {
	return `Asks for the access key ID and secret access key of an IAM user (the secret is not
echoed) and stores them in your keychain under the profile name, where aws-vault
would store them. Replacing a key drops the profile's cached sessions.

Store keys on the profile that holds them, usually your login/security account,
not on role profiles: a profile with source_profile gets its keys from there.

  rolevault add login
  AWS_ACCESS_KEY_ID=AKIA… AWS_SECRET_ACCESS_KEY=… rolevault add login --env`
}

// An access key ID is 16–128 upper-case letters and digits (IAM's limits);
// the long-term ones start with AKIA.
var accessKeyIDShape = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z0-9]{16,128}$`) })

func validateKey(id, secret string) error {
	switch {
	case id == "":
		return &hintedError{msg: "the access key ID is empty", hint: "It is the 20-character ID starting with AKIA shown when the key was created."}
	case !accessKeyIDShape().MatchString(id):
		// Never echo what was typed: it may be the secret pasted in the wrong field.
		return &hintedError{msg: fmt.Sprintf("that does not look like an access key ID (%d characters; expected about 20 upper-case letters and digits starting with AKIA)", len(id)),
			hint: "Did you swap the ID and the secret? The ID comes first."}
	case strings.HasPrefix(id, "ASIA"):
		return &hintedError{msg: "ASIA… keys are temporary session credentials; add stores long-term IAM user keys (AKIA…)",
			hint: "rolevault makes the temporary credentials itself from the long-term key."}
	case secret == "":
		return &hintedError{msg: "the secret access key is empty", hint: "It is the 40-character secret shown once when the key was created."}
	case len(secret) < 16 || strings.ContainsAny(secret, " \t\r\n"):
		return &hintedError{msg: "that does not look like a secret access key (expected about 40 characters, no spaces)",
			hint: "Copy the secret access key again from where you saved it when the key was created."}
	}
	return nil
}

// Run stores the key.
func (c *AddCmd) Run(g *Globals) error {
	cfg, err := vault.LoadConfig(vault.LoadOptions{LookupEnv: lookupEnv})
	if err != nil {
		return err
	}
	if cfg.HasProfile(c.Profile) {
		p, err := cfg.Resolve(c.Profile, vault.Overrides{})
		if err != nil {
			return err
		}
		if p.SourceProfileName != "" && p.SourceProfileName != c.Profile {
			root := p
			for root.Source != nil && root.SourceProfileName != "" && root.SourceProfileName != root.Name {
				root = root.Source
			}
			return &hintedError{
				msg: fmt.Sprintf("profile %q takes its keys from source_profile %q, so a key stored under %q would never be used",
					c.Profile, p.SourceProfileName, c.Profile),
				hint: fmt.Sprintf("Store the key on the profile at the start of the chain: rolevault add %s", root.Name),
			}
		}
	}

	id, secret, err := c.readKey()
	if err != nil {
		return err
	}
	newSection, err := c.newConfigSection(g, cfg)
	if err != nil {
		return err
	}
	if err := validateKey(id, secret); err != nil {
		return err
	}
	ks, err := g.KeyStore()
	if err != nil {
		return err
	}
	if err := ks.Set(c.Profile, aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}); err != nil {
		return err
	}
	out := g.streams.Out
	fmt.Fprintf(out, "Added the access key for profile %q to the %s keyring.\n", c.Profile, g.KeyringBackend())
	// Sessions made from the old key would outlive it; drop them.
	if n, err := ks.RemoveSessions(c.Profile); err != nil {
		fmt.Fprintf(g.streams.Err, "rolevault: warning: could not remove the old cached sessions of %q: %v\n", c.Profile, err)
	} else if n > 0 {
		fmt.Fprintf(out, "Deleted %d cached session(s) made with the previous key.\n", n)
	}
	if !cfg.HasProfile(c.Profile) && c.AddConfig {
		if err := vault.AddProfileToConfig(cfg.ConfigPath(), c.Profile, newSection); err != nil {
			return fmt.Errorf("the key is stored, but adding the profile to the config failed: %w", err)
		}
		fmt.Fprintf(out, "Added [%s] to %s.\n", sectionName(c.Profile), cfg.ConfigPath())
	}
	return nil
}

func sectionName(profile string) string {
	if profile == "default" {
		return "default"
	}
	return "profile " + profile
}

func (c *AddCmd) readKey() (id, secret string, err error) {
	if c.Env {
		id, _ = lookupEnv("AWS_ACCESS_KEY_ID")
		secret, _ = lookupEnv("AWS_SECRET_ACCESS_KEY")
		if id == "" || secret == "" {
			missing := "AWS_ACCESS_KEY_ID"
			if id != "" {
				missing = "AWS_SECRET_ACCESS_KEY"
			}
			return "", "", &hintedError{msg: fmt.Sprintf("--env was given but %s is not set", missing),
				hint: "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or leave out --env to be asked."}
		}
		return strings.TrimSpace(id), strings.TrimSpace(secret), nil
	}
	noTTY := func(err error) error {
		if errors.Is(err, prompt.ErrNoTerminal) {
			return &hintedError{msg: "there is no terminal to ask for the access key on",
				hint: "Run rolevault add from a terminal, or pass the key in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY with --env.", err: err}
		}
		return err
	}
	// The terminal device, not stdin/stdout: they may be pipes a script reads.
	if id, err = prompt.ReadLine("Enter Access Key ID: "); err != nil {
		return "", "", noTTY(err)
	}
	if secret, err = prompt.ReadSecret("Enter Secret Access Key: "); err != nil {
		return "", "", noTTY(err)
	}
	return id, strings.TrimSpace(secret), nil
}

// newConfigSection is what --add-config writes for a profile the config does
// not have. Asked on the terminal, as aws-vault does, it includes the MFA
// device, so the first exec already uses an MFA session; with --env (a
// script) nothing is asked. A typo is asked again; after three, the key is
// still stored (it was typed once already) and the section has no mfa_serial.
func (c *AddCmd) newConfigSection(g *Globals, cfg *vault.Config) (map[string]string, error) {
	if c.Env || !c.AddConfig || cfg.HasProfile(c.Profile) {
		return nil, nil
	}
	for range 3 {
		serial, err := prompt.ReadLine("Enter MFA Device ARN (If MFA is not enabled, leave this blank): ")
		if err != nil {
			return nil, err
		}
		if serial == "" {
			return nil, nil
		}
		if mfaSerialShape().MatchString(serial) {
			return map[string]string{"mfa_serial": serial}, nil
		}
		fmt.Fprintln(g.streams.Err, "rolevault: that is not an MFA device ARN (arn:aws:iam::ACCOUNT:mfa/NAME) or a hardware token's serial; try again, or leave it blank")
	}
	fmt.Fprintf(g.streams.Err, "rolevault: warning: no mfa_serial written; add it to [%s] in %s yourself\n", sectionName(c.Profile), cfg.ConfigPath())
	return nil, nil
}

// An MFA device: a virtual or FIDO device's ARN in any partition, or a
// hardware token's serial number.
var mfaSerialShape = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(arn:aws[a-z-]*:iam::[0-9]{12}:(mfa|u2f)/[\w+=,.@/-]+|[A-Z0-9]{9,256})$`)
})
