package keychain

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rolevault/rolevault/plan"
)

// ServiceName is the keyring service every item lives under. It is
// aws-vault's, so keys stored by aws-vault v7 are found by rolevault and the
// other way round.
const ServiceName = "aws-vault"

// ErrKeyNotStored matches (errors.Is) the error KeyStore returns when no access
// key is stored under a profile's name. It also matches keyring.ErrKeyNotFound,
// so code written against the keyring library keeps working.
var ErrKeyNotStored = errors.New("no access key stored")

// KeyNotStoredError says which profile has no stored key.
type KeyNotStoredError struct{ Profile string }

func (e *KeyNotStoredError) Error() string {
	return fmt.Sprintf("no access key stored for profile %q", e.Profile)
}

// Is makes the error match both our sentinel and the keyring library's.
func (e *KeyNotStoredError) Is(target error) bool {
	return target == ErrKeyNotStored || target == keyring.ErrKeyNotFound
}

// KeyStore keeps long-term access keys in a keyring, one item per profile, in
// exactly the layout aws-vault v7 uses: Key is the profile name, Label is
// "aws-vault (<profile>)", Data is the JSON of aws-sdk-go-v2's aws.Credentials.
// Cached sessions share the keyring; KeyStore tells the two apart by name alone,
// so listing never decrypts anything.
type KeyStore struct {
	Keyring keyring.Keyring

	// SessionIndexDir is the session cache's index directory (see
	// SessionCache.IndexDir); sessions removed through KeyStore are dropped
	// from that index too, so it never claims a session that is gone.
	SessionIndexDir string
}

// Get returns the access key stored for profile. A missing item is a
// *KeyNotStoredError; an item that is not an access key says so, rather than
// handing an empty key to STS.
func (s *KeyStore) Get(profile string) (aws.Credentials, error) {
	item, err := s.Keyring.Get(profile)
	if isNotFound(err) {
		return aws.Credentials{}, &KeyNotStoredError{Profile: profile}
	}
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("reading the access key of profile %q: %w", profile, err)
	}
	var c aws.Credentials
	if err := json.Unmarshal(item.Data, &c); err != nil {
		return aws.Credentials{}, fmt.Errorf("the keyring item for profile %q is not an access key (bad JSON: %v)", profile, err)
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return aws.Credentials{}, fmt.Errorf("the keyring item for profile %q has no access key ID or secret", profile)
	}
	return c, nil
}

// Set stores c as profile's access key, replacing any key stored before.
func (s *KeyStore) Set(profile string, c aws.Credentials) error {
	if profile == "" {
		return errors.New("storing an access key: empty profile name")
	}
	if plan.IsSessionKey(profile) || isForeignNonKeyItem(profile) || IsPartialWrite(profile) {
		// Such a name would be hidden from ListProfiles and clobber a cache item.
		return fmt.Errorf("%q cannot be a profile name: it is reserved for cached sessions", profile)
	}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	err = s.Keyring.Set(keyring.Item{
		Key:   profile,
		Label: fmt.Sprintf("aws-vault (%s)", profile),
		Data:  data,
		// As aws-vault: on macOS, ask before any other program reads the key.
		KeychainNotTrustApplication: true,
	})
	if err != nil {
		return fmt.Errorf("storing the access key of profile %q: %w", profile, err)
	}
	return nil
}

// CheckOpens reports whether the keyring opens for profile's item: a wrong
// file passphrase or a locked keyring is an error, anything else (the item
// opens, is missing, or is not a usable key) is not. Remove calls it; remove
// asks it before its confirmation question, so a mistyped passphrase is
// reported before anyone is asked anything.
func (s *KeyStore) CheckOpens(profile string) error {
	if _, err := s.Keyring.Get(profile); errors.Is(err, ErrWrongFilePassphrase) || errors.Is(err, ErrKeyringLocked) {
		return err
	}
	return nil
}

// Remove deletes the access key stored for profile; a missing key is a
// *KeyNotStoredError. Backends disagree on what removing a missing item does
// (secret-service succeeds silently, file returns an fs error), so existence is
// checked first by name. The item is then read, because some backends delete
// without opening the item (the file keyring needs no passphrase to unlink a
// file): a mistyped passphrase or a locked keyring must not cost the key, so
// those errors stop the removal. An item that opens but is not a usable key
// may still be removed.
func (s *KeyStore) Remove(profile string) error {
	ok, err := s.Has(profile)
	if err != nil {
		return err
	}
	if !ok {
		return &KeyNotStoredError{Profile: profile}
	}
	if err := s.CheckOpens(profile); err != nil {
		return err
	}
	if err := s.Keyring.Remove(profile); err != nil && !isNotFound(err) {
		return fmt.Errorf("removing the access key of profile %q: %w", profile, err)
	}
	return nil
}

// Has reports whether an access key is stored for profile, from the item
// names alone: no decryption, no passphrase, no unlock prompt for the secret.
func (s *KeyStore) Has(profile string) (bool, error) {
	names, err := s.names()
	return slices.Contains(names, profile), err
}

// ListProfiles returns, sorted, the names of the profiles that have a stored
// access key: every item that is neither a rolevault session nor one of the
// items aws-vault keeps beside its keys (its own sessions and SSO tokens).
func (s *KeyStore) ListProfiles() ([]string, error) {
	names, err := s.names()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if n != "" && !plan.IsSessionKey(n) && !isForeignNonKeyItem(n) && !IsPartialWrite(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// SessionItem names one cached session, as read from its item name; reading
// its expiry needs a keyring Get (see SessionCache).
type SessionItem struct {
	Name    string // the keyring item name, for SessionCache.Get/Remove
	Kind    plan.StepKind
	Profile string
}

// Sessions lists the cached rolevault sessions, sorted by profile then name,
// without reading (decrypting) any of them. IAM Identity Center sign-ins are
// not sessions: SSOTokenStore.List has them.
func (s *KeyStore) Sessions() ([]SessionItem, error) {
	names, err := s.names()
	if err != nil {
		return nil, err
	}
	var out []SessionItem
	for _, n := range names {
		if kind, profile, ok := plan.ParseSessionKey(n); ok && kind != plan.StepSSOToken {
			out = append(out, SessionItem{Name: n, Kind: kind, Profile: profile})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Profile != out[j].Profile {
			return out[i].Profile < out[j].Profile
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// RemoveSessions deletes every cached session of profile and returns how many
// it removed. Sessions aws-vault cached for the profile go too: they were made
// from the key being replaced or removed, and rolevault never reads them.
func (s *KeyStore) RemoveSessions(profile string) (int, error) {
	names, err := s.names()
	if err != nil {
		return 0, err
	}
	cache := &SessionCache{Keyring: s.Keyring, IndexDir: s.SessionIndexDir}
	n := 0
	for _, name := range names {
		kind, p, ok := plan.ParseSessionKey(name)
		if kind == plan.StepSSOToken {
			continue // a sign-in, not a session of this profile (SSOTokenStore)
		}
		if !ok {
			p, ok = awsVaultSessionProfile(name)
		}
		if !ok || p != profile {
			continue
		}
		if err := cache.Remove(name); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// names lists every item name in the keyring, which reads no secret.
func (s *KeyStore) names() ([]string, error) {
	names, err := s.Keyring.Keys()
	if err != nil {
		return nil, fmt.Errorf("listing the keyring: %w", err)
	}
	return names, nil
}

func isNotFound(err error) bool {
	return errors.Is(err, keyring.ErrKeyNotFound) || errors.Is(err, fs.ErrNotExist)
}

// aws-vault v7 keeps sessions beside the keys under names like
// "sts.GetSessionToken,<base64url profile>,<base64url mfa serial>,<unix expiry>"
// (older releases used the other shapes below) and SSO tokens under
// "oidc:<start URL>". None of them is a profile.
var (
	awsVaultSessionName     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^,]+,([^,]+),[^,]*,[0-9]+$`) })
	awsVaultOldSessionNames = sync.OnceValue(func() []*regexp.Regexp {
		return []*regexp.Regexp{
			regexp.MustCompile(`^session,[^,]+,[^,]*,[0-9]{2,}$`),
			regexp.MustCompile(`^session:[^ ]+:[^ ]*:[^:]+$`),
			regexp.MustCompile(`^.+? session \(\d+\)$`),
		}
	})
)

func isForeignNonKeyItem(name string) bool {
	if strings.HasPrefix(name, "oidc:") {
		return true
	}
	if _, ok := awsVaultSessionProfile(name); ok {
		return true
	}
	for _, re := range awsVaultOldSessionNames() {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

// awsVaultSessionProfile decodes the profile from an aws-vault v7 session name.
func awsVaultSessionProfile(name string) (string, bool) {
	m := awsVaultSessionName().FindStringSubmatch(name)
	if m == nil {
		return "", false
	}
	p, err := base64.RawURLEncoding.DecodeString(m[1])
	if err != nil {
		return "", false
	}
	return string(p), true
}
