package keychain

import (
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolevault/rolevault/plan"
)

// How aws-vault v7 classifies the items of a keyring it shares with
// rolevault, written down from its source (ByteNess/aws-vault and
// 99designs/aws-vault v7, vault/credentialkeyring.go Keys,
// vault/sessionkeyring.go, vault/oidctokenkeyring.go), not taken from it:
//
//   - credential: every item name that is neither a session nor "oidc:…"
//     (CredentialKeyring.Keys); `aws-vault list --credentials` prints these.
//   - session, current form: "<type>,<profile>,<mfaSerial>,<expiry>" where
//     the whole name matches ^[^,]+,[^,]+,[^,]*,[0-9]{1,}$, profile and
//     mfaSerial decode as unpadded base64url, and expiry parses as an int
//     (Unix seconds). Sessions whose expiry is in the past are deleted by
//     aws-vault's clean-up on every session read or write. aws-vault finds
//     its own session by the prefix "<type>,<profile>,<mfa>," with type one
//     of its STS/SSO call names ("sts.GetSessionToken", "sts.AssumeRole",
//     "sso.GetRoleCredentials", …).
//   - session, old forms: ^session,[^,]+,[^,]*,[0-9]{2,}$,
//     ^session:[^ ]+:[^ ]*:[^:]+$ and ^(.+?) session \((\d+)\)$ — aws-vault
//     deletes these whenever it cleans up.
type awsVaultClass struct {
	credential, oidc, session, old bool
	sessionType, profile           string
	expiry                         time.Time
}

func awsVaultClassify(name string) awsVaultClass {
	var c awsVaultClass
	for _, re := range []string{`^session,[^,]+,[^,]*,[0-9]{2,}$`, `^session:[^ ]+:[^ ]*:[^:]+$`, `^(.+?) session \((\d+)\)$`} {
		if regexp.MustCompile(re).MatchString(name) {
			c.old = true
		}
	}
	if m := regexp.MustCompile(`^([^,]+),([^,]+),([^,]*),([0-9]{1,})$`).FindStringSubmatch(name); m != nil {
		p, err1 := base64.URLEncoding.WithPadding(base64.NoPadding).DecodeString(m[2])
		_, err2 := base64.URLEncoding.WithPadding(base64.NoPadding).DecodeString(m[3])
		// Atoi on the platform's int; 32-bit builds exist, so the expiry
		// must fit in 32 bits to be a session on every one of them.
		exp, err3 := strconv.ParseInt(m[4], 10, 32)
		if err1 == nil && err2 == nil && err3 == nil {
			c.session, c.sessionType, c.profile, c.expiry = true, m[1], string(p), time.Unix(exp, 0)
		}
	}
	c.oidc = strings.HasPrefix(name, "oidc:")
	c.credential = !c.session && !c.old && !c.oidc
	return c
}

// TestSessionNamesAreSessionsToAWSVault: every session name rolevault makes
// is, by aws-vault v7's rule, a current-form session of the right profile,
// not a credential, not one aws-vault would take for its own (type), and not
// one its clean-up deletes (expiry far in the future).
func TestSessionNamesAreSessionsToAWSVault(t *testing.T) {
	kinds := []plan.StepKind{plan.StepGetSessionToken, plan.StepAssumeRole, plan.StepGetFederationToken, plan.StepWebIdentity, plan.StepSSO}
	profiles := []string{"dev", "prod", "team/prod", "a:b", "with space", "ünïcode", "x,y", "p%20q", "-", strings.Repeat("long", 40)}
	for _, k := range kinds {
		for _, p := range profiles {
			name := plan.SessionKey(k, p, "arn:aws:iam::1:role/r", "1h")
			c := awsVaultClassify(name)
			if c.credential || !c.session || c.old {
				t.Errorf("%q: aws-vault sees %+v; want a current-form session", name, c)
				continue
			}
			if c.profile != p {
				t.Errorf("%q: aws-vault reads profile %q, want %q", name, c.profile, p)
			}
			if strings.HasPrefix(c.sessionType, "sts.") || strings.HasPrefix(c.sessionType, "sso.") {
				t.Errorf("%q: type %q is one of aws-vault's own", name, c.sessionType)
			}
			if c.expiry.Before(time.Date(2038, 1, 1, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("%q: aws-vault would delete it as expired after %v", name, c.expiry)
			}
			if gk, gp, ok := plan.ParseSessionKey(name); !ok || gk != k || gp != p {
				t.Errorf("ParseSessionKey(%q) = %q %q %v", name, gk, gp, ok)
			}
		}
	}
	// Temporary files of interrupted writes are not credentials either, and
	// aws-vault's clean-up deletes them.
	tmp, _ := tempName()
	if c := awsVaultClassify(tmp); c.credential || !c.session || c.expiry.After(time.Unix(10, 0)) {
		t.Errorf("temporary name %q: aws-vault sees %+v", tmp, c)
	}
	// The old rolevault names are what aws-vault listed as credentials; they
	// are still sessions to rolevault.
	legacy := "rolevault-session:AssumeRole:prod:0123456789abcdef"
	if !awsVaultClassify(legacy).credential {
		t.Errorf("the rule above does not reproduce the reported bug for %q", legacy)
	}
	if k, p, ok := plan.ParseSessionKey(legacy); !ok || k != plan.StepAssumeRole || p != "prod" || !plan.IsSessionKey(legacy) {
		t.Errorf("legacy name no longer parses: %q %q %v", k, p, ok)
	}
	// aws-vault's own items stay what they are to rolevault.
	for _, n := range []string{"sts.GetSessionToken,ZGV2,,1700000000", "oidc:https://x.awsapps.com/start", "dev"} {
		if plan.IsSessionKey(n) {
			t.Errorf("%q taken for a rolevault session", n)
		}
	}
}
