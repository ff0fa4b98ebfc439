// Options: what the CLI tells Open (backend, its settings, the environment, the passphrase prompt), and the keyring library config built from them.

package keychain

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/99designs/keyring"
)

// keyctlPerm lets the owning user, not only a process that possesses the key,
// read and write rolevault's kernel keys. With the kernel's default
// (possessor-only) permissions an item stored in the user keyring cannot be read
// back by the next rolevault process when that process runs in another session
// keyring (a new login, `keyctl session`, sudo -u). Possessor and user both get
// view, read, write, search, link and setattr; group and others get nothing.
const keyctlPerm = 0x3f3f0000

// Options say which backend Open opens and how. The CLI builds them from its
// flags and environment; nothing here reads flags or owns a terminal.
type Options struct {
	Backend                 string // "" tries DefaultBackendOrder
	KeychainName            string // macOS keychain
	SecretServiceCollection string
	PassDir                 string
	PassCmd                 string
	PassPrefix              string
	FileDir                 string // may start with ~

	// LookupEnv reads AWS_VAULT_KEYCTL_SCOPE and AWS_VAULT_FILE_PASSPHRASE
	// (nil means os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// ReadSecret asks for the file keyring's passphrase with echo off:
	// what names the secret, prompt is the line shown. An error matching
	// ErrNoTerminal means there is nowhere to ask. Nil means no prompt.
	ReadSecret func(what, prompt string) (string, error)
	// Debug turns on the keyring library's own trace; Debugf, if set, is
	// told which backend opened and why others were skipped.
	Debug  bool
	Debugf func(format string, args ...any)
}

// ErrNoTerminal is what Options.ReadSecret's error matches when there is no
// terminal to ask on.
var ErrNoTerminal = errors.New("no terminal")

func (o *Options) lookupEnv(k string) (string, bool) {
	if o.LookupEnv == nil {
		return os.LookupEnv(k)
	}
	return o.LookupEnv(k)
}

func (o *Options) debugf(format string, args ...any) {
	if o.Debugf != nil {
		o.Debugf(format, args...)
	}
}

func (g *Options) keyringConfig() (keyring.Config, error) {
	fileDir, err := ExpandHome(g.FileDir)
	if err != nil {
		return keyring.Config{}, err
	}
	scope := "user"
	if v, ok := g.lookupEnv("AWS_VAULT_KEYCTL_SCOPE"); ok && v != "" {
		scope = v
	}
	switch scope {
	case "user", "usersession", "session", "process", "thread":
	default:
		return keyring.Config{}, &hintedError{
			msg:  fmt.Sprintf("AWS_VAULT_KEYCTL_SCOPE=%q is not a kernel keyring scope", scope),
			hint: "Use user (the default: shared by all your processes), usersession, session, process or thread.",
		}
	}
	// User-readable permissions only where possession is the problem: for the
	// session, process and thread keyrings the process possesses its keys
	// anyway, and keyring v1.2.2's permission path (create in the session
	// keyring, link to the parent, unlink from the session keyring) orphans
	// the named keyring when the parent is the session keyring itself.
	var perm uint32
	if scope == "user" || scope == "usersession" {
		perm = keyctlPerm
	}
	return keyring.Config{
		ServiceName:              ServiceName,
		KeychainName:             g.KeychainName,
		KeychainTrustApplication: true,
		LibSecretCollectionName:  g.SecretServiceCollection,
		KWalletAppID:             ServiceName,
		KWalletFolder:            ServiceName,
		WinCredPrefix:            ServiceName,
		PassDir:                  g.PassDir,
		PassCmd:                  g.PassCmd,
		PassPrefix:               g.PassPrefix,
		FileDir:                  fileDir,
		FilePasswordFunc:         rememberPassphrase(g.filePassphrase(fileDir)),
		KeyCtlScope:              scope,
		KeyCtlPerm:               perm,
	}, nil
}

// ExpandHome expands a leading ~ the way a shell would, since the default
// --file-dir is "~/.awsvault/keys/" and env values are not shell-expanded.
func ExpandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") && !strings.HasPrefix(p, `~\`) {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expanding %s: %w", p, err)
	}
	return filepath.Join(home, p[1:]), nil
}
