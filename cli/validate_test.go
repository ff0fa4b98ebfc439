package cli

import (
	"strings"
	"testing"
)

// Unknown --prompt and --backend values are usage errors found while the
// command line is parsed: exit 2, one line, before the config is read (the
// profile here does not exist, which would be exit 1).
func TestUnknownPromptAndBackendAreUsageErrors(t *testing.T) {
	keysEnv(t)
	for _, tt := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"explain", "--prompt=foo", "nope"}, nil, `unknown --prompt (AWS_VAULT_PROMPT) driver "foo": use one of terminal, ykman`},
		{[]string{"explain", "nope"}, map[string]string{"AWS_VAULT_PROMPT": "foo"}, `driver "foo"`},
		{[]string{"--backend", "nope", "list"}, nil, `unknown keyring backend "nope" (--backend, AWS_VAULT_BACKEND): use one of keychain, wincred, secret-service, kwallet, keyctl, pass, file`},
		{[]string{"list"}, map[string]string{"AWS_VAULT_BACKEND": "nope"}, `unknown keyring backend "nope"`},
	} {
		for k, v := range tt.env {
			t.Setenv(k, v)
		}
		code, out, stderr := krRun(t, tt.args...)
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		if code != ExitUsage || out != "" || !strings.Contains(lines[0], tt.want) || len(lines) != 2 {
			t.Errorf("%v %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.env, tt.args, code, out, stderr, tt.want)
		}
		for k := range tt.env {
			t.Setenv(k, "")
		}
	}
	for _, d := range []string{"terminal", "ykman", "zenity"} {
		if code, _, stderr := krRun(t, "explain", "--prompt", d, "nope"); code != ExitError || !strings.Contains(stderr, `profile "nope"`) {
			t.Errorf("--prompt %s: exit %d, %s", d, code, stderr)
		}
	}
}
