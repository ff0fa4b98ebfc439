package keychain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewFileKeyringIgnoresAnInterruptedFirstWrite: a directory whose only
// file is the temporary one a killed first write left behind has no items, so
// the passphrase is chosen (and confirmed) as for a new keyring, not taken as
// the existing one's.
func TestNewFileKeyringIgnoresAnInterruptedFirstWrite(t *testing.T) {
	dir := t.TempDir()
	tmp, err := tempName()
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, tmp), []byte("partial"), 0o600))
	var prompts []string
	o := &Options{
		LookupEnv: func(string) (string, bool) { return "", false },
		ReadSecret: func(_, prompt string) (string, error) {
			prompts = append(prompts, prompt)
			return "pw", nil
		},
	}
	pw, err := o.filePassphrase(dir)("")
	if err != nil || pw != "pw" {
		t.Fatalf("passphrase = %q, %v", pw, err)
	}
	if len(prompts) != 2 || !strings.HasPrefix(prompts[0], "Choose a passphrase for the new file keyring") {
		t.Errorf("prompts %q, want the new-keyring prompt and its confirmation", prompts)
	}
}
