package e2e

// A key stored in the keyring and an old, stale key for the same profile in
// ~/.aws/credentials (what moving to aws-vault leaves behind): the stored key
// is used, as aws-vault uses it, and one warning line says where the
// plaintext copy is and what to delete. A profile with keys only in the file
// keeps working without a keyring passphrase.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolevault/rolevault/internal/ststest"
)

const staleKeyID = "AKIASTALESTALESTALE1"

// staleWorld stores alice's key for profile dev and writes an old key for
// dev into the credentials file, on line 2.
func staleWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	w.E.WriteConfig(t, w.config("[profile dev]\nregion = "+worldRegion+"\nendpoint_url = "+w.URL+"\n"))
	w.E.Set("AWS_ACCESS_KEY_ID", w.KeyID, "AWS_SECRET_ACCESS_KEY", w.Secret)
	expect(t, w.E.Run(t, "add", "dev", "--env", "--no-add-config"), 0)
	delete(w.E.Vars, "AWS_ACCESS_KEY_ID")
	delete(w.E.Vars, "AWS_SECRET_ACCESS_KEY")
	must(t, os.WriteFile(w.E.Credentials, []byte("[dev]\naws_access_key_id = "+staleKeyID+"\naws_secret_access_key = stale-secret\n"), 0o600))
	return w
}

// checkStaleWarning wants stderr to be exactly one line: the warning that
// names the file, the line and what to delete.
func checkStaleWarning(t *testing.T, w *world, r Result) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.Stderr, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("want exactly one line on stderr, got %d: %s", len(lines), r)
	}
	for _, want := range []string{"rolevault: warning:", w.E.Credentials + " line 2", "aws_access_key_id and aws_secret_access_key", "[dev]"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("warning lacks %q: %s", want, lines[0])
		}
	}
	if strings.Contains(r.Stderr, "rolevault add") {
		t.Errorf("warning asks to add a key that is already stored: %s", lines[0])
	}
}

func TestStaleFileKeyExecUsesStoredKey(t *testing.T) {
	w := staleWorld(t)
	r := w.E.Run(t, "exec", "dev", "--", "sh", "-c", `printf '%s\n' "$AWS_ACCESS_KEY_ID"`)
	expect(t, r, 0)
	checkStaleWarning(t, w, r)
	akid := strings.TrimSpace(r.Stdout)
	if strings.Count(r.Stdout, "\n") != 1 {
		t.Errorf("stdout holds more than the child's line: %q", r.Stdout)
	}
	s, ok := w.STS.Session(akid)
	if !ok || s.Kind != ststest.KindSessionToken || s.CallerAccessKeyID != w.KeyID {
		t.Errorf("the child's key %s is %+v (known %v); want a session made with the stored key %s", akid, s, ok, w.KeyID)
	}
}

func TestStaleFileKeyRotate(t *testing.T) {
	w := staleWorld(t)
	w.STS.SetIAMRegion("us-east-1")
	r := w.E.Run(t, "rotate", "dev")
	expect(t, r, 0, "err:Deleted the old access key "+w.KeyID)
	ids := w.aliceKeys()
	if len(ids) != 1 || ids[0] == w.KeyID || !strings.Contains(r.Stderr, "now uses access key "+ids[0]) {
		t.Fatalf("alice's keys after rotate: %v (old %s):\n%s", ids, w.KeyID, r)
	}
	if r.Stdout != "" {
		t.Errorf("rotate wrote to stdout: %q", r.Stdout)
	}
	// The file's stale copy is still there, so the warning still is too.
	if !strings.Contains(r.Stderr, w.E.Credentials+" line 2") {
		t.Errorf("rotate did not warn about the plaintext copy:\n%s", r.Stderr)
	}
}

func TestStaleFileKeyExplain(t *testing.T) {
	w := staleWorld(t)
	r := w.E.Run(t, "explain", "dev")
	expect(t, r, 0, "access key stored in the file keyring (", `) as "dev"; the plaintext copy in `+w.E.Credentials+" line 2 is ignored")
	if strings.Contains(r.Stdout, "written in plain text") {
		t.Errorf("explain says the file's key is used:\n%s", r.Stdout)
	}
}

// A profile whose keys are only in the credentials file, on a machine whose
// file keyring does not exist yet, with no passphrase in the environment and
// no terminal: it works as before, with no passphrase prompt and no warning
// beyond the plain-text one.
func TestFileKeysOnlyNoKeyringNoPrompt(t *testing.T) {
	w := newWorld(t)
	requireTool(t, "setsid", "util-linux")
	id, secret := w.STS.AddUser(loginAccount, "bob")
	e := NewEnv(t)
	e.Set("AWS_VAULT_BACKEND", "file", "AWS_VAULT_FILE_DIR", filepath.Join(e.Home, "keys"))
	e.WriteConfig(t, "[profile plain]\nregion = "+worldRegion+"\nendpoint_url = "+w.URL+"\n")
	must(t, os.WriteFile(e.Credentials, []byte("[plain]\naws_access_key_id = "+id+"\naws_secret_access_key = "+secret+"\n"), 0o600))

	r := e.Exec(t, "setsid", binary, "export", "--format=json", "plain")
	expect(t, r, 0)
	c := parseProcessCreds(t, r.Stdout)
	if s, ok := w.STS.Session(c.AccessKeyID); !ok || s.CallerAccessKeyID != id {
		t.Errorf("credentials %s do not come from the file's key %s (%+v)", c.AccessKeyID, id, s)
	}
	lines := strings.Split(strings.TrimRight(r.Stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "plain text") || strings.Contains(r.Stderr, "passphrase") || strings.Contains(r.Stderr, "keyring") {
		t.Errorf("want only the plain-text warning on stderr: %s", r)
	}
}
