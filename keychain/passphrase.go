// The file backend's directory (kept private) and its passphrase: from AWS_VAULT_FILE_PASSPHRASE or asked through Options.ReadSecret.

package keychain

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/99designs/keyring"
)

// privateKeyDir makes the file keyring's directory exist with mode 0700, and
// its items 0600 when the directory was not private: a directory made by hand
// or an item copied from elsewhere keeps its mode until rewritten.
func privateKeyDir(dir string) error {
	if dir == "" {
		return &hintedError{msg: "no directory for the file keyring", hint: "Set --file-dir or AWS_VAULT_FILE_DIR."}
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("creating the file keyring directory: %w", err)
		}
		fi, err = os.Stat(dir)
	}
	if err != nil {
		return fmt.Errorf("file keyring directory: %w", err)
	}
	if !fi.IsDir() {
		return &hintedError{msg: fmt.Sprintf("the file keyring directory %s is not a directory", dir), hint: "Point --file-dir (AWS_VAULT_FILE_DIR) at a directory."}
	}
	if runtime.GOOS == "windows" {
		return nil // modes mean nothing there; the profile directory's ACL protects it
	}
	if fi.Mode().Perm()&0o077 == 0 {
		// Private already. Items are written as new 0600 files (see
		// FileKeyring), so a run that only reads — every warm exec
		// and export — must not pay for listing and stat-ing the directory.
		return nil
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("making %s private: %w", dir, err)
	}
	// A directory that was open to others may hold items that were too.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("file keyring directory: %w", err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(filepath.Join(dir, e.Name()), 0o600); err != nil {
				return fmt.Errorf("making %s private: %w", e.Name(), err)
			}
		}
	}
	return nil
}

// filePassphrase asks for the file keyring's passphrase: from
// AWS_VAULT_FILE_PASSPHRASE, else on the terminal device with echo off (not
// trimmed: spaces may belong to it). The library calls it once per opened
// keyring and keeps the answer.
func (g *Options) filePassphrase(dir string) keyring.PromptFunc {
	return func(string) (string, error) {
		if v, ok := g.lookupEnv("AWS_VAULT_FILE_PASSPHRASE"); ok {
			if v == "" {
				return "", &hintedError{
					msg:  "AWS_VAULT_FILE_PASSPHRASE is set but empty; rolevault does not encrypt keys with an empty passphrase",
					hint: "Set it to your passphrase, or unset it to be asked on the terminal.",
				}
			}
			return v, nil
		}
		noTTY := func(err error) error {
			if errors.Is(err, ErrNoTerminal) {
				return &hintedError{
					msg:  fmt.Sprintf("the file keyring in %s needs its passphrase, and there is no terminal to ask on", dir),
					hint: "Set AWS_VAULT_FILE_PASSPHRASE, or run rolevault from a terminal.",
					err:  err,
				}
			}
			return err
		}
		read := g.ReadSecret
		if read == nil {
			read = func(string, string) (string, error) { return "", ErrNoTerminal }
		}
		if !dirHasItems(dir) {
			pw, err := read("the file keyring passphrase", fmt.Sprintf("Choose a passphrase for the new file keyring in %s: ", dir))
			if err != nil {
				return "", noTTY(err)
			}
			if err := refuseEmptyPassphrase(pw); err != nil {
				return "", err
			}
			again, err := read("the file keyring passphrase", "Type it again: ")
			if err != nil {
				return "", noTTY(err)
			}
			if again != pw {
				return "", &hintedError{msg: "the two passphrases differ; nothing was stored", hint: "Run the command again."}
			}
			return pw, nil
		}
		pw, err := read("the file keyring passphrase", fmt.Sprintf("Passphrase for the file keyring in %s: ", dir))
		if err != nil {
			return "", noTTY(err)
		}
		return pw, refuseEmptyPassphrase(pw)
	}
}

func refuseEmptyPassphrase(pw string) error {
	if pw == "" {
		return &hintedError{
			msg:  "empty passphrase: rolevault does not encrypt keys with an empty passphrase",
			hint: "Type a passphrase (it protects your AWS keys on disk).",
		}
	}
	return nil
}

// dirHasItems reports whether dir holds a stored item; a temporary file an
// interrupted write left is not one, so a keyring that never got its first
// item is still new and its passphrase is still asked twice.
func dirHasItems(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Type().IsRegular() && !IsPartialWrite(e.Name()) {
			return true
		}
	}
	return false
}
