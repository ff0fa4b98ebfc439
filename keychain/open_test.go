package keychain

import (
	"errors"
	"strings"
	"testing"

	"github.com/99designs/keyring"
)

// failingKeyring fails every Get with err, the way a backend does.
type failingKeyring struct {
	keyring.Keyring
	err error
}

func (k failingKeyring) Get(string) (keyring.Item, error) { return keyring.Item{}, k.err }

func TestLockedKeyringMessage(t *testing.T) {
	tests := []struct {
		backend keyring.BackendType
		raw     string // what the library returns
		want    string
	}{
		// go-libsecret, when gnome-keyring could not show its unlock prompt.
		{keyring.SecretServiceBackend, "Cannot get secret of a locked object", `secret-service collection "awsvault" is locked: unlock it`},
		// gnome-keyring after a dismissed create/unlock prompt (curly quotes in its locale).
		{keyring.SecretServiceBackend, "Object does not exist at path “/”", `collection "awsvault" could not be created or unlocked`},
		{keyring.KeychainBackend, "User interaction is not allowed.", `macOS keychain "aws-vault" is locked: unlock it`},
	}
	for _, tt := range tests {
		k := &checkedKeyring{Keyring: failingKeyring{keyring.NewArrayKeyring(nil), errors.New(tt.raw)}, backend: tt.backend,
			cfg: keyring.Config{LibSecretCollectionName: "awsvault", KeychainName: "aws-vault"}}
		_, err := (&KeyStore{Keyring: k}).Get("dev")
		var h interface{ Hint() string }
		if !errors.Is(err, ErrKeyringLocked) || !errors.As(err, &h) || h.Hint() == "" {
			t.Errorf("%s: err = %v, want ErrKeyringLocked with a hint", tt.raw, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: message %q is not one line saying %q", tt.raw, err.Error(), tt.want)
		}
	}
	// Other errors pass through unchanged.
	k := &checkedKeyring{Keyring: failingKeyring{keyring.NewArrayKeyring(nil), errors.New("boom")}, backend: keyring.SecretServiceBackend}
	if _, err := k.Get("x"); err == nil || err.Error() != "boom" {
		t.Errorf("unrelated error became %v", err)
	}
}

// TestKeyStoreRemoveKeepsAKeyItCannotOpen: a wrong file passphrase or a
// locked keyring stops Remove before anything is deleted, whoever calls it;
// an item that opens but is not an access key can still be removed.
func TestKeyStoreRemoveKeepsAKeyItCannotOpen(t *testing.T) {
	tests := []struct {
		backend keyring.BackendType
		raw     string
		want    error
	}{
		{keyring.FileBackend, "aes.KeyUnwrap(): integrity check failed.", ErrWrongFilePassphrase},
		{keyring.SecretServiceBackend, "Cannot get secret of a locked object", ErrKeyringLocked},
	}
	for _, tt := range tests {
		items := keyring.NewArrayKeyring([]keyring.Item{{Key: "dev", Data: []byte(`{"AccessKeyID":"AKIA","SecretAccessKey":"s"}`)}})
		k := &checkedKeyring{Keyring: failingKeyring{items, errors.New(tt.raw)}, backend: tt.backend,
			g: &Options{LookupEnv: func(string) (string, bool) { return "", false }}}
		if err := (&KeyStore{Keyring: k}).Remove("dev"); !errors.Is(err, tt.want) {
			t.Errorf("%s: Remove = %v, want %v", tt.raw, err, tt.want)
		}
		if keys, _ := items.Keys(); len(keys) != 1 {
			t.Errorf("%s: Remove deleted the key it could not open (left %q)", tt.raw, keys)
		}
	}
	items := keyring.NewArrayKeyring([]keyring.Item{{Key: "dev", Data: []byte("not json")}})
	if err := (&KeyStore{Keyring: items}).Remove("dev"); err != nil {
		t.Errorf("Remove of an item that is not an access key = %v, want it removed", err)
	}
	if keys, _ := items.Keys(); len(keys) != 0 {
		t.Errorf("left %q", keys)
	}
}
