package config

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
)

// TestContinuationLinesMatchSDK reads the same config file with
// aws-sdk-go-v2's own shared-config loader and with rolevault (both the
// indexed and the whole-file path) and compares the values: indented
// continuation lines are part of the value before them, as the SDK reads
// them, instead of making the whole file fail to parse.
func TestContinuationLinesMatchSDK(t *testing.T) {
	type field struct {
		key string
		sdk func(config.SharedConfig) string
	}
	credProcess := field{keyCredentialProcess, func(s config.SharedConfig) string { return s.CredentialProcess }}
	region := field{keyRegion, func(s config.SharedConfig) string { return s.Region }}
	mfa := field{keyMFASerial, func(s config.SharedConfig) string { return s.MFASerial }}
	tests := []struct {
		name   string
		config string
		fields []field
		sdkAs  string // what the SDK reads instead, when it cannot read config
	}{
		{"one continuation line",
			"[profile p]\ncredential_process = /usr/bin/helper --account 111111111111\n  --role deploy\nregion = eu-west-1\n",
			[]field{credProcess, region}, ""},
		{"several, past a blank line and a comment, tab-indented",
			"[profile p]\ncredential_process = helper\n  --a 1\n\n# note\n\t--b 2\n  --c\nregion = eu-west-1\n",
			[]field{credProcess, region}, ""},
		{"a comment on a continuation line is part of it",
			"[profile p]\ncredential_process = helper\n  --x # not a comment here\n",
			[]field{credProcess}, ""},
		{"quoted value, then a continuation",
			"[profile p]\ncredential_process = \"helper --a\"\n  --b\n",
			[]field{credProcess}, ""},
		{"nested values are not continuations",
			"[profile p]\ns3 =\n  max_concurrent_requests = 20\n  stray\nregion = eu-west-1\n",
			[]field{region}, ""},
		{"an indented key after a value is a key",
			"[profile p]\nregion = eu-west-1\n  mfa_serial = arn:aws:iam::111111111111:mfa/alice\n  more\n",
			[]field{region, mfa}, ""},
		{"a later definition replaces the continued one",
			"[profile p]\ncredential_process = old\n  --old\ncredential_process = new\n",
			[]field{credProcess}, ""},
		{"a repeated section's later definition wins",
			"[profile p]\ncredential_process = old\n  --old\n[profile q]\nregion = x\n[profile p]\ncredential_process = new\n  --new\n",
			[]field{credProcess}, ""},
		{"continuation of region",
			"[profile p]\nregion = eu-west-1\n  and more\n",
			[]field{region}, ""},
		{"byte-order mark (whole-file parse; the SDK reads no BOM)",
			"\xEF\xBB\xBF[profile p]\ncredential_process = helper\n  --a\n",
			[]field{credProcess}, "[profile p]\ncredential_process = helper\n  --a\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config")
			sdkText := tc.config
			if tc.sdkAs != "" {
				sdkText = tc.sdkAs
			}
			if err := os.WriteFile(path, []byte(sdkText), 0o600); err != nil {
				t.Fatal(err)
			}
			sdk, err := config.LoadSharedConfigProfile(context.Background(), "p", func(o *config.LoadSharedConfigOptions) {
				o.ConfigFiles = []string{path}
				o.CredentialsFiles = []string{filepath.Join(dir, "none")}
			})
			if err != nil {
				t.Fatalf("SDK: %v", err)
			}
			for _, whole := range []bool{false, true} {
				c, err := newConfig(iniFile{path: path, data: []byte(tc.config)}, iniFile{path: "creds"}, mapEnv(nil), whole)
				if err != nil {
					t.Fatalf("rolevault (whole=%v): %v", whole, err)
				}
				r := &resolver{c: c}
				sv, err := r.sectionValues("p", c.profiles["p"])
				if err != nil {
					t.Fatalf("rolevault (whole=%v): %v", whole, err)
				}
				for _, f := range tc.fields {
					got, _ := r.get(sv, f.key)
					if want := f.sdk(sdk); got.val != want {
						t.Errorf("%s (whole=%v): rolevault %q, SDK %q", f.key, whole, got.val, want)
					}
				}
			}
		})
	}
}
