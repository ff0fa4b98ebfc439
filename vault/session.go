package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Cached sessions live in the same keyring as long-term keys, under names that
// cannot be profile names (they contain ':'):
//
//	rolevault-session:<kind>:<profile>:<digest>
//
// The digest covers everything that changes what STS returns (role, MFA serial,
// duration, external id, tags, the source session's key, …), so a cached read
// is exactly one keyring Get of a name computed without I/O.
const sessionKeyPrefix = "rolevault-session:"

// SessionKey builds the keyring item name for a session of kind for profile,
// from the parameters that determine its result.
func SessionKey(kind StepKind, profile string, params ...string) string {
	h := sha256.New()
	for _, p := range params {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return sessionKeyPrefix + string(kind) + ":" + profile + ":" + hex.EncodeToString(h.Sum(nil)[:8])
}

// ParseSessionKey reports the kind and profile a session item name belongs to;
// ok is false for names that are not rolevault sessions (such as stored keys).
func ParseSessionKey(name string) (kind StepKind, profile string, ok bool) {
	rest, found := strings.CutPrefix(name, sessionKeyPrefix)
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

// IsSessionKey reports whether a keyring item name is a cached session.
func IsSessionKey(name string) bool { return strings.HasPrefix(name, sessionKeyPrefix) }

// Session is the JSON value of a cached session item.
type Session struct {
	Kind            StepKind  `json:"kind"`
	Profile         string    `json:"profile"`
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token"`
	Expiration      time.Time `json:"expiration"`
}
