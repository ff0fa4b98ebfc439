package credentials

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/internal/ststest"
	"github.com/rolevault/rolevault/keychain"
	"github.com/rolevault/rolevault/plan"
)

// A key in the keyring and an old one for the same name in the credentials
// file (what moving to aws-vault leaves behind): the stored key wins, the
// file's copy gets one warning that says where it is and what to delete.

const staleCreds = `[dev]
region = us-east-1
aws_access_key_id = AKIAOLDOLDOLDOLDOLD1
aws_secret_access_key = old-secret
`

func TestStoredKeyBeatsFileKey(t *testing.T) {
	c := loadTest(t, "", staleCreds, nil)
	var asked []string
	p, err := c.Resolve("dev", config.Overrides{StoredKeyBesideFile: func(n string) bool { asked = append(asked, n); return n == "dev" }})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(asked) != "[dev]" {
		t.Errorf("keyring asked about %v, want [dev]", asked)
	}
	if !p.FileKeysIgnored {
		t.Fatal("FileKeysIgnored is false with a stored key beside the file's")
	}
	if len(p.Warnings) != 1 {
		t.Fatalf("want exactly one warning, got %q", p.Warnings)
	}
	w := p.Warnings[0]
	for _, want := range []string{c.CredentialsPath() + " line 3", "aws_access_key_id and aws_secret_access_key", "[dev] section", "keyring"} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q lacks %q", w, want)
		}
	}
	if strings.Contains(w, "rolevault add") || strings.Contains(w, "\n") {
		t.Errorf("warning %q should be one line and not ask to add a key that is already stored", w)
	}
	pl, err := plan.New(p, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if pl.Steps[0].Kind != plan.StepStoredKeys {
		t.Errorf("first step %s, want %s", pl.Steps[0].Kind, plan.StepStoredKeys)
	}
	if _, err := NewRotationPlan(p, plan.Options{}); err != nil {
		t.Errorf("rotate refused the stored key: %v", err)
	}
}

func TestFileKeyWithoutStoredKey(t *testing.T) {
	c := loadTest(t, "", staleCreds, nil)
	p, err := c.Resolve("dev", config.Overrides{StoredKeyBesideFile: func(string) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.New(p, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.FileKeysIgnored || pl.Steps[0].Kind != plan.StepCredentialsFile {
		t.Errorf("ignored %v, first step %s; want the file's key", p.FileKeysIgnored, pl.Steps[0].Kind)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "plain text") {
		t.Errorf("warnings %q, want only the plain-text one", p.Warnings)
	}
}

// The keyring is asked only about profiles with keys in a file: every other
// profile's warm run stays at one keyring read.
func TestStoredKeyBesideFileOnlyForFileKeys(t *testing.T) {
	c := loadTest(t, `
[profile role]
role_arn = arn:aws:iam::111111111111:role/r
source_profile = base
[profile base]
region = us-east-1
`, "", nil)
	calls := 0
	p, err := c.Resolve("role", config.Overrides{StoredKeyBesideFile: func(string) bool { calls++; return true }})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 0 || p.Source.FileKeysIgnored {
		t.Errorf("hook called %d times for profiles without file keys", calls)
	}
}

// Keys in the config file name its [profile NAME] section.
func TestStoredKeyBesideConfigFileKey(t *testing.T) {
	c := loadTest(t, "[profile dev]\naws_access_key_id = AKIAOLDOLDOLDOLDOLD1\naws_secret_access_key = old\naws_session_token = tok\n", "", nil)
	p, err := c.Resolve("dev", config.Overrides{StoredKeyBesideFile: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "[profile dev] section of "+c.ConfigPath()) ||
		!strings.Contains(p.Warnings[0], "aws_session_token") || !strings.Contains(p.Warnings[0], c.ConfigPath()+" line 2") {
		t.Errorf("warnings %q", p.Warnings)
	}
}

// Through the provider: the emulator refuses the stale file key, accepts
// the stored one, and the credentials come from the stored one.
func TestProviderUsesStoredKeyOverStaleFileKey(t *testing.T) {
	w := newWorld(t)
	ks := &keychain.KeyStore{Keyring: w.kr}
	must(t, ks.Set("dev", w.aliceKey))
	c := loadTest(t, "[profile dev]\nregion = us-east-1\nendpoint_url = "+w.url+"\n", staleCreds, nil)
	p, err := c.Resolve("dev", config.Overrides{StoredKeyBesideFile: func(n string) bool { ok, _ := ks.Has(n); return ok }})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.New(p, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := w.provider().Retrieve(context.Background(), pl)
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	s, ok := w.sts.Session(creds.AccessKeyID)
	if !ok || s.Kind != ststest.KindSessionToken || s.CallerAccessKeyID != w.aliceKey.AccessKeyID {
		t.Errorf("session %+v (found %v), want a GetSessionToken made with the stored key %s", s, ok, w.aliceKey.AccessKeyID)
	}
}

// TestRoleProfileIgnoresLeftoverFileKeys: a role profile (role_arn +
// source_profile) with keys left in its credentials-file section assumes the
// role with the source's keys, as the AWS CLI, the SDKs and aws-vault do,
// and says once that the leftover is ignored — it is not a config error.
func TestRoleProfileIgnoresLeftoverFileKeys(t *testing.T) {
	cfg := "[profile login]\nregion = us-east-1\n[profile prod]\nsource_profile = login\nrole_arn = arn:aws:iam::444444444444:role/admin\n"
	creds := "[login]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n" +
		"[prod]\naws_access_key_id = AKIAOLDLEFTOVER00000\naws_secret_access_key = oldoldoldoldoldoldoldoldoldoldoldoldoldo\n"
	c := loadTest(t, cfg, creds, nil)
	p, err := c.Resolve("prod", config.Overrides{})
	if err != nil {
		t.Fatalf("a role profile with leftover keys must resolve: %v", err)
	}
	if p.FileKeys != nil || p.SourceProfileName != "login" {
		t.Errorf("FileKeys %v, source %q: want the source's keys, not the leftover", p.FileKeys, p.SourceProfileName)
	}
	var mine []string
	for _, w := range p.Warnings {
		if strings.Contains(w, `profile "prod"`) {
			mine = append(mine, w)
		}
	}
	if len(mine) != 1 || !strings.Contains(mine[0], c.CredentialsPath()+" line 5") || !strings.Contains(mine[0], "is ignored") || !strings.Contains(mine[0], "[prod] section") {
		t.Errorf("want one warning naming the ignored key's file and line, got %q", mine)
	}
	pl, err := plan.New(p, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if pl.Steps[len(pl.Steps)-1].Kind != plan.StepAssumeRole {
		t.Errorf("last step %s, want AssumeRole", pl.Steps[len(pl.Steps)-1].Kind)
	}
}
