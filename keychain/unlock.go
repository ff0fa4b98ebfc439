package keychain

import (
	"sync"

	"github.com/99designs/keyring"
)

// rememberPassphrase makes a passphrase prompt answer once per run: the
// keyring library asks when it first decrypts or encrypts, and add asks
// earlier (before the secret access key is typed), through the same
// function, so the person is asked once either way.
func rememberPassphrase(ask keyring.PromptFunc) keyring.PromptFunc {
	var (
		mu    sync.Mutex
		known string
	)
	return func(label string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if known != "" {
			return known, nil
		}
		pw, err := ask(label)
		if err == nil {
			known = pw
		}
		return pw, err
	}
}

// UnlockForWrite does now what storing a key would do later and may fail
// at: it lists the keyring (which opens, and unlocks, a collection or pass
// store) and, for the file backend, asks for the passphrase (twice for a new
// keyring) and checks it against a stored item. A wrong or mistyped
// passphrase then costs nothing but the passphrase.
func UnlockForWrite(ks *KeyStore) error {
	// A keyring served by the agent unlocks the agent the same way.
	if u, ok := ks.Keyring.(interface{ UnlockForWrite() error }); ok {
		return u.UnlockForWrite()
	}
	names, err := ks.Keyring.Keys()
	if err != nil {
		return err
	}
	ck, ok := ks.Keyring.(*checkedKeyring)
	if !ok || ck.backend != keyring.FileBackend || ck.cfg.FilePasswordFunc == nil {
		return nil
	}
	if len(names) == 0 {
		_, err := ck.cfg.FilePasswordFunc("")
		return err
	}
	// Decrypting any item proves the passphrase: they share it.
	_, err = ks.Keyring.Get(names[0])
	return err
}
