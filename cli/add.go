package cli

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/prompt"
)

// AddCmd stores a profile's long-term access key in the keyring.
type AddCmd struct {
	Profile   string `arg:"" help:"Profile to store the key under: the NAME of [profile NAME] in ~/.aws/config (the profile that has no source_profile)." predictor:"profile"`
	Env       bool   `help:"Read the key from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead of asking on the terminal."`
	AddConfig bool   `default:"true" negatable:"" help:"Add [profile NAME] to the AWS config file if it is not there (--no-add-config to leave the file alone)."`
	// NewProfile is the answer to "did you mean": add refuses a name one or
	// two edits from a profile in the config, as a likely typo.
	NewProfile bool `name:"new-profile" help:"The profile is new: store the key even if its name is close to a profile in the config (add refuses 'prdo' when 'prod' exists, as a likely typo)."`
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

// What an AWS access key looks like. add stores keys of other services too
// (Cloudflare R2, MinIO, Backblaze B2, Wasabi, DigitalOcean Spaces, …), so a
// key of another shape is stored with a note, and only what is certainly a
// mistake is refused: empty parts, whitespace inside, a temporary ASIA… key,
// and the ID and the secret swapped (no service issues an ID shaped like an
// AWS secret or a secret shaped like an AWS key ID).
var (
	awsKeyIDShape  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(AKIA|ASIA)[A-Z0-9]{16}$`) })
	awsSecretShape = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9/+]{40}$`) })
)

func looksLikeAWSKeyID(s string) bool { return awsKeyIDShape().MatchString(s) }

// looksLikeAWSSecret is true for 40 base64 characters with a / or + among
// them, which no service's access key IDs have (R2's and B2's are hex,
// Wasabi's and DigitalOcean's upper-case letters and digits).
func looksLikeAWSSecret(s string) bool {
	return awsSecretShape().MatchString(s) && strings.ContainsAny(s, "/+")
}

func hasSpaceOrControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0
}

// validateKeyID checks what can be checked of the access key ID alone, so a
// mistake there is reported before the secret is asked for. Messages never
// echo what was typed: it may be the secret pasted in the wrong field.
func validateKeyID(id string) error {
	switch {
	case id == "":
		return &hintedError{msg: "the access key ID is empty", hint: "It is the ID shown when the key was created (AKIA… for AWS)."}
	case hasSpaceOrControl(id):
		return &hintedError{msg: "the access key ID has a space or a control character inside", hint: "Copy the access key ID again, without line breaks."}
	case strings.HasPrefix(id, "ASIA") && looksLikeAWSKeyID(id):
		return &hintedError{msg: "ASIA… keys are temporary: they work only with their session token, and add stores long-term keys (AKIA…)",
			hint: "Store the IAM user's long-term key; rolevault makes the temporary credentials itself from it."}
	case looksLikeAWSSecret(id):
		return &hintedError{msg: "that looks like a secret access key, not an access key ID (40 characters with / or +)",
			hint: "Did you swap the ID and the secret? The ID comes first."}
	}
	return nil
}

// validateKey checks a whole key: the ID as validateKeyID does, and the
// secret.
func validateKey(id, secret string) error {
	if err := validateKeyID(id); err != nil {
		return err
	}
	switch {
	case secret == "":
		return &hintedError{msg: "the secret access key is empty", hint: "It is the secret shown once when the key was created."}
	case hasSpaceOrControl(secret):
		return &hintedError{msg: "the secret access key has a space or a control character inside",
			hint: "Copy the secret access key again from where you saved it when the key was created."}
	case looksLikeAWSKeyID(secret):
		return &hintedError{msg: "the secret access key looks like an access key ID (AKIA… or ASIA…)",
			hint: "Did you swap the ID and the secret, or paste the ID twice? The ID comes first, then the secret."}
	}
	return nil
}

// keyShapeNote is the one line add prints for a key that is not shaped like
// an AWS key, or "" for one that is. It never refuses: S3-compatible
// services have keys of their own shapes.
func keyShapeNote(id, secret string) string {
	idAWS := strings.HasPrefix(id, "AKIA") && looksLikeAWSKeyID(id)
	secretAWS := awsSecretShape().MatchString(secret)
	switch {
	case idAWS && secretAWS:
		return ""
	case idAWS:
		return fmt.Sprintf("note: the ID is an AWS access key ID, but the secret has %d characters where AWS secrets have 40 letters, digits, / and +; if AWS rejects the key, copy the secret again", len(secret))
	}
	return "note: this is not an AWS-shaped key (AKIA… and a 40-character secret); it is stored as given, as for an S3-compatible service (R2, MinIO, B2, Wasabi, Spaces)"
}

// Run stores the key. Everything that can go wrong before the secret is
// typed is checked before it is asked for: the profile name, the key ID, the
// keyring backend and its passphrase (confirmed, for a new file keyring), so
// no mistake makes a person type the secret twice.
func (c *AddCmd) Run(g *Globals) error {
	cfg, err := config.Load(config.LoadOptions{LookupEnv: lookupEnv})
	if err != nil {
		return err
	}
	if err := c.checkProfile(cfg); err != nil {
		return err
	}
	var id, secret string
	if c.Env {
		if id, secret, err = c.envKey(); err != nil {
			return err
		}
		if err := validateKey(id, secret); err != nil {
			return err
		}
	}
	ks, err := g.KeyStore()
	if err != nil {
		return err
	}
	if err := keychain.UnlockForWrite(ks); err != nil {
		return err
	}
	if !c.Env {
		if id, secret, err = c.askKey(); err != nil {
			return err
		}
	}
	newSection, err := c.newConfigSection(g, cfg)
	if err != nil {
		return err
	}
	if note := keyShapeNote(id, secret); note != "" {
		fmt.Fprintf(g.streams.Err, "rolevault: %s\n", note)
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
		if err := config.AddProfileToConfig(cfg.ConfigPath(), c.Profile, newSection); err != nil {
			return fmt.Errorf("the key is stored, but adding the profile to the config failed: %w", err)
		}
		fmt.Fprintf(out, "Added [%s] to %s.\n", sectionName(c.Profile), cfg.ConfigPath())
	}
	return nil
}

// checkProfile refuses a profile name the key would be useless under: a
// profile that takes its keys from a source_profile, or a near miss of a
// profile in the config ("prdo" when there is "prod"), unless --new-profile
// says the new name is meant.
func (c *AddCmd) checkProfile(cfg *config.Config) error {
	if !cfg.HasProfile(c.Profile) {
		if c.NewProfile {
			return nil
		}
		if near := nearMisses(c.Profile, cfg.ProfileNames()); len(near) > 0 {
			return &hintedError{
				msg: fmt.Sprintf("there is no profile %q in %s; did you mean %s?", c.Profile, cfg.ConfigPath(), quoteOr(near)),
				hint: fmt.Sprintf("Run 'rolevault add %s' for that one; to store the key under the new name %q anyway, run 'rolevault add --new-profile %s'.",
					near[0], c.Profile, c.Profile),
			}
		}
		return nil
	}
	p, err := cfg.Resolve(c.Profile, config.Overrides{})
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
	return nil
}

// nearMisses are the names within a small edit distance of name (a typo:
// one or two letters changed, added, dropped or swapped; one for names of
// up to four characters), closest first.
func nearMisses(name string, names []string) []string {
	limit := 2
	if utf8.RuneCountInString(name) <= 4 {
		limit = 1
	}
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, n := range names {
		if n == name {
			continue
		}
		if d := editDistance(name, n); d <= limit && d < utf8.RuneCountInString(name) {
			cs = append(cs, cand{n, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	out := make([]string, 0, 3)
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].name)
	}
	return out
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of neighbours each cost one, so "prdo"
// is one edit from "prod".
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}

func quoteOr(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}

func sectionName(profile string) string {
	if profile == "default" {
		return "default"
	}
	return "profile " + profile
}

// envKey reads the key from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
func (c *AddCmd) envKey() (id, secret string, err error) {
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

// askKey asks on the terminal for the ID, checks it, and only then asks for
// the secret.
func (c *AddCmd) askKey() (id, secret string, err error) {
	noTTY := func(err error) error {
		if errors.Is(err, prompt.ErrNoTerminal) {
			return &hintedError{msg: "there is no terminal to ask for the access key on",
				hint: "Run rolevault add from a terminal, or pass the key in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY with --env.", err: err}
		}
		return err
	}
	// The terminal device, not stdin/stdout: they may be pipes a script reads.
	if id, err = prompt.ReadLineFor("the access key ID", "Enter Access Key ID: "); err != nil {
		return "", "", noTTY(err)
	}
	if err := validateKeyID(id); err != nil {
		return "", "", err
	}
	if secret, err = prompt.ReadSecretFor("the secret access key", "Enter Secret Access Key: "); err != nil {
		return "", "", noTTY(err)
	}
	secret = strings.TrimSpace(secret)
	if err := validateKey(id, secret); err != nil {
		return "", "", err
	}
	return id, secret, nil
}

// newConfigSection is what --add-config writes for a profile the config does
// not have. Asked on the terminal, as aws-vault does, it includes the MFA
// device, so the first exec already uses an MFA session; with --env (a
// script) nothing is asked. A typo is asked again; after three, the key is
// still stored (it was typed once already) and the section has no mfa_serial.
func (c *AddCmd) newConfigSection(g *Globals, cfg *config.Config) (map[string]string, error) {
	if c.Env || !c.AddConfig || cfg.HasProfile(c.Profile) {
		return nil, nil
	}
	for range 3 {
		serial, err := prompt.ReadLineFor("the MFA device ARN", "Enter MFA Device ARN (If MFA is not enabled, leave this blank): ")
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
