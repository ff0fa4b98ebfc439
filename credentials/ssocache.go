// The AWS CLI's IAM Identity Center token cache (~/.aws/sso/cache): read as one more place a sign-in may be, written only when a sign-in shares it.

package credentials

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/keychain"
)

// cliCacheToken is the AWS CLI v2's cache file, as botocore and the Go SDK
// read and write it.
type cliCacheToken struct {
	StartURL              string `json:"startUrl"`
	Region                string `json:"region"`
	AccessToken           string `json:"accessToken"`
	ExpiresAt             string `json:"expiresAt"`
	ClientID              string `json:"clientId,omitempty"`
	ClientSecret          string `json:"clientSecret,omitempty"`
	RegistrationExpiresAt string `json:"registrationExpiresAt,omitempty"`
	RefreshToken          string `json:"refreshToken,omitempty"`
}

// maxCLICacheFile bounds a cache file read.
const maxCLICacheFile = 64 << 10

func (p *Provider) cliCacheDir() string {
	if p.SSO.CLICacheDir != "" {
		return p.SSO.CLICacheDir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".aws", "sso", "cache")
}

// CLICacheFile is the AWS CLI's cache file for s: the SHA-1 of the
// sso-session's name (of the start URL for a legacy profile).
func CLICacheFile(dir string, s *config.SSOSettings) string {
	sum := sha1.Sum([]byte(s.TokenName()))
	return filepath.Join(dir, hex.EncodeToString(sum[:])+".json")
}

// parseCLITime reads the CLI's timestamps: RFC 3339, or the older
// "2006-01-02T15:04:05UTC" that early AWS CLI v2 releases wrote.
func parseCLITime(s string) time.Time {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05UTC", "2006-01-02T15:04:05Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// cliCachedToken reads the AWS CLI's token for s, or nil. A token for
// another start URL (a renamed sso-session) is not used.
func (p *Provider) cliCachedToken(s *config.SSOSettings) (*keychain.SSOToken, string) {
	dir := p.cliCacheDir()
	if dir == "" {
		return nil, ""
	}
	path := CLICacheFile(dir, s)
	b, err := config.ReadBounded(path, maxCLICacheFile)
	if err != nil {
		return nil, path
	}
	var c cliCacheToken
	if err := json.Unmarshal(b, &c); err != nil || c.AccessToken == "" {
		p.debugf("the AWS CLI's token cache %s is not in its format; ignoring it", path)
		return nil, path
	}
	if c.StartURL != "" && c.StartURL != s.StartURL {
		p.debugf("the AWS CLI's token cache %s is for %s, not %s; ignoring it", path, c.StartURL, s.StartURL)
		return nil, path
	}
	t := &keychain.SSOToken{Name: s.TokenName(), StartURL: s.StartURL, Region: s.Region,
		AccessToken: c.AccessToken, ExpiresAt: parseCLITime(c.ExpiresAt), RefreshToken: c.RefreshToken,
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, ClientSecretExpiresAt: parseCLITime(c.RegistrationExpiresAt),
		Scopes: s.Scopes()}
	return t, path
}

// writeCLICachedToken writes t to the AWS CLI's cache in its format: mode
// 0600, replaced atomically, in a directory only the user can enter.
func (p *Provider) writeCLICachedToken(s *config.SSOSettings, t *keychain.SSOToken) error {
	dir := p.cliCacheDir()
	if dir == "" {
		return fmt.Errorf("no home directory for the AWS CLI's cache")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	c := cliCacheToken{StartURL: s.StartURL, Region: s.Region, AccessToken: t.AccessToken,
		ExpiresAt: t.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")}
	if t.RefreshToken != "" {
		c.ClientID, c.ClientSecret, c.RefreshToken = t.ClientID, t.ClientSecret, t.RefreshToken
		c.RegistrationExpiresAt = t.ClientSecretExpiresAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	path := CLICacheFile(dir, s)
	if err := keychain.WriteFileAtomic(dir, filepath.Base(path), b, 0o600); err != nil {
		return err
	}
	p.debugf("wrote the IAM Identity Center token to the AWS CLI's cache %s (%s)", path, s.TokenName())
	return nil
}
