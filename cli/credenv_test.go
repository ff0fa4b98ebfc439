package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

var testCreds = aws.Credentials{
	AccessKeyID: "ASIAEXAMPLEEXAMPLE01", SecretAccessKey: "secret/with+chars=", SessionToken: "token==",
	CanExpire: true, Expires: time.Date(2030, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)),
}

func TestBuildEnvironUnsetsWhatAwsVaultUnsets(t *testing.T) {
	parent := []string{"PATH=/bin", "AWS_PROFILE=old", "AWS_DEFAULT_PROFILE=old", "AWS_ACCESS_KEY_ID=AKIAOLD",
		"AWS_SECRET_ACCESS_KEY=old", "AWS_SESSION_TOKEN=old", "AWS_SECURITY_TOKEN=old", "AWS_CREDENTIAL_FILE=x",
		"AWS_SDK_LOAD_CONFIG=1", "AWS_REGION=eu-west-1", "HOME=/root"}
	env := childEnv{Profile: "prod", Region: "us-east-2"}
	got := buildEnviron(parent, env.vars(testCreds), credentialVars)
	want := map[string]string{
		"PATH": "/bin", "HOME": "/root", "AWS_VAULT": "prod", "AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "us-east-2",
		"AWS_ACCESS_KEY_ID": testCreds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": testCreds.SecretAccessKey,
		"AWS_SESSION_TOKEN": "token==", "AWS_CREDENTIAL_EXPIRATION": "2030-01-02T02:04:05Z",
	}
	seen := map[string]string{}
	for _, e := range got {
		k, v, _ := strings.Cut(e, "=")
		if _, dup := seen[k]; dup {
			t.Errorf("%s set twice", k)
		}
		seen[k] = v
	}
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("%s = %q, want %q", k, seen[k], v)
		}
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_FILE", "AWS_SDK_LOAD_CONFIG"} {
		if _, ok := seen[k]; ok {
			t.Errorf("%s leaked into the child", k)
		}
	}
}

func TestExportJSONIsCredentialProcessV1(t *testing.T) {
	var b strings.Builder
	if err := writeExport(&b, "json", childEnv{Profile: "prod"}, testCreds); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	if doc["Version"] != 1.0 || doc["AccessKeyId"] != testCreds.AccessKeyID || doc["SecretAccessKey"] != testCreds.SecretAccessKey ||
		doc["SessionToken"] != "token==" || doc["Expiration"] != "2030-01-02T02:04:05Z" {
		t.Fatalf("document = %v", doc)
	}
}

func TestExportEnvFormats(t *testing.T) {
	for _, tc := range []struct{ format, want string }{
		{"env", "AWS_ACCESS_KEY_ID=ASIAEXAMPLEEXAMPLE01\n"},
		{"export-env", "export AWS_SECRET_ACCESS_KEY=secret/with+chars=\n"},
		{"ini", "[prod]\naws_access_key_id = ASIAEXAMPLEEXAMPLE01\n"}, // a credentials-file section
	} {
		var b strings.Builder
		if err := writeExport(&b, tc.format, childEnv{Profile: "prod", Region: "eu-west-1"}, testCreds); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("%s output lacks %q:\n%s", tc.format, tc.want, b.String())
		}
		if strings.Contains(b.String(), "AWS_VAULT=") {
			t.Errorf("%s output sets AWS_VAULT", tc.format)
		}
	}
	var b strings.Builder
	if err := writeExport(&b, "yaml", childEnv{}, testCreds); err == nil || b.Len() != 0 {
		t.Fatalf("unknown format: err=%v, wrote %q", err, b.String())
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"abc": "abc", "a b": "'a b'", "it's": `'it'\''s'`, "": "''"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExportEnvOrderMatchesAwsVault(t *testing.T) {
	var b strings.Builder
	if err := writeExport(&b, "env", childEnv{Profile: "prod", Region: "eu-west-1"}, testCreds); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		k, _, _ := strings.Cut(line, "=")
		names = append(names, k)
	}
	want := "AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION AWS_REGION AWS_DEFAULT_REGION"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("order %s, want %s", got, want)
	}
}
