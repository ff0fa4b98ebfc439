package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestAddR2KeyFromEnv: a Cloudflare R2 key (32 hex characters, a 64-hex
// secret), which add used to refuse as "not an access key ID", is stored
// with one note line and read back.
func TestAddR2KeyFromEnv(t *testing.T) {
	e := NewEnv(t)
	e.Set("AWS_VAULT_BACKEND", "file", "AWS_VAULT_FILE_DIR", filepath.Join(e.Home, "keys"), "AWS_VAULT_FILE_PASSPHRASE", "pw",
		"AWS_ACCESS_KEY_ID", r2ID, "AWS_SECRET_ACCESS_KEY", r2Secret)
	r := e.Run(t, "add", "--env", "r2")
	expect(t, r, 0, "out:Added the access key for profile \"r2\"")
	if r.Stderr != "rolevault: note: this is not an AWS-shaped key (AKIA… and a 40-character secret); it is stored as given, as for an S3-compatible service (R2, MinIO, B2, Wasabi, Spaces)\n" {
		t.Errorf("want exactly the one note line on stderr: %s", r)
	}
	if strings.Contains(r.Stdout+r.Stderr, r2Secret) {
		t.Error("the secret was printed")
	}
	expect(t, e.Run(t, "list", "--credentials", "--check"), 0, "out:r2\t3f2a")
}

// TestAddNearMissNeedsNewProfile: add prdo when prod exists is refused
// before anything is asked, and --new-profile stores it.
func TestAddNearMissNeedsNewProfile(t *testing.T) {
	e := NewEnv(t)
	e.Set("AWS_VAULT_BACKEND", "file", "AWS_VAULT_FILE_DIR", filepath.Join(e.Home, "keys"), "AWS_VAULT_FILE_PASSPHRASE", "pw",
		"AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	e.WriteConfig(t, "[profile prod]\nregion = eu-west-1\n")
	expect(t, e.Run(t, "add", "--env", "prdo"), 1, `err:did you mean "prod"?`, "err:rolevault add --new-profile prdo")
	expect(t, e.Run(t, "add", "--env", "--new-profile", "prdo"), 0, "out:Added [profile prdo]")
}

// TestUnknownPromptIsAUsageError: explain --prompt=foo is refused while the
// command line is parsed: exit 2, one line (and the usage hint), nothing read.
func TestUnknownPromptIsAUsageError(t *testing.T) {
	e := NewEnv(t)
	r := e.Run(t, "explain", "--prompt=foo", "x")
	want := "rolevault: unknown --prompt (AWS_VAULT_PROMPT) driver \"foo\": use one of terminal, ykman, zenity, kdialog, osascript, wincredui\n" +
		"  Run 'rolevault --help' for usage.\n"
	if r.Code != 2 || r.Stdout != "" || r.Stderr != want {
		t.Errorf("want exit 2 and\n%s got %s", want, r)
	}
	expect(t, e.Run(t, "--backend", "nope", "list"), 2, `err:unknown keyring backend "nope"`)
}

// TestMessagesSayWhatToDo: on a machine with nothing set up, list says how
// to start (stderr, exit 0); explain names the backend and suggests add
// only while no key is stored; a command that needs the missing key says
// where it looked and what to run.
func TestMessagesSayWhatToDo(t *testing.T) {
	e := NewEnv(t)
	e.Set("AWS_VAULT_BACKEND", "file", "AWS_VAULT_FILE_DIR", filepath.Join(e.Home, ".awsvault", "keys"), "AWS_VAULT_FILE_PASSPHRASE", "pw")
	r := e.Run(t, "list")
	expect(t, r, 0, "err:start with 'rolevault add PROFILE'")
	if strings.Count(r.Stderr, "\n") != 1 {
		t.Errorf("want one hint line: %s", r)
	}
	e.WriteConfig(t, "[profile dev]\nregion = us-east-1\n")
	expect(t, e.Run(t, "explain", "dev"), 0, `out:no access key stored in the file keyring (~/.awsvault/keys) as "dev" yet: store it with 'rolevault add dev'`)
	expect(t, e.Run(t, "export", "dev"), 1, `err:no access key stored for profile "dev" in the file keyring (~/.awsvault/keys)`, "err:rolevault add dev", "err:--backend")
	e.Set("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	expect(t, e.Run(t, "add", "--env", "dev"), 0)
	r = e.Run(t, "explain", "dev")
	expect(t, r, 0, `out:access key stored in the file keyring (~/.awsvault/keys) as "dev"`)
	if strings.Contains(r.Stdout, "rolevault add") || strings.Contains(r.Stdout, "keychain") {
		t.Errorf("explain suggests add or names the keychain although the key is in the file keyring:\n%s", r.Stdout)
	}
	if r := e.Run(t, "list"); r.Stderr != "" {
		t.Errorf("list hints although a profile exists: %s", r)
	}
}
