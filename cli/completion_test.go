package cli

import (
	"os"
	"sort"
	"strings"
	"testing"
)

func TestCompletionAnswersTheShell(t *testing.T) {
	home := keysEnv(t)
	// A keyring that cannot open: completion must never try.
	t.Setenv("AWS_VAULT_BACKEND", "no-such-backend")
	writeConfig(t, home, "[default]\n[profile login]\n[profile dev]\nsource_profile = login\nrole_arn = arn:aws:iam::222222222222:role/dev\n")
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"rolevault ro", []string{"rotate"}},
		{"rolevault lo", []string{"login"}},
		{"rolevault login --sw", []string{"--switch-role"}},
		{"rolevault login -", nil}, // checked below: includes -d, -n, -t, -s
		{"rolevault exec ", []string{"default", "dev", "login"}},
		{"rolevault login --switch-role d", []string{"default", "dev"}},
		{"rolevault export --format ", []string{"env", "export-env", "export-json", "ini", "json"}},
	} {
		t.Setenv("COMP_LINE", tc.line)
		code, out, stderr := krRun(t, "ignored")
		if code != 0 || stderr != "" {
			t.Errorf("%q: exit %d, stderr %q", tc.line, code, stderr)
			continue
		}
		got := strings.Fields(out)
		sort.Strings(got)
		if tc.want == nil {
			for _, f := range []string{"-d", "--duration", "-n", "-t", "-s", "--stdout", "--path", "--region"} {
				if !hasString(got, f) {
					t.Errorf("%q: %q missing from %v", tc.line, f, got)
				}
			}
			continue
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%q: got %v, want %v", tc.line, got, tc.want)
		}
	}
	os.Unsetenv("COMP_LINE")
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestCompletionScripts(t *testing.T) {
	keysEnv(t)
	os.Unsetenv("COMP_LINE")
	for shell, want := range map[string][]string{
		"bash": {"complete -o default -C ", " rolevault\n"},
		"zsh":  {"bashcompinit", "complete -o default -C "},
		"fish": {"set -lx COMP_LINE (commandline -cp)", "complete -c rolevault -f -a '(__rolevault_complete)'"},
	} {
		code, out, stderr := krRun(t, "completion", shell)
		if code != 0 {
			t.Errorf("%s: exit %d, %s", shell, code, stderr)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s script lacks %q:\n%s", shell, w, out)
			}
		}
	}
	if code, _, _ := krRun(t, "completion", "tcsh"); code != ExitUsage {
		t.Errorf("unknown shell: exit %d", code)
	}
}

func TestShellWord(t *testing.T) {
	for in, want := range map[string]string{
		"rolevault":                "rolevault",
		"/usr/local/bin/rolevault": "/usr/local/bin/rolevault",
		"/Users/a b/rolevault":     "'/Users/a b/rolevault'",
		"/tmp/it's/rolevault":      `'/tmp/it'\''s/rolevault'`,
	} {
		if got := shellWord(in); got != want {
			t.Errorf("shellWord(%q) = %s, want %s", in, got, want)
		}
	}
}
