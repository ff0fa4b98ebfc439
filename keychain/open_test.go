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
