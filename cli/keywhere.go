package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/99designs/keyring"
	"github.com/mtibben/percent"
	"github.com/rolevault/rolevault/keychain"
)

// backendPlace names where a backend keeps rolevault's items, for messages:
// "the file keyring (~/.awsvault/keys)", "the secret-service collection
// awsvault", … ("the keyring" before one was chosen).
func (g *Globals) backendPlace(b keyring.BackendType) string {
	switch b {
	case keyring.FileBackend:
		dir, err := keychain.ExpandHome(g.FileDir)
		if err != nil {
			dir = g.FileDir
		}
		return fmt.Sprintf("the file keyring (%s)", tildeHome(filepath.Clean(dir)))
	case keyring.SecretServiceBackend:
		return "the secret-service collection " + g.SecretServiceCollection
	case keyring.PassBackend:
		if g.PassPrefix != "" {
			return "the pass store (prefix " + g.PassPrefix + ")"
		}
		return "the pass store"
	case keyring.KeychainBackend:
		return "the macOS keychain " + g.Keychain
	case keyring.KeyCtlBackend:
		return "the kernel keyring (keyctl)"
	case keyring.WinCredBackend:
		return "the Windows Credential Manager"
	case keyring.KWalletBackend:
		return "KWallet"
	}
	return "the keyring"
}

func tildeHome(p string) string {
	if home, err := os.UserHomeDir(); err == nil && home != "" && home != "/" {
		if rest, ok := strings.CutPrefix(p, home); ok && (rest == "" || rest[0] == filepath.Separator) {
			return "~" + rest
		}
	}
	return p
}

// storedKeySource says, for explain, whether an access key is stored for
// profile and in which backend, from the keyring's item names (names, as
// listed once by the caller; err is why they could not be) — no secret is
// read, no passphrase asked.
func (g *Globals) storedKeySource(profile string, names []string, err error) string {
	if g.KeyringBackend() == "" {
		return fmt.Sprintf("access key to be read from the keyring as %q (the keyring could not be opened to check: %v)", profile, oneLine(err))
	}
	place := g.backendPlace(g.KeyringBackend())
	switch {
	case err != nil:
		return fmt.Sprintf("access key to be read from %s as %q (could not list it to check: %v)", place, profile, oneLine(err))
	case slices.Contains(names, profile):
		return fmt.Sprintf("access key stored in %s as %q", place, profile)
	}
	return fmt.Sprintf("no access key stored in %s as %q yet: store it with 'rolevault add %s'", place, profile, profile)
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// notStoredError adds to "no access key stored for profile X" where rolevault
// looked and what to do: add the key, or point --backend at the backend that
// has it (the file keyring is checked by name, which needs no passphrase).
func (g *Globals) notStoredError(err error) error {
	var ns *keychain.KeyNotStoredError
	if !errors.As(err, &ns) {
		return err
	}
	b := g.KeyringBackend()
	hint := fmt.Sprintf("Store it with 'rolevault add %s'; if you stored it with another backend, choose that one with --backend (or AWS_VAULT_BACKEND).", ns.Profile)
	if b != keyring.FileBackend {
		if dir, derr := keychain.ExpandHome(g.FileDir); derr == nil {
			if _, serr := os.Stat(filepath.Join(dir, percent.Encode(ns.Profile, "/"))); serr == nil {
				hint = fmt.Sprintf("%s has a key for %q: add --backend file (or set AWS_VAULT_BACKEND=file), or store it here with 'rolevault add %s'.",
					capitalizeFirst(g.backendPlace(keyring.FileBackend)), ns.Profile, ns.Profile)
			}
		}
	}
	return &hintedError{msg: fmt.Sprintf("%s in %s", ns.Error(), g.backendPlace(b)), hint: hint, err: err}
}

func capitalizeFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
