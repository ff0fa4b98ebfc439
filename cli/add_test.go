package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Keys people keep in aws-vault besides AWS's: the shapes each S3-compatible
// service issues. They are stored (with a note), never refused.
var otherServiceKeys = []struct{ service, id, secret string }{
	{"Cloudflare R2", "3f2a6c1e9b8d4f7a0c5e2b1d6a9f8e7c", "9d2c1b0a8f7e6d5c4b3a29181716151413121110fedcba98765432100a1b2c3d"},
	{"MinIO default", "minioadmin", "minioadmin"},
	{"Backblaze B2", "0051234567890ab0000000001", "K005aBcDeFgHiJkLmNoPqRsTuVwXyZ1"},
	{"Wasabi", "W7QK2ZP9XH4M1NB8RT3C", "oXq8k3ZpL0vR9sT2uW5yA7bC1dE4fG6hJ8kM0nP3"},
	{"DigitalOcean Spaces", "DO00QWERTYUIOPASDFGH", "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7sU9w"},
	{"MinIO with a + in its secret", "MINIOUSER01", "abc+def/ghi"},
}

func TestValidateKey(t *testing.T) {
	for _, k := range otherServiceKeys {
		if err := validateKey(k.id, k.secret); err != nil {
			t.Errorf("%s key refused: %v", k.service, err)
		}
		if note := keyShapeNote(k.id, k.secret); note == "" || strings.Contains(note, "\n") {
			t.Errorf("%s key: note %q, want one line", k.service, note)
		}
	}
	if err := validateKey(testKeyID, testSecret); err != nil {
		t.Errorf("AWS key refused: %v", err)
	}
	if note := keyShapeNote(testKeyID, testSecret); note != "" {
		t.Errorf("AWS key got a note: %q", note)
	}
	if note := keyShapeNote(testKeyID, testSecret[:39]); !strings.Contains(note, "39 characters") {
		t.Errorf("AWS ID with a 39-character secret: note %q", note)
	}

	for _, tt := range []struct{ name, id, secret, want string }{
		{"empty ID", "", testSecret, "access key ID is empty"},
		{"empty secret", testKeyID, "", "secret access key is empty"},
		{"space in ID", "AKIAIOSF ODNN7EXAMPLE", testSecret, "space or a control character"},
		{"tab in secret", testKeyID, "wJalrXUtnFEMI/K7MDENG\tbPxRfiCYEXAMPLEKEY", "space or a control character"},
		{"line break in R2 secret", otherServiceKeys[0].id, "9d2c1b0a8f7e6d5c\n4b3a2918", "space or a control character"},
		{"temporary key", "ASIAIOSFODNN7EXAMPLE", testSecret, "temporary"},
		{"swapped", testSecret, testKeyID, "looks like a secret access key"},
		{"secret in ID field", testSecret, testSecret, "looks like a secret access key"},
		{"ID in both fields", testKeyID, testKeyID, "secret access key looks like an access key ID"},
		{"ID in secret field of an R2 key", otherServiceKeys[0].id, testKeyID, "secret access key looks like an access key ID"},
	} {
		err := validateKey(tt.id, tt.secret)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
			continue
		}
		if tt.id != "" && strings.Contains(err.Error(), tt.id) || tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
			t.Errorf("%s: the message echoes the input: %v", tt.name, err)
		}
		if h, ok := err.(interface{ Hint() string }); !ok || h.Hint() == "" {
			t.Errorf("%s: no hint", tt.name)
		}
	}
}

// The ID is checked alone before the secret is asked for.
func TestValidateKeyIDAlone(t *testing.T) {
	for _, id := range []string{"", "ASIAIOSFODNN7EXAMPLE", testSecret, "AKIA IOSFODNN7EXAMPLE"} {
		if validateKeyID(id) == nil {
			t.Errorf("validateKeyID(%q) accepted it", id)
		}
	}
	for _, k := range otherServiceKeys {
		if err := validateKeyID(k.id); err != nil {
			t.Errorf("%s ID refused: %v", k.service, err)
		}
	}
}

func TestNearMisses(t *testing.T) {
	names := []string{"default", "dev", "login", "prod", "prod-eu", "staging"}
	for _, tt := range []struct {
		name string
		want string
	}{
		{"prdo", "prod"}, // swapped letters
		{"prod2", "prod"},
		{"prod-e", "prod-eu,prod"},
		{"prodeu", "prod-eu,prod"},
		{"stagign", "staging"},
		{"stging", "staging"},
		{"Prod", "prod"},
		{"dve", "dev"},
		{"qa", ""},
		{"x", ""},
		{"sandbox", ""},
		{"prod", ""}, // itself is in the config, and 3 edits from prod-eu
	} {
		if got := strings.Join(nearMisses(tt.name, names), ","); got != tt.want {
			t.Errorf("nearMisses(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if d := editDistance("prdo", "prod"); d != 1 {
		t.Errorf("editDistance(prdo, prod) = %d, want 1 (a swap)", d)
	}
}

// add prdo when prod exists is refused before anything is read (no key, no
// passphrase), with the command that stores it anyway; that command works.
func TestAddNearMissOfAProfile(t *testing.T) {
	home := keysEnv(t)
	writeConfig(t, home, "[profile prod]\nregion = eu-west-1\n")
	t.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	code, _, stderr := krRun(t, "--backend", "file", "add", "prdo", "--env")
	if code != ExitError || !strings.Contains(stderr, `did you mean "prod"?`) || !strings.Contains(stderr, "rolevault add --new-profile prdo") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(home, "keys")); err == nil {
		t.Error("the keyring was opened before the profile name was checked")
	}
	if code, _, stderr := krRun(t, "--backend", "file", "add", "--new-profile", "prdo", "--env"); code != 0 {
		t.Errorf("add --new-profile prdo: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(home, "keys", "prdo")); err != nil {
		t.Errorf("--new-profile did not store the key: %v", err)
	}
}

func TestAddStoresOtherServicesKeys(t *testing.T) {
	home := keysEnv(t)
	for _, k := range otherServiceKeys {
		t.Setenv("AWS_ACCESS_KEY_ID", k.id)
		t.Setenv("AWS_SECRET_ACCESS_KEY", k.secret)
		code, _, stderr := krRun(t, "--backend", "file", "add", "s3", "--env", "--no-add-config")
		if code != 0 {
			t.Errorf("%s: exit %d: %s", k.service, code, stderr)
			continue
		}
		if n := strings.Count(stderr, "\n"); n != 1 || !strings.Contains(stderr, "note: this is not an AWS-shaped key") {
			t.Errorf("%s: stderr %q, want the one-line note", k.service, stderr)
		}
		got, err := fileStore(t, home, "test-passphrase").Get("s3")
		if err != nil || got.AccessKeyID != k.id || got.SecretAccessKey != k.secret {
			t.Errorf("%s: stored %q, %v", k.service, got.AccessKeyID, err)
		}
	}
}
