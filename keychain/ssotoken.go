package keychain

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/99designs/keyring"
	"github.com/rolevault/rolevault/plan"
)

// SSOToken is the JSON value of an IAM Identity Center sign-in item: the
// OIDC client registration rolevault made for the sign-in and the tokens
// it was given. One item per sso-session (per start URL for a legacy
// profile), named by plan.SSOTokenKey.
type SSOToken struct {
	Name     string `json:"name"` // the sso-session, or the start URL of a legacy profile
	StartURL string `json:"start_url"`
	Region   string `json:"region"`

	// The client registration (RegisterClient), reused until it expires.
	ClientID              string    `json:"client_id,omitempty"`
	ClientSecret          string    `json:"client_secret,omitempty"`
	ClientSecretExpiresAt time.Time `json:"client_secret_expires_at"`
	Scopes                []string  `json:"scopes,omitempty"`
	// GrantTypes are the grants the registration was made for:
	// authorization_code (with refresh_token) for the browser flow, empty
	// for the device flow, which AWS registers by default.
	GrantTypes []string `json:"grant_types,omitempty"`

	// The tokens (CreateToken). RefreshToken is empty when the
	// registration has no scopes: AWS issues none then.
	AccessToken  string    `json:"access_token,omitempty"`
	ExpiresAt    time.Time `json:"expires_at"`
	IssuedAt     time.Time `json:"issued_at"`
	RefreshToken string    `json:"refresh_token,omitempty"`
}

// RegistrationValid reports whether the client registration can still be
// used at now, with a margin so it does not expire mid-sign-in.
func (t *SSOToken) RegistrationValid(now time.Time) bool {
	return t != nil && t.ClientID != "" && t.ClientSecret != "" && t.ClientSecretExpiresAt.After(now.Add(10*time.Minute))
}

// SSOTokenState is what the non-secret index says about a sign-in, for
// list and explain: no keyring read, no secret.
type SSOTokenState struct {
	Key                   string    `json:"key"`
	Name                  string    `json:"name"`
	StartURL              string    `json:"start_url"`
	ExpiresAt             time.Time `json:"expires_at"`
	Refreshable           bool      `json:"refreshable"`
	ClientSecretExpiresAt time.Time `json:"client_secret_expires_at"`
}

// SSOTokenItem names one sign-in item, as read from its item name.
type SSOTokenItem struct {
	Key  string // the keyring item name, for Get and Remove
	Name string // the sso-session, or the start URL of a legacy profile
}

// SSOTokenStore keeps IAM Identity Center sign-ins in the keyring, beside
// the sessions, with the same non-secret expiry index in the cache
// directory. It also reads the items aws-vault v7 keeps for its own SSO
// sign-ins ("oidc:<start URL>").
type SSOTokenStore struct {
	Keyring  keyring.Keyring
	IndexDir string // "" disables the index
	Debugf   func(format string, args ...any)
}

func (s *SSOTokenStore) debugf(format string, args ...any) {
	if s.Debugf != nil {
		s.Debugf(format, args...)
	}
}

// Get returns the sign-in stored under key, or nil when there is none. As
// with sessions, an item that does not decode is a miss (and is removed,
// unless only the passphrase does not fit); a keyring that cannot be read
// is an error.
func (s *SSOTokenStore) Get(key string) (*SSOToken, error) {
	item, err := s.Keyring.Get(key)
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return nil, nil
	}
	var ue *UndecodableItemError
	if errors.As(err, &ue) && ue.WrongPassphrase {
		s.debugf("IAM Identity Center sign-in %s does not decrypt with this passphrase (%v); signing in again to replace it", key, err)
		return nil, nil
	}
	if isUndecodable(err) {
		s.debugf("IAM Identity Center sign-in %s cannot be decoded (%v); removing it", key, err)
		_ = s.Remove(key)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the IAM Identity Center sign-in %s: %w", key, err)
	}
	var t SSOToken
	if err := json.Unmarshal(item.Data, &t); err != nil || t.StartURL == "" {
		s.debugf("IAM Identity Center sign-in %s is not a rolevault sign-in; removing it", key)
		_ = s.Remove(key)
		return nil, nil
	}
	return &t, nil
}

// Put stores t under key, replacing what was there in one keyring write (a
// rotated refresh token replaces the old one, never beside it), and records
// its non-secret state in the index.
func (s *SSOTokenStore) Put(key string, t *SSOToken) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	err = s.Keyring.Set(keyring.Item{
		Key:         key,
		Data:        data,
		Label:       fmt.Sprintf("rolevault IAM Identity Center sign-in (%s)", t.Name),
		Description: "rolevault sso token",
		// A bearer token: keep it on this device.
		KeychainNotSynchronizable: true,
	})
	if err != nil {
		return fmt.Errorf("storing the IAM Identity Center sign-in %s: %w", t.Name, err)
	}
	s.writeIndex(key, t)
	return nil
}

// Remove forgets the sign-in under key; a missing one is not an error.
func (s *SSOTokenStore) Remove(key string) error {
	s.notes().remove(key)
	err := s.Keyring.Remove(key)
	if err != nil && !errors.Is(err, keyring.ErrKeyNotFound) && !os.IsNotExist(err) {
		return fmt.Errorf("removing the IAM Identity Center sign-in %s: %w", key, err)
	}
	return nil
}

// List returns the sign-in items, sorted by name, from the item names alone.
func (s *SSOTokenStore) List() ([]SSOTokenItem, error) {
	names, err := s.Keyring.Keys()
	if err != nil {
		return nil, fmt.Errorf("listing the keyring: %w", err)
	}
	var out []SSOTokenItem
	for _, n := range names {
		if name, ok := plan.ParseSSOTokenKey(n); ok {
			out = append(out, SSOTokenItem{Key: n, Name: name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// State reports what the index knows about the sign-in under key, without
// reading the keyring; ok is false when the index has no entry.
func (s *SSOTokenStore) State(key string) (st SSOTokenState, ok bool, err error) {
	if ok, err := s.notes().read(key, &st); !ok || err != nil || st.Key != key {
		return SSOTokenState{}, false, err
	}
	return st, true, nil
}

// notes are the sign-ins' index (IndexDir/sso/*.json) and the notes failed
// sign-ins leave (*.failed), beside the sessions' index.
func (s *SSOTokenStore) notes() noteDir {
	return noteDir{dir: sub(s.IndexDir, "sso"), ext: ".json", debugf: s.Debugf}
}

func (s *SSOTokenStore) failures() noteDir {
	return noteDir{dir: sub(s.IndexDir, "sso"), ext: ".failed", debugf: s.Debugf}
}

func (s *SSOTokenStore) writeIndex(key string, t *SSOToken) {
	s.notes().write(key, SSOTokenState{Key: key, Name: t.Name, StartURL: t.StartURL, ExpiresAt: t.ExpiresAt,
		Refreshable: t.RefreshToken != "", ClientSecretExpiresAt: t.ClientSecretExpiresAt})
}

// awsVaultOIDCPrefix starts the names of aws-vault v7's SSO token items.
const awsVaultOIDCPrefix = "oidc:"

// awsVaultOIDCToken is the JSON of aws-vault v7's item: the SDK's
// CreateTokenOutput as encoding/json writes it, and when it expires.
type awsVaultOIDCToken struct {
	Token struct {
		AccessToken  *string
		RefreshToken *string
		ExpiresIn    int32
	}
	Expiration time.Time
}

// AWSVaultToken reads the token aws-vault v7 stored for startURL, or nil.
// aws-vault keeps no client registration, so its refresh token (it never
// asks for one) could not be used; only a valid access token is of use.
func (s *SSOTokenStore) AWSVaultToken(startURL string) (*SSOToken, error) {
	item, err := s.Keyring.Get(awsVaultOIDCPrefix + startURL)
	if errors.Is(err, keyring.ErrKeyNotFound) || isUndecodable(err) {
		return nil, nil
	}
	var ue *UndecodableItemError
	if errors.As(err, &ue) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading aws-vault's IAM Identity Center token for %s: %w", startURL, err)
	}
	var v awsVaultOIDCToken
	if json.Unmarshal(item.Data, &v) != nil || v.Token.AccessToken == nil || *v.Token.AccessToken == "" {
		s.debugf("aws-vault's token item for %s is not in aws-vault v7's format; ignoring it", startURL)
		return nil, nil
	}
	return &SSOToken{StartURL: startURL, AccessToken: *v.Token.AccessToken, ExpiresAt: v.Expiration}, nil
}

// IsAWSVaultOIDCKey reports whether an item name is one of aws-vault's SSO
// token items, and for which start URL.
func IsAWSVaultOIDCKey(name string) (startURL string, ok bool) {
	return strings.CutPrefix(name, awsVaultOIDCPrefix)
}

// ssoFailure is the non-secret note a failed sign-in leaves in the index, so
// processes that waited for it fail with the same reason instead of each
// opening a sign-in of their own in turn.
type ssoFailure struct {
	Key     string    `json:"key"`
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

// RecordFailure notes that signing in for key failed with msg (one line,
// no secret); ClearFailure removes the note after a sign-in succeeds.
func (s *SSOTokenStore) RecordFailure(key, msg string, at time.Time) {
	s.failures().write(key, ssoFailure{Key: key, At: at, Message: msg})
}

// ClearFailure removes the note RecordFailure left for key.
func (s *SSOTokenStore) ClearFailure(key string) { s.failures().remove(key) }

// FailedSince reports the message of a sign-in for key that failed after
// since: a process that waited for that sign-in gives up with it.
func (s *SSOTokenStore) FailedSince(key string, since time.Time) (string, bool) {
	var f ssoFailure
	if ok, err := s.failures().read(key, &f); !ok || err != nil || f.Key != key || !f.At.After(since) {
		return "", false
	}
	return f.Message, true
}
