package keychain

import (
	"testing"
	"time"

	"github.com/99designs/keyring"
	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/plan"
)

func TestSessionCacheRoundTripAndIndex(t *testing.T) {
	kr := keyring.NewArrayKeyring(nil)
	c := &SessionCache{Keyring: kr, IndexDir: t.TempDir()}
	key := plan.SessionKey(plan.StepGetSessionToken, "login", "arn:aws:iam::111111111111:mfa/alice", "8h")
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if s, err := c.Get(key); s != nil || err != nil {
		t.Fatalf("empty cache: got %v, %v", s, err)
	}
	if err := c.Put(key, &Session{Kind: plan.StepGetSessionToken, Profile: "login", AccessKeyID: "ASIAX", SecretAccessKey: "s", SessionToken: "t", Expiration: exp}); err != nil {
		t.Fatal(err)
	}
	s, err := c.Get(key)
	if err != nil || s == nil || s.AccessKeyID != "ASIAX" || !s.Expiration.Equal(exp) {
		t.Fatalf("Get = %+v, %v", s, err)
	}
	got, ok, err := c.Expiry(key)
	if err != nil || !ok || !got.Equal(exp) {
		t.Fatalf("Expiry = %v %v %v", got, ok, err)
	}
	if err := c.Remove(key); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Expiry(key); ok {
		t.Fatal("index entry survived Remove")
	}
	if s, _ := c.Get(key); s != nil {
		t.Fatal("session survived Remove")
	}
}

func TestSessionCacheDropsCorruptItem(t *testing.T) {
	kr := keyring.NewArrayKeyring([]keyring.Item{{Key: "rolevault-session:AssumeRole:prod:00", Data: []byte("{not json")}})
	var debug string
	c := &SessionCache{Keyring: kr, Debugf: func(f string, a ...any) { debug = f }}
	s, err := c.Get("rolevault-session:AssumeRole:prod:00")
	if s != nil || err != nil {
		t.Fatalf("corrupt item: got %v, %v; want a miss", s, err)
	}
	if _, err := kr.Get("rolevault-session:AssumeRole:prod:00"); err == nil {
		t.Fatal("corrupt item was not removed")
	}
	if debug == "" {
		t.Fatal("no debug line for the corrupt item")
	}
}

func TestSessionUsable(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		left time.Duration
		want bool
	}{{time.Hour, true}, {16 * time.Minute, true}, {15 * time.Minute, false}, {time.Minute, false}, {-time.Minute, false}} {
		s := &Session{Expiration: now.Add(tc.left)}
		if got := s.Usable(now, config.DefaultMinTTL); got != tc.want {
			t.Errorf("%v left: usable = %v, want %v", tc.left, got, tc.want)
		}
	}
}

func TestSessionKeyRoundTrip(t *testing.T) {
	for _, profile := range []string{"prod", "team:prod", "a b"} {
		k := plan.SessionKey(plan.StepAssumeRole, profile, "x")
		kind, p, ok := plan.ParseSessionKey(k)
		if !ok || kind != plan.StepAssumeRole || p != profile {
			t.Errorf("ParseSessionKey(%q) = %v %q %v", k, kind, p, ok)
		}
	}
	if _, _, ok := plan.ParseSessionKey("prod"); ok {
		t.Error("a profile name parsed as a session key")
	}
	if plan.SessionKey(plan.StepGetSessionToken, "login", "a", "b") == plan.SessionKey(plan.StepGetSessionToken, "login", "ab") {
		t.Error("parameters are not separated in the digest")
	}
}
