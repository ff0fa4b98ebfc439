package cli

import (
	"os"
)

// Globals are the flags and environment variables every command shares. They
// match aws-vault v7's names so scripts and muscle memory carry over.
type Globals struct {
	Debug                   bool   `help:"Show debugging output on stderr (keys and tokens are masked)."`
	Backend                 string `env:"AWS_VAULT_BACKEND" placeholder:"NAME" help:"Keyring backend: keychain, wincred, secret-service, kwallet, keyctl, pass or file. Default: the first that opens." predictor:"backend"`
	Prompt                  string `env:"AWS_VAULT_PROMPT" placeholder:"DRIVER" help:"How to ask for MFA codes: terminal, ykman, zenity, kdialog, osascript or wincredui." predictor:"prompt"`
	Keychain                string `env:"AWS_VAULT_KEYCHAIN_NAME" default:"aws-vault" placeholder:"NAME" help:"Name of the macOS keychain to use."`
	SecretServiceCollection string `env:"AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME" default:"awsvault" placeholder:"NAME" help:"Name of the secret-service collection to use."`
	PassDir                 string `env:"AWS_VAULT_PASS_PASSWORD_STORE_DIR" placeholder:"DIR" help:"Password store directory for the pass backend."`
	PassCmd                 string `env:"AWS_VAULT_PASS_CMD" default:"pass" placeholder:"CMD" help:"Name of the pass executable."`
	PassPrefix              string `env:"AWS_VAULT_PASS_PREFIX" placeholder:"PREFIX" help:"Prefix for the names of pass entries."`
	FileDir                 string `env:"AWS_VAULT_FILE_DIR" default:"~/.awsvault/keys/" placeholder:"DIR" help:"Directory for the encrypted file backend."`

	streams      Streams
	keyring      openedKeyring // opened on first use, once per run
	keyringReads int           // keyring Gets this run, for --debug
	// ssoNoBrowser is the command's --stdout (AWS_VAULT_STDOUT): an IAM
	// Identity Center sign-in uses a device code, never a browser tab.
	ssoNoBrowser bool
}

// lookupEnv is the one place commands read the environment, so tests can see it.
func lookupEnv(k string) (string, bool) { return os.LookupEnv(k) }
