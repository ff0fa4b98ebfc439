package plan

import (
	"testing"

	"github.com/rolevault/rolevault/config"
)

// The SSO role session is keyed per account, role and sign-in: two
// sso-sessions on one start URL (two people, or other scopes) never share
// one, and the sign-in item is per sso-session.
func TestSSOCacheKeys(t *testing.T) {
	key := func(session, account, role string) string {
		p := &config.Profile{Name: "p", SSO: &config.SSOSettings{Session: session, StartURL: "https://x/start", Region: "r", AccountID: account, RoleName: role}}
		pl, err := New(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return pl.Steps[0].CacheKey
	}
	base := key("a", "111111111111", "R")
	for _, other := range []string{key("b", "111111111111", "R"), key("a", "222222222222", "R"), key("a", "111111111111", "S")} {
		if other == base {
			t.Errorf("cache keys collide: %s", base)
		}
	}
	if k, _, ok := ParseSessionKey(base); !ok || k != StepSSO {
		t.Errorf("%s does not parse as an sso session", base)
	}
	tok := SSOTokenKey("corp", "https://x/start", "r")
	if name, ok := ParseSSOTokenKey(tok); !ok || name != "corp" || !IsSessionKey(tok) {
		t.Errorf("token key %s: %q %v", tok, name, ok)
	}
	if _, ok := ParseSSOTokenKey(base); ok {
		t.Errorf("a role session parses as a sign-in")
	}
}
