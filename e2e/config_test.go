package e2e

// How rolevault reads ~/.aws/config and ~/.aws/credentials where the AWS
// CLI and SDK read them in ways people rely on, and how it stays bounded on
// input no real config has.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeHelper writes an executable credential_process helper that prints a
// Version 1 document only when it gets exactly the arguments want, so a
// command split over several lines proves it ran as one command.
func writeHelper(t *testing.T, e *Env, want string) string {
	t.Helper()
	path := filepath.Join(e.Home, "helper.sh")
	script := "#!/bin/sh\nif [ \"$*\" != " + shQuote(want) + " ]; then echo \"helper got: $*\" >&2; exit 3; fi\n" +
		`echo '{"Version": 1, "AccessKeyId": "AKIAHELPERHELPER0001", "SecretAccessKey": "helper-secret"}'` + "\n"
	must(t, os.WriteFile(path, []byte(script), 0o700))
	return path
}

// TestConfigContinuationLine: a long credential_process continued on an
// indented line, which the AWS CLI and SDK accept, used to make the whole
// file fail to parse. Now the continued command runs as one command, and
// the other profiles still work.
func TestConfigContinuationLine(t *testing.T) {
	e := NewEnv(t)
	helper := writeHelper(t, e, "--account 111111111111 --role deploy")
	e.WriteConfig(t, "[profile other]\nregion = eu-west-1\n\n"+
		"[profile cp]\ncredential_process = "+helper+" --account 111111111111\n    --role deploy\nregion = eu-west-1\n")
	r := e.Run(t, "export", "--format=json", "cp")
	expect(t, r, 0, "out:AKIAHELPERHELPER0001")
	r = e.Run(t, "list", "--profiles")
	expect(t, r, 0, "out:other", "out:cp")
}

// TestConfigPartialKeysAcrossFiles: a key ID in the config file and a secret
// in the credentials file used to be paired into one key. The AWS CLI and
// SDKs refuse such partial credentials; rolevault says where each half is,
// before any AWS call.
func TestConfigPartialKeysAcrossFiles(t *testing.T) {
	e := NewEnv(t)
	e.WriteConfig(t, "[profile a]\nregion = eu-west-1\naws_access_key_id = AKIAPARTIALPARTIAL01\n")
	must(t, os.WriteFile(e.Credentials, []byte("[a]\naws_secret_access_key = partial-secret\n"), 0o600))
	r := e.Run(t, "export", "a")
	expect(t, r, 1, "err:"+e.Config+":3:", `err:profile "a"`,
		"err:aws_access_key_id is in "+e.Config+" but aws_secret_access_key is in "+e.Credentials)
	if strings.Contains(r.Stderr+r.Stdout, "partial-secret") {
		t.Errorf("the secret was printed:\n%s", r)
	}
}
