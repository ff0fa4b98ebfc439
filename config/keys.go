// The config keys rolevault reads, which of them [default] and include_profile pass on, and the Profile.Origins keys of settings that are not config keys.

package config

// Config keys rolevault reads. Keys not listed here (output, cli_pager, s3, …)
// belong to other tools and are ignored.
const (
	keyRegion                = "region"
	keyMFASerial             = "mfa_serial"
	keyMFAProcess            = "mfa_process"
	keyRoleARN               = "role_arn"
	keySourceProfile         = "source_profile"
	keyCredentialSource      = "credential_source"
	keyExternalID            = "external_id"
	keyRoleSessionName       = "role_session_name"
	KeyDurationSeconds       = "duration_seconds"
	keyIncludeProfile        = "include_profile"
	keyParentProfile         = "parent_profile"
	keyCredentialProcess     = "credential_process"
	keyWebIdentityTokenFile  = "web_identity_token_file"
	keyWebIdentityTokenProc  = "web_identity_token_process"
	keySSOSession            = "sso_session"
	keySSOStartURL           = "sso_start_url"
	keySSORegion             = "sso_region"
	keySSOAccountID          = "sso_account_id"
	keySSORoleName           = "sso_role_name"
	keySSORegistrationScopes = "sso_registration_scopes"
	keySTSRegionalEndpoints  = "sts_regional_endpoints"
	keyEndpointURL           = "endpoint_url"
	keyIgnoreEndpointURLs    = "ignore_configured_endpoint_urls"
	keyServices              = "services"
	KeyCABundle              = "ca_bundle"
	keySessionTags           = "session_tags"
	keyTransitiveSessionTags = "transitive_session_tags"
	keySourceIdentity        = "source_identity"
	keyAccessKeyID           = "aws_access_key_id"
	keySecretAccessKey       = "aws_secret_access_key"
	keySessionToken          = "aws_session_token"
)

var profileKeys = []string{
	keyRegion, keyMFASerial, keyMFAProcess, keyRoleARN, keySourceProfile, keyCredentialSource,
	keyExternalID, keyRoleSessionName, KeyDurationSeconds, keyIncludeProfile, keyParentProfile,
	keyCredentialProcess, keyWebIdentityTokenFile, keyWebIdentityTokenProc, keySSOSession,
	keySSOStartURL, keySSORegion, keySSOAccountID, keySSORoleName, keySSORegistrationScopes,
	keySTSRegionalEndpoints, keyEndpointURL, keySessionTags, keyTransitiveSessionTags,
	keySourceIdentity, keyAccessKeyID, keySecretAccessKey, keySessionToken,
	keyIgnoreEndpointURLs, keyServices, KeyCABundle,
}

// defaultInheritedKeys are the [default] keys every other profile inherits
// when it sets them nowhere else. aws-vault v7 inherits every key of
// [default]; we keep the ones that describe the person and their
// environment and drop the ones that decide where credentials come from
// (role_arn, source_profile, credential_process, sso_*, web identity, …),
// because inheriting those silently turns every profile into a copy of
// [default] — the fall-back docs/architecture.md promises never to make.
var defaultInheritedKeys = map[string]bool{
	keyRegion: true, keyMFASerial: true, keyMFAProcess: true, keySTSRegionalEndpoints: true,
	keyEndpointURL: true, KeyDurationSeconds: true, keyRoleSessionName: true,
	keyIgnoreEndpointURLs: true, keyServices: true, KeyCABundle: true,
}

// keysNotIncluded are keys include_profile does not carry over: stored
// access keys belong to the profile that names them.
var keysNotIncluded = map[string]bool{
	keyAccessKeyID: true, keySecretAccessKey: true, keySessionToken: true,
	keyIncludeProfile: true, keyParentProfile: true,
}

// Keys of Profile.Origins for settings that are not config keys. Config
// keys (region, role_arn, duration_seconds, …) are their own origin keys;
// duration_seconds records where AssumeRoleDuration came from.
const (
	OriginSessionTokenTTL        = "session_token_ttl"
	OriginChainedSessionTokenTTL = "chained_session_token_ttl"
	OriginFederationTokenTTL     = "federation_token_ttl"
	OriginMinTTL                 = "min_ttl"
	OriginSTSEndpointURL         = "sts_endpoint_url"
	OriginIAMEndpointURL         = "iam_endpoint_url"
	OriginSSOOIDCEndpointURL     = "sso_oidc_endpoint_url"
	OriginSSOEndpointURL         = "sso_endpoint_url"
)

// KeySSOShareCache is rolevault's own key of an [sso-session] section:
// true writes the session's token to the AWS CLI's cache too
// (docs/sso.md). EnvSSOShareCache overrides it for every session.
const (
	KeySSOShareCache = "rolevault_share_sso_cache"
	EnvSSOShareCache = "ROLEVAULT_SHARE_SSO_CACHE"
)
