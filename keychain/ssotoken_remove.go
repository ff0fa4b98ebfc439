package keychain

import (
	"errors"
	"fmt"
	"os"

	"github.com/99designs/keyring"
)

// RemoveAWSVaultToken removes aws-vault v7's token item for startURL, as
// `aws-vault clear` would; a missing one is not an error.
func (s *SSOTokenStore) RemoveAWSVaultToken(startURL string) error {
	err := s.Keyring.Remove(awsVaultOIDCPrefix + startURL)
	if err != nil && !errors.Is(err, keyring.ErrKeyNotFound) && !os.IsNotExist(err) {
		return fmt.Errorf("removing aws-vault's IAM Identity Center token for %s: %w", startURL, err)
	}
	return nil
}
