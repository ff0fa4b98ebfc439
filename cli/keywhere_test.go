package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// explain names the backend and suggests add only when no key is stored.
func TestExplainSaysWhereTheKeyIs(t *testing.T) {
	explainEnv(t)
	out := runExplain(t, &ExplainCmd{Profile: "login"}, "")
	if !strings.Contains(out, `access key stored in the file keyring (~/.awsvault/keys) as "login"`) || strings.Contains(out, "rolevault add") || strings.Contains(out, "keychain") {
		t.Errorf("with the key stored:\n%s", out)
	}
	home, _ := os.UserHomeDir()
	if err := os.Remove(filepath.Join(home, ".awsvault", "keys", "login")); err != nil {
		t.Fatal(err)
	}
	out = runExplain(t, &ExplainCmd{Profile: "login"}, "")
	if !strings.Contains(out, `no access key stored in the file keyring (~/.awsvault/keys) as "login" yet: store it with 'rolevault add login'`) {
		t.Errorf("without the key:\n%s", out)
	}
}

// "no access key stored" says where rolevault looked and what to do, and
// finds a key the file keyring has when another backend was chosen.
func TestNoKeyStoredSaysWhatToDo(t *testing.T) {
	home := keysEnv(t)
	writeConfig(t, home, "[profile dev]\nregion = us-east-1\n")
	code, _, stderr := krRun(t, "--backend", "file", "export", "dev")
	if code != ExitError || !strings.Contains(stderr, `no access key stored for profile "dev" in the file keyring (`) ||
		!strings.Contains(stderr, "Store it with 'rolevault add dev'") || !strings.Contains(stderr, "--backend") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// list on a machine with nothing set up says how to start, on stderr, exit 0.
func TestListWithNothingSetUp(t *testing.T) {
	keysEnv(t)
	code, out, stderr := krRun(t, "--backend", "file", "list")
	if code != 0 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "start with 'rolevault add PROFILE'") || strings.Contains(out, "rolevault add") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	home := os.Getenv("HOME")
	writeConfig(t, home, "[profile dev]\n")
	if _, _, stderr := krRun(t, "--backend", "file", "list"); stderr != "" {
		t.Errorf("with a profile, list still hints: %q", stderr)
	}
}
