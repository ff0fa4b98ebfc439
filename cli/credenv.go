package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// credentialVars are cleared from a child's environment before rolevault sets
// its own, exactly as aws-vault v7 does, so a stale key or profile from the
// parent can never shadow the credentials handed over.
var credentialVars = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_CREDENTIAL_FILE", "AWS_DEFAULT_PROFILE", "AWS_PROFILE", "AWS_SDK_LOAD_CONFIG",
}

// secretVars are removed from every child's environment as well (aws-vault
// passes them on): they unlock a keyring, or are a credential server's token,
// and a child that was meant to see only its own credentials must not be able
// to read the long-term key or another server's credentials with them.
var secretVars = []string{
	"AWS_VAULT_FILE_PASSPHRASE",          // the file keyring's master passphrase
	"AWS_VAULT_OP_CONNECT_TOKEN",         // aws-vault's 1Password backends
	"AWS_VAULT_OP_SERVICE_ACCOUNT_TOKEN", //
	"AWS_CONTAINER_AUTHORIZATION_TOKEN",  // a parent exec --ecs-server's token,
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI",     // and the server it unlocks, which
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", // would also shadow an EC2 server
}

// childUnsetVars is everything removed from the parent's environment before
// rolevault adds what the child gets (an ECS server sets its own URI and
// token afterwards).
func childUnsetVars() []string {
	return append(append([]string(nil), credentialVars...), secretVars...)
}

// childEnv describes what rolevault sets for a child, beyond the credentials.
type childEnv struct {
	Profile     string
	Region      string
	EndpointURL string
}

// vars returns what exec sets for a child given creds, in a stable order:
// AWS_VAULT, the settings, then the credentials.
func (c childEnv) vars(creds aws.Credentials) [][2]string {
	return append(c.shell(), credentialPairs(creds)...)
}

// shell is what every exec'd child gets, with keys or with a server:
// AWS_VAULT and the settings.
func (c childEnv) shell() [][2]string {
	return append([][2]string{{"AWS_VAULT", c.Profile}}, c.settings()...)
}

// settings are the region and endpoint variables, when the profile has them.
func (c childEnv) settings() [][2]string {
	var v [][2]string
	if c.Region != "" {
		v = append(v, [2]string{"AWS_REGION", c.Region}, [2]string{"AWS_DEFAULT_REGION", c.Region})
	}
	if c.EndpointURL != "" {
		v = append(v, [2]string{"AWS_ENDPOINT_URL", c.EndpointURL})
	}
	return v
}

// credentialPairs are the key, token and expiry variables of creds.
func credentialPairs(creds aws.Credentials) [][2]string {
	v := [][2]string{{"AWS_ACCESS_KEY_ID", creds.AccessKeyID}, {"AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey}}
	if creds.SessionToken != "" {
		v = append(v, [2]string{"AWS_SESSION_TOKEN", creds.SessionToken})
	}
	if creds.CanExpire {
		v = append(v, [2]string{"AWS_CREDENTIAL_EXPIRATION", iso8601(creds.Expires)})
	}
	return v
}

func iso8601(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// buildEnviron returns parent with the credential variables removed and set
// added (set entries win over parent ones of the same name).
func buildEnviron(parent []string, set [][2]string, unset []string) []string {
	drop := map[string]bool{}
	for _, k := range unset {
		drop[k] = true
	}
	for _, kv := range set {
		drop[kv[0]] = true
	}
	out := make([]string, 0, len(parent)+len(set))
	for _, e := range parent {
		k, _, _ := strings.Cut(e, "=")
		if !drop[k] {
			out = append(out, e)
		}
	}
	for _, kv := range set {
		out = append(out, kv[0]+"="+kv[1])
	}
	return out
}

// Export formats, as aws-vault v7 names them; export-json is accepted as
// another name for json.
var exportFormats = []string{"env", "export-env", "json", "export-json", "ini"}

// processDocument is credential_process's Version 1 output.
type processDocument struct {
	Version         int
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string `json:",omitempty"`
	Expiration      string `json:",omitempty"`
}

// writeExport renders creds in format. The whole document is built before
// anything is written, so a failure never leaves half an answer on stdout.
func writeExport(w io.Writer, format string, env childEnv, creds aws.Credentials) error {
	var b strings.Builder
	switch format {
	case "json", "export-json":
		doc := processDocument{Version: 1, AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken}
		if creds.CanExpire {
			doc.Expiration = iso8601(creds.Expires)
		}
		out, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		b.Write(out)
		b.WriteByte('\n')
	case "env", "export-env":
		prefix := ""
		if format == "export-env" {
			prefix = "export "
		}
		// aws-vault's order: keys, token, expiry, then region; AWS_VAULT
		// describes an exec'd shell, not exported credentials.
		vars := append(credentialPairs(creds), env.settings()...)
		for _, kv := range vars {
			fmt.Fprintf(&b, "%s%s=%s\n", prefix, kv[0], shellQuote(kv[1]))
		}
	case "ini":
		// A credentials-file section, as aws-vault writes it: what a person
		// appends to ~/.aws/credentials, where sections are [NAME] (the AWS
		// CLI does not find [profile NAME] there).
		fmt.Fprintf(&b, "[%s]\n", env.Profile)
		fmt.Fprintf(&b, "aws_access_key_id = %s\naws_secret_access_key = %s\n", creds.AccessKeyID, creds.SecretAccessKey)
		if creds.SessionToken != "" {
			fmt.Fprintf(&b, "aws_session_token = %s\n", creds.SessionToken)
		}
		if creds.CanExpire {
			fmt.Fprintf(&b, "aws_credential_expiration = %s\n", iso8601(creds.Expires))
		}
		if env.Region != "" {
			fmt.Fprintf(&b, "region = %s\n", env.Region)
		}
	default:
		return fmt.Errorf("unknown export format %q; use one of %s", format, strings.Join(exportFormats, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shellQuote quotes a value for POSIX shells only when it needs it; keys and
// tokens are base64-ish and normally need none.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+/=_-.:,@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
