// Errors that say what to do: hinted errors, and checkedKeyring, which explains a backend's raw failures (wrong passphrase, locked collection).

package keychain

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/99designs/keyring"
	"github.com/rolevault/rolevault/plan"
)

// hintedError is an error with the second line the CLI prints under it.
type hintedError struct {
	msg, hint string
	err       error // cause, for errors.Is
}

func (e *hintedError) Error() string { return e.msg }

func (e *hintedError) Hint() string { return e.hint }

func (e *hintedError) Unwrap() error { return e.err }

// ErrWrongFilePassphrase matches the error for a file keyring that the given
// passphrase does not decrypt.
var ErrWrongFilePassphrase = errors.New("wrong passphrase for the file keyring")

// ErrKeyringLocked matches the error for a keyring that is locked and could
// not be unlocked from here.
var ErrKeyringLocked = errors.New("keyring is locked")

// noObjectAtRoot is gnome-keyring's answer (quotes vary by locale) when a
// create or unlock prompt was dismissed and go-libsecret used the empty path.
var noObjectAtRoot = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`Object does not exist at path .?/.?$`) })

// checkedKeyring turns the backends' raw failures into errors that say what to
// do: a wrong file passphrase, a locked collection or keychain, a password
// prompt the keyring daemon could not show.
type checkedKeyring struct {
	keyring.Keyring
	g       *Options
	backend keyring.BackendType
	cfg     keyring.Config
}

func (k *checkedKeyring) Get(key string) (keyring.Item, error) {
	it, err := k.Keyring.Get(key)
	if plan.IsSessionKey(key) && errors.Is(err, ErrUndecodableItem) {
		return it, err // a cache miss for the session cache, not a wrong passphrase
	}
	return it, k.explain(err)
}

func (k *checkedKeyring) Set(it keyring.Item) error { return k.explain(k.Keyring.Set(it)) }

func (k *checkedKeyring) Remove(key string) error { return k.explain(k.Keyring.Remove(key)) }

func (k *checkedKeyring) Keys() ([]string, error) {
	keys, err := k.Keyring.Keys()
	return keys, k.explain(err)
}

func (k *checkedKeyring) explain(err error) error {
	if err == nil || errors.Is(err, keyring.ErrKeyNotFound) {
		return err
	}
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return err // already says what to do (e.g. from the passphrase prompt)
	}
	msg := err.Error()
	lower := strings.ToLower(msg)
	switch k.backend {
	case keyring.FileBackend:
		if strings.Contains(msg, "integrity check failed") {
			hint := "Type the passphrase you chose when you stored your first key there."
			if _, ok := k.g.lookupEnv("AWS_VAULT_FILE_PASSPHRASE"); ok {
				hint = "AWS_VAULT_FILE_PASSPHRASE does not match the passphrase these keys were stored with."
			}
			return &hintedError{msg: fmt.Sprintf("wrong passphrase for the file keyring in %s", k.cfg.FileDir), hint: hint, err: ErrWrongFilePassphrase}
		}
	case keyring.SecretServiceBackend:
		coll := k.cfg.LibSecretCollectionName
		if strings.Contains(lower, "locked") {
			return &hintedError{
				msg:  fmt.Sprintf("the secret-service collection %q is locked: unlock it and run the command again", coll),
				hint: fmt.Sprintf("Unlock %q in your desktop's Passwords and Keys app (seahorse), or log in to your desktop session, which unlocks it.", coll),
				err:  fmt.Errorf("%w: %v", ErrKeyringLocked, err),
			}
		}
		if noObjectAtRoot().MatchString(msg) {
			// Creating or unlocking needed a password prompt, and the daemon
			// could not show one (no display), so it answered with no object.
			return &hintedError{
				msg:  fmt.Sprintf("the secret-service collection %q could not be created or unlocked: the keyring daemon could not show its password prompt", coll),
				hint: "Create or unlock it from your desktop session, choose an existing collection with --secret-service-collection (e.g. login), or use --backend file.",
				err:  fmt.Errorf("%w: %v", ErrKeyringLocked, err),
			}
		}
	case keyring.KeychainBackend:
		if strings.Contains(lower, "interaction is not allowed") || strings.Contains(lower, "passphrase you entered is not correct") {
			return &hintedError{
				msg:  fmt.Sprintf("the macOS keychain %q is locked: unlock it and run the command again", k.cfg.KeychainName),
				hint: fmt.Sprintf("Run 'security unlock-keychain %s.keychain' or unlock it in Keychain Access.", k.cfg.KeychainName),
				err:  fmt.Errorf("%w: %v", ErrKeyringLocked, err),
			}
		}
	}
	return err
}
