package plan

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"
	"sync"
)

// Cached sessions live in the same keyring as long-term keys, under names
// aws-vault v7 classifies as sessions, not as credentials (docs/caching.md):
//
//	rolevault.<kind>.<digest>,<base64url profile>,,2147483647
//
// aws-vault's rule (vault/sessionkeyring.go) is "type,profile,mfa,expiry"
// with both middle fields base64url and the expiry a Unix time; everything
// else that is not "oidc:…" it lists as a credential. The type field starts
// with "rolevault." so aws-vault never takes one of these for its own session
// (its types are "sts.…" and "sso.…"), and the expiry is the largest time a
// 32-bit int holds, so aws-vault's clean-up of expired sessions leaves them
// alone: the name cannot carry the real expiry, since it must be computed
// without I/O. The digest covers everything that changes what STS returns
// (role, MFA serial, duration, external id, tags, the source session's key,
// …), so a cached read is exactly one keyring Get.
const (
	sessionTypePrefix = "rolevault."
	sessionNameExpiry = "2147483647"
)

// legacySessionKeyPrefix is how rolevault named sessions before: aws-vault
// lists such items as credentials. They are still recognised as sessions
// (cache that `clear` and `remove` drop), never as profiles.
const legacySessionKeyPrefix = "rolevault-session:"

var sessionNameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^rolevault\.([A-Za-z0-9-]+)\.([0-9a-f]+),([A-Za-z0-9_-]+),,` + sessionNameExpiry + `$`)
})

// SessionKey builds the keyring item name for a session of kind for profile,
// from the parameters that determine its result.
func SessionKey(kind StepKind, profile string, params ...string) string {
	h := sha256.New()
	for _, p := range params {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return sessionTypePrefix + string(kind) + "." + hex.EncodeToString(h.Sum(nil)[:8]) + "," +
		base64.RawURLEncoding.EncodeToString([]byte(profile)) + ",," + sessionNameExpiry
}

// ParseSessionKey reports the kind and profile a session item name belongs to;
// ok is false for names that are not rolevault sessions (such as stored keys).
// Names of the older rolevault-session:<kind>:<profile>:<digest> form parse too.
func ParseSessionKey(name string) (kind StepKind, profile string, ok bool) {
	if m := sessionNameRE().FindStringSubmatch(name); m != nil {
		p, err := base64.RawURLEncoding.DecodeString(m[3])
		if err != nil {
			return "", "", false
		}
		return StepKind(m[1]), string(p), true
	}
	rest, found := strings.CutPrefix(name, legacySessionKeyPrefix)
	if !found {
		return "", "", false
	}
	parts := strings.Split(rest, ":")
	if len(parts) < 3 {
		return "", "", false
	}
	// Profile names may contain ':'; kind never does and the digest is last.
	return StepKind(parts[0]), strings.Join(parts[1:len(parts)-1], ":"), true
}

// StepSSOToken is the kind in the name of an IAM Identity Center sign-in
// item: one per sso-session (per start URL for a legacy profile) holding
// the client registration and the access and refresh tokens. It is not a
// step of any plan and not a session: SessionItems never lists it.
const StepSSOToken StepKind = "sso-token"

// SSOTokenKey names the keyring item of the sign-in known as name (the
// sso-session's name, or the start URL of a legacy profile) to startURL in
// region. It has the session items' shape, so aws-vault v7 ignores it and
// ListProfiles never shows it, with the name readable from the item name.
func SSOTokenKey(name, startURL, region string) string {
	return SessionKey(StepSSOToken, name, name, startURL, region)
}

// ParseSSOTokenKey reports the sign-in name an SSO token item belongs to.
func ParseSSOTokenKey(key string) (name string, ok bool) {
	kind, name, ok := ParseSessionKey(key)
	if !ok || kind != StepSSOToken {
		return "", false
	}
	return name, true
}

// IsSessionKey reports whether a keyring item name is a cached rolevault
// session, of the current or the older naming.
func IsSessionKey(name string) bool {
	if strings.HasPrefix(name, legacySessionKeyPrefix) {
		return true
	}
	_, _, ok := ParseSessionKey(name)
	return ok
}
