package config

import (
	"strings"
	"time"
)

// Profile is one profile of the AWS config after everything that feeds it has
// been applied: flags, environment, the profile's own keys, its include_profile
// chain and [default]. Source is the profile its source_profile names, resolved
// the same way; it is nil when this profile is where the chain starts.
type Profile struct {
	Name string
	File string // the config file the profile was read from, for error messages

	Region       string
	Endpoints    // endpoint URLs and the CA bundle
	RoleSettings // what AssumeRole sends
	Durations    // session lifetimes asked for
	MFASerial    string
	MFAProcess   string

	CredentialSource        string // "Environment" is the only one supported
	CredentialProcess       string
	WebIdentityTokenFile    string
	WebIdentityTokenProcess string
	SSO                     *SSOSettings

	// FileKeys is set when ~/.aws/credentials (or the config file) holds
	// keys for this profile; FileKeysAt says where ("FILE line N").
	FileKeys   *FileKeys
	FileKeysAt string
	// FileKeysIgnored is set when the keyring holds a key under this
	// profile's name too: that key is used, as aws-vault would, and FileKeys
	// is a plaintext leftover (see Overrides.StoredKeyBesideFile).
	FileKeysIgnored bool

	SourceProfileName string
	Source            *Profile

	// Origins says where each setting came from, keyed by config key
	// (region, role_arn, duration_seconds for AssumeRoleDuration, …) or by
	// an Origin* constant for settings that are not config keys: a file
	// path, `include_profile "base" in <file>`, `[default] in <file>`, an
	// environment variable or a flag. explain and --debug print it.
	Origins map[string]string

	// Warnings are problems that do not stop the profile from working (keys
	// in plain text, deprecated keys), for the CLI to print on stderr. The
	// target profile carries those of its whole source chain.
	Warnings []string
}

// Endpoints are where rolevault's own AWS calls go, and what a child is told.
//
// EndpointURL is the endpoint for every service (AWS_ENDPOINT_URL or the
// profile's endpoint_url), what a child is told; STSEndpointURL,
// IAMEndpointURL, SSOOIDCEndpointURL (IAM Identity Center's OIDC service)
// and SSOEndpointURL (its portal, GetRoleCredentials) are what rolevault's
// own calls use, after the service-specific settings (see buildEndpoints).
// All are empty when IgnoreConfiguredEndpointURLs; an empty one means AWS's
// own endpoint for the region.
type Endpoints struct {
	EndpointURL                  string
	STSEndpointURL               string
	IAMEndpointURL               string
	SSOOIDCEndpointURL           string
	SSOEndpointURL               string
	IgnoreConfiguredEndpointURLs bool
	STSRegionalEndpoints         string // "regional" or "legacy"
	// CABundle is the PEM file of CAs for HTTPS: AWS_CA_BUNDLE, else the
	// profile's ca_bundle.
	CABundle string
}

// RoleSettings are what an AssumeRole of the profile's role sends.
type RoleSettings struct {
	RoleARN               string
	RoleSessionName       string
	ExternalID            string
	SourceIdentity        string
	SessionTags           map[string]string
	TransitiveSessionTags []string
}

// Durations are the lifetimes a profile asks for; zero means "use the
// default for that call" (see the plan package).
type Durations struct {
	AssumeRoleDuration          time.Duration // duration_seconds, AWS_ASSUME_ROLE_TTL, --duration
	SessionTokenDuration        time.Duration // AWS_SESSION_TOKEN_TTL, --duration
	ChainedSessionTokenDuration time.Duration // AWS_CHAINED_SESSION_TOKEN_TTL
	FederationTokenDuration     time.Duration // AWS_FEDERATION_TOKEN_TTL
	MinTTL                      time.Duration // AWS_MIN_TTL; zero means DefaultMinTTL
}

// SSOSettings are the IAM Identity Center keys of a profile, merged from its
// [sso-session] section when it names one.
type SSOSettings struct {
	Session            string
	StartURL           string
	Region             string
	AccountID          string
	RoleName           string
	RegistrationScopes string // as written: comma-separated; "" means the default, sso:account:access
	// ShareCache is rolevault_share_sso_cache (or ROLEVAULT_SHARE_SSO_CACHE):
	// write the token to the AWS CLI's cache too.
	ShareCache bool
}

// DefaultSSOScope is the scope a sso-session registers with when it names
// none: the one GetRoleCredentials needs, and what earns a refresh token.
const DefaultSSOScope = "sso:account:access"

// Scopes are the registration scopes to ask for: none for a legacy profile
// (sso_start_url without sso_session, as the AWS CLI does, so no refresh
// token), else the session's list or DefaultSSOScope.
func (s *SSOSettings) Scopes() []string {
	if s.Session == "" {
		return nil
	}
	var out []string
	for _, f := range strings.Split(s.RegistrationScopes, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		out = []string{DefaultSSOScope}
	}
	return out
}

// TokenName is what the sign-in is known by: the sso-session's name, or the
// start URL for a legacy profile. The AWS CLI names its cache file by the
// SHA-1 of the same string.
func (s *SSOSettings) TokenName() string {
	if s.Session != "" {
		return s.Session
	}
	return s.StartURL
}

// FileKeys are keys read from the shared credentials file.
type FileKeys struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// DefaultMinTTL is how much lifetime a cached session must have left to be
// reused: botocore's advisory refresh window, so SDKs never refresh in a loop.
const DefaultMinTTL = 15 * time.Minute
