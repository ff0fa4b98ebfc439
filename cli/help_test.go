package cli

import (
	"bytes"
	"strings"
	"testing"
)

// aws-vault's parser has a help command: `aws-vault help exec` prints exec's
// help, `aws-vault help` the overview. Muscle memory keeps typing it.
func TestHelpCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "Usage: rolevault <command>"},
		{[]string{"help", "exec"}, "Usage: rolevault exec"},
		{[]string{"help", "list"}, "Usage: rolevault list"},
	} {
		var out, errOut bytes.Buffer
		code := Main(tc.args, "test", Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
		if code != ExitOK || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 0 and %q", tc.args, code, out.String(), errOut.String(), tc.want)
		}
	}
	var out, errOut bytes.Buffer
	if code := Main([]string{"help", "nosuch"}, "test", Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}); code != ExitUsage {
		t.Errorf("help of an unknown command: exit %d, want %d (stderr %q)", code, ExitUsage, errOut.String())
	}
}

// A command group typed without one of its commands (or with a wrong one)
// points at the group's own help, which lists them; other usage errors keep
// the general hint.
func TestUsageHintNamesTheCommandGroup(t *testing.T) {
	for _, tc := range []struct {
		args []string
		hint string
	}{
		{[]string{"agent", "bogus"}, "  Run 'rolevault agent --help' for its commands.\n"},
		{[]string{"sso"}, "  Run 'rolevault sso --help' for its commands.\n"},
		{[]string{"bogus"}, "  Run 'rolevault --help' for usage.\n"},
		{[]string{"explain", "--nope", "x"}, "  Run 'rolevault --help' for usage.\n"},
	} {
		var out, errOut bytes.Buffer
		code := Main(tc.args, "test", Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
		if code != ExitUsage || !strings.HasSuffix(errOut.String(), tc.hint) || strings.Count(errOut.String(), "\n") != 2 {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and two lines ending %q", tc.args, code, errOut.String(), ExitUsage, tc.hint)
		}
	}
}
