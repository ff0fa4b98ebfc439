package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigMissingFilesAreEmpty(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(LoadOptions{
		ConfigFile:      filepath.Join(dir, "nope", "config"),
		CredentialsFile: filepath.Join(dir, "nope", "credentials"),
		LookupEnv:       mapEnv(nil),
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if n := c.ProfileNames(); len(n) != 0 {
		t.Errorf("ProfileNames = %v", n)
	}
	_, err = c.Resolve("default", Overrides{})
	if !errors.Is(err, ErrProfileNotFound) {
		t.Errorf("Resolve(default) on empty config: %v, want ErrProfileNotFound", err)
	}
}

func TestLoadConfigPaths(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name            string
		opts            LoadOptions
		env             map[string]string
		wantCfg, wantCr string
	}{
		{"defaults under HOME", LoadOptions{}, map[string]string{"HOME": home},
			filepath.Join(home, ".aws", "config"), filepath.Join(home, ".aws", "credentials")},
		{"environment variables", LoadOptions{},
			map[string]string{"HOME": home, "AWS_CONFIG_FILE": "/etc/aws/cfg", "AWS_SHARED_CREDENTIALS_FILE": "~/creds"},
			"/etc/aws/cfg", filepath.Join(home, "creds")},
		{"explicit paths beat the environment", LoadOptions{ConfigFile: "/x/c", CredentialsFile: "/x/k"},
			map[string]string{"HOME": home, "AWS_CONFIG_FILE": "/etc/aws/cfg"}, "/x/c", "/x/k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.LookupEnv = mapEnv(tt.env)
			c, err := Load(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.ConfigPath() != tt.wantCfg || c.CredentialsPath() != tt.wantCr {
				t.Errorf("paths = %q, %q; want %q, %q", c.ConfigPath(), c.CredentialsPath(), tt.wantCfg, tt.wantCr)
			}
		})
	}
}

func TestProfileNames(t *testing.T) {
	c := loadTest(t, `
[default]
region = eu-west-1
[profile b]
[profile a.b]
[sso-session corp]
sso_start_url = https://x
[services local]
[oops]
region = x
`, `
[default]
aws_access_key_id = A
aws_secret_access_key = B
[c]
aws_access_key_id = A
aws_secret_access_key = B
[profile d]
aws_access_key_id = A
aws_secret_access_key = B
`, nil)
	want := []string{"a.b", "b", "c", "d", "default"}
	if got := c.ProfileNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("ProfileNames = %v, want %v", got, want)
	}
	for _, n := range want {
		if !c.HasProfile(n) {
			t.Errorf("HasProfile(%q) = false", n)
		}
	}
	for _, n := range []string{"oops", "corp", "local", "a"} {
		if c.HasProfile(n) {
			t.Errorf("HasProfile(%q) = true", n)
		}
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "[oops]") || !strings.Contains(c.Warnings[0], "[profile oops]") {
		t.Errorf("Warnings = %q, want one about [oops]", c.Warnings)
	}
}

// What wins, for each way a value can be set. The table is the precedence
// rule of docs/config.md: flags > env > profile > include_profile > [default].
func TestResolvePrecedence(t *testing.T) {
	const cfg = `
[default]
region = default-region
mfa_serial = arn:aws:iam::111111111111:mfa/default
role_arn = arn:aws:iam::111111111111:role/from-default
credential_process = /bin/from-default

[profile base]
region = base-region
duration_seconds = 1800
external_id = ext-base

[profile base2]
include_profile = base
role_session_name = from-base2

[profile p]
include_profile = base2
source_profile = src
role_arn = arn:aws:iam::222222222222:role/p

[profile own]
region = own-region
source_profile = src
role_arn = arn:aws:iam::222222222222:role/own

[profile src]
mfa_serial = arn:aws:iam::111111111111:mfa/src
`
	tests := []struct {
		name    string
		profile string
		env     map[string]string
		ov      Overrides
		get     func(*Profile) any
		want    any
		origin  string // key of Origins to check, and the expected substring
		from    string
	}{
		{"[default] fills region", "src", nil, Overrides{}, func(p *Profile) any { return p.Region }, "default-region", "region", "[default]"},
		{"include chain beats [default]", "p", nil, Overrides{}, func(p *Profile) any { return p.Region }, "base-region", "region", `include_profile "base"`},
		{"own key beats include", "own", nil, Overrides{}, func(p *Profile) any { return p.Region }, "own-region", "region", "config"},
		{"AWS_DEFAULT_REGION beats the profile", "own", map[string]string{"AWS_DEFAULT_REGION": "env2"}, Overrides{},
			func(p *Profile) any { return p.Region }, "env2", "region", "AWS_DEFAULT_REGION"},
		{"AWS_REGION beats AWS_DEFAULT_REGION", "own", map[string]string{"AWS_DEFAULT_REGION": "env2", "AWS_REGION": "env1"}, Overrides{},
			func(p *Profile) any { return p.Region }, "env1", "region", "AWS_REGION"},
		{"--region beats the environment", "own", map[string]string{"AWS_REGION": "env1"}, Overrides{Region: "flag"},
			func(p *Profile) any { return p.Region }, "flag", "region", "--region"},
		{"--region applies to sources too", "own", nil, Overrides{Region: "flag"},
			func(p *Profile) any { return p.Source.Region }, "flag", "", ""},
		{"include chain of two", "p", nil, Overrides{}, func(p *Profile) any { return p.RoleSessionName }, "from-base2", "role_session_name", `include_profile "base2"`},
		{"duration_seconds through include", "p", nil, Overrides{}, func(p *Profile) any { return p.AssumeRoleDuration }, 30 * time.Minute, "", ""},
		{"AWS_ASSUME_ROLE_TTL beats duration_seconds", "p", map[string]string{"AWS_ASSUME_ROLE_TTL": "45m"}, Overrides{},
			func(p *Profile) any { return p.AssumeRoleDuration }, 45 * time.Minute, "duration_seconds", "AWS_ASSUME_ROLE_TTL"},
		{"--duration beats AWS_ASSUME_ROLE_TTL", "p", map[string]string{"AWS_ASSUME_ROLE_TTL": "45m"}, Overrides{Duration: 2 * time.Hour},
			func(p *Profile) any { return p.AssumeRoleDuration }, 2 * time.Hour, "duration_seconds", "--duration"},
		{"[default] role_arn is not inherited", "src", nil, Overrides{}, func(p *Profile) any { return p.RoleARN }, "", "", ""},
		{"[default] credential_process is not inherited", "src", nil, Overrides{}, func(p *Profile) any { return p.CredentialProcess }, "", "", ""},
		{"[default] mfa_serial is inherited", "own", nil, Overrides{}, func(p *Profile) any { return p.MFASerial },
			"arn:aws:iam::111111111111:mfa/default", "mfa_serial", "[default]"},
		{"AWS_MFA_SERIAL sets the target", "own", map[string]string{"AWS_MFA_SERIAL": "arn:aws:iam::1:mfa/env"}, Overrides{},
			func(p *Profile) any { return p.MFASerial }, "arn:aws:iam::1:mfa/env", "mfa_serial", "AWS_MFA_SERIAL"},
		{"AWS_MFA_SERIAL leaves sources alone", "own", map[string]string{"AWS_MFA_SERIAL": "arn:aws:iam::1:mfa/env"}, Overrides{},
			func(p *Profile) any { return p.Source.MFASerial }, "arn:aws:iam::111111111111:mfa/src", "", ""},
		{"--mfa-serial beats AWS_MFA_SERIAL", "own", map[string]string{"AWS_MFA_SERIAL": "arn:aws:iam::1:mfa/env"}, Overrides{MFASerial: "arn:aws:iam::1:mfa/flag"},
			func(p *Profile) any { return p.MFASerial }, "arn:aws:iam::1:mfa/flag", "mfa_serial", "--mfa-serial"},
		{"AWS_ROLE_ARN replaces the target's role", "own", map[string]string{"AWS_ROLE_ARN": "arn:aws:iam::333333333333:role/env"}, Overrides{},
			func(p *Profile) any { return p.RoleARN }, "arn:aws:iam::333333333333:role/env", "role_arn", "AWS_ROLE_ARN"},
		{"AWS_SESSION_TAGS and AWS_TRANSITIVE_TAGS", "own", map[string]string{"AWS_SESSION_TAGS": "team=ops, env=prod", "AWS_TRANSITIVE_TAGS": "team,env"}, Overrides{},
			func(p *Profile) any { return []any{p.SessionTags, p.TransitiveSessionTags} },
			[]any{map[string]string{"team": "ops", "env": "prod"}, []string{"env", "team"}}, "session_tags", "AWS_SESSION_TAGS"},
		{"AWS_SOURCE_IDENTITY and AWS_ROLE_SESSION_NAME", "own", map[string]string{"AWS_SOURCE_IDENTITY": "alice", "AWS_ROLE_SESSION_NAME": "alice-cli"}, Overrides{},
			func(p *Profile) any { return p.SourceIdentity + "/" + p.RoleSessionName }, "alice/alice-cli", "source_identity", "AWS_SOURCE_IDENTITY"},
		{"AWS_ENDPOINT_URL_STS beats AWS_ENDPOINT_URL", "own", map[string]string{"AWS_ENDPOINT_URL": "http://all:1", "AWS_ENDPOINT_URL_STS": "http://sts:2"}, Overrides{},
			func(p *Profile) any { return p.STSEndpointURL }, "http://sts:2", OriginSTSEndpointURL, "AWS_ENDPOINT_URL_STS"},
		{"AWS_ENDPOINT_URL alone", "own", map[string]string{"AWS_ENDPOINT_URL": "http://all:1"}, Overrides{},
			func(p *Profile) any { return p.EndpointURL }, "http://all:1", "", ""},
		{"TTL variables apply to sources", "own", map[string]string{"AWS_CHAINED_SESSION_TOKEN_TTL": "10h"}, Overrides{},
			func(p *Profile) any { return p.Source.ChainedSessionTokenDuration }, 10 * time.Hour, "", ""},
		{"AWS_MIN_TTL", "own", map[string]string{"AWS_MIN_TTL": "5m"}, Overrides{},
			func(p *Profile) any { return p.MinTTL }, 5 * time.Minute, OriginMinTTL, "AWS_MIN_TTL"},
		{"AWS_FEDERATION_TOKEN_TTL", "src", map[string]string{"AWS_FEDERATION_TOKEN_TTL": "2h"}, Overrides{},
			func(p *Profile) any { return p.FederationTokenDuration }, 2 * time.Hour, OriginFederationTokenTTL, "AWS_FEDERATION_TOKEN_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := loadTest(t, cfg, "", tt.env)
			p, err := c.Resolve(tt.profile, tt.ov)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got := tt.get(p); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
			if tt.origin != "" && !strings.Contains(p.Origins[tt.origin], tt.from) {
				t.Errorf("Origins[%s] = %q, want it to mention %q", tt.origin, p.Origins[tt.origin], tt.from)
			}
		})
	}
}

func TestResolveCredentialsFile(t *testing.T) {
	c := loadTest(t, `
[profile login]
mfa_serial = arn:aws:iam::111111111111:mfa/alice
region = config-region
`, `
[login]
aws_access_key_id = AKIAEXAMPLE
aws_secret_access_key = secret
region = creds-region

[profile-label]
role_arn = arn:aws:iam::222222222222:role/x
source_profile = login
mfa_serial = arn:aws:iam::111111111111:mfa/alice
`, nil)
	p, err := c.Resolve("login", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if p.FileKeys == nil || p.FileKeys.AccessKeyID != "AKIAEXAMPLE" || p.FileKeys.SecretAccessKey != "secret" {
		t.Errorf("FileKeys = %+v", p.FileKeys)
	}
	if p.Region != "creds-region" {
		t.Errorf("Region = %q: the credentials file should win, as in botocore", p.Region)
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "rolevault add login") {
		t.Errorf("Warnings = %q", p.Warnings)
	}
	// A role written in the credentials file (seed 002's layout) works, and
	// carries its source's warning up.
	r, err := c.Resolve("profile-label", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Source == nil || r.Source.Name != "login" || r.File != c.CredentialsPath() {
		t.Errorf("profile-label: source %v file %q", r.Source, r.File)
	}
	if len(r.Warnings) != 1 {
		t.Errorf("Warnings of the role = %q, want its source's", r.Warnings)
	}
}

func TestResolveIncludeDoesNotCarryKeys(t *testing.T) {
	c := loadTest(t, `
[profile a]
include_profile = keyed
`, `
[keyed]
aws_access_key_id = AKIAEXAMPLE
aws_secret_access_key = secret
region = r
`, nil)
	p, err := c.Resolve("a", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if p.FileKeys != nil || p.Region != "r" {
		t.Errorf("FileKeys %+v region %q: include_profile should copy settings, not keys", p.FileKeys, p.Region)
	}
}

func TestResolveDottedNamesAreNotChildren(t *testing.T) {
	c := loadTest(t, `
[profile a]
role_arn = arn:aws:iam::111111111111:role/a
source_profile = b
[profile a.b]
[profile b]
`, "", nil)
	p, err := c.Resolve("a.b", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if p.RoleARN != "" {
		t.Errorf("[profile a.b] inherited role_arn %q from [profile a]", p.RoleARN)
	}
}

func TestResolveSSO(t *testing.T) {
	c := loadTest(t, `
[profile s]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Admin
[profile legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = Read
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access
`, "", nil)
	p, err := c.Resolve("s", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	want := SSOSettings{Session: "corp", StartURL: "https://corp.awsapps.com/start", Region: "eu-west-1",
		AccountID: "123456789012", RoleName: "Admin", RegistrationScopes: "sso:account:access"}
	if p.SSO == nil || *p.SSO != want {
		t.Errorf("SSO = %+v", p.SSO)
	}
	l, err := c.Resolve("legacy", Overrides{})
	if err != nil || l.SSO == nil || l.SSO.StartURL != "https://legacy.awsapps.com/start" {
		t.Errorf("legacy SSO = %+v, %v", l, err)
	}
}

func TestResolveHasStoredKeys(t *testing.T) {
	c := loadTest(t, "[default]\nregion = eu-west-1\n", "", nil)
	stored := func(n string) bool { return n == "bare" }
	p, err := c.Resolve("bare", Overrides{HasStoredKeys: stored})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if p.Region != "eu-west-1" || len(p.Warnings) != 1 {
		t.Errorf("bare profile: region %q warnings %q", p.Region, p.Warnings)
	}
	if _, err := c.Resolve("other", Overrides{HasStoredKeys: stored}); !errors.Is(err, ErrProfileNotFound) {
		t.Errorf("other: %v", err)
	}
}

func TestResolveParentProfileDeprecated(t *testing.T) {
	c := loadTest(t, "[profile a]\nparent_profile = b\n[profile b]\nregion = r\n", "", nil)
	p, err := c.Resolve("a", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Region != "r" || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "include_profile") {
		t.Errorf("region %q warnings %q", p.Region, p.Warnings)
	}
}

// Every config mistake is a typed error naming file, line, profile and key,
// with a hint.
func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name     string
		config   string
		creds    string
		env      map[string]string
		profile  string
		kind     error
		wantMsg  []string // substrings; CONFIG and CREDS stand for the paths
		wantHint string
	}{
		{"unknown profile suggests the nearest", "[profile prod]\n[profile dev]\n", "", nil, "prd",
			ErrProfileNotFound, []string{`profile "prd" is not defined in CONFIG or CREDS`}, `did you mean "prod"?`},
		{"unknown profile, nothing close", "[profile prod]\n", "", nil, "zzzzzzzz",
			ErrProfileNotFound, []string{`"zzzzzzzz"`}, "rolevault list --profiles"},
		{"no fall-back to [default]", "[default]\nregion = x\n", "", nil, "missing",
			ErrProfileNotFound, []string{`"missing"`}, ""},
		{"source_profile cycle", "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/a\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::111111111111:role/b\nsource_profile = a\n", "", nil, "a",
			ErrSourceProfileCycle, []string{"CONFIG:6:", `profile "b"`, "source_profile cycle a → b → a"}, "break the cycle"},
		{"longer source_profile cycle", "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/a\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::111111111111:role/b\nsource_profile = c\n[profile c]\nrole_arn = arn:aws:iam::111111111111:role/c\nsource_profile = b\n", "", nil, "a",
			ErrSourceProfileCycle, []string{"b → c → b"}, ""},
		{"include_profile cycle", "[profile a]\ninclude_profile = b\n[profile b]\ninclude_profile = a\n", "", nil, "a",
			ErrIncludeProfileCycle, []string{"CONFIG:4:", "include_profile cycle a → b → a"}, ""},
		{"include_profile of itself", "[profile a]\ninclude_profile = a\n", "", nil, "a",
			ErrIncludeProfileCycle, []string{"a → a"}, ""},
		{"include_profile missing", "[profile a]\ninclude_profile = bse\n[profile base]\n", "", nil, "a",
			ErrIncludeProfileNotFound, []string{"CONFIG:2:", `"bse"`}, `did you mean "base"?`},
		{"source_profile missing", "[profile login]\n[profile dev]\nsource_profile = logn\nrole_arn = arn:aws:iam::111111111111:role/x\n", "", nil, "dev",
			ErrSourceProfileNotFound, []string{"CONFIG:3:", `profile "dev"`, `source_profile names profile "logn"`}, `did you mean "login"?`},
		{"role_arn not a role", "[profile a]\nsource_profile = b\nrole_arn = arn:aws:iam::111111111111:user/alice\n[profile b]\n", "", nil, "a",
			ErrInvalidRoleARN, []string{"CONFIG:3:", `profile "a"`, "role_arn", "not an IAM role ARN"}, "arn:aws:iam::123456789012:role/NAME"},
		{"role_arn short account", "[profile a]\nsource_profile = b\nrole_arn = arn:aws:iam::1234:role/x\n[profile b]\n", "", nil, "a",
			ErrInvalidRoleARN, nil, ""},
		{"role_arn from the environment", "[profile a]\n", "", map[string]string{"AWS_ROLE_ARN": "nope"}, "a",
			ErrInvalidRoleARN, []string{"AWS_ROLE_ARN"}, ""},
		{"duration_seconds not a number", "[profile a]\nsource_profile = b\nrole_arn = arn:aws:iam::111111111111:role/x\nduration_seconds = 1h\n[profile b]\n", "", nil, "a",
			ErrInvalidDuration, []string{"CONFIG:4:", "not a whole number"}, "900"},
		{"duration_seconds too long", "[profile a]\nsource_profile = b\nrole_arn = arn:aws:iam::111111111111:role/x\nduration_seconds = 86400\n[profile b]\n", "", nil, "a",
			ErrInvalidDuration, []string{"outside 900..43200"}, ""},
		{"duration_seconds too short", "[profile a]\nduration_seconds = 60\n", "", nil, "a",
			ErrInvalidDuration, nil, ""},
		{"bad duration_seconds inherited from [default]", "[default]\nduration_seconds = x\n[profile a]\n", "", nil, "a",
			ErrInvalidDuration, []string{"CONFIG:2:", "inherited from [default]"}, ""},
		{"TTL env not a Go duration", "[profile a]\n", "", map[string]string{"AWS_ASSUME_ROLE_TTL": "3600"}, "a",
			ErrInvalidDuration, []string{"AWS_ASSUME_ROLE_TTL"}, "1h"},
		{"credential_source Ec2InstanceMetadata", "[profile a]\ncredential_source = Ec2InstanceMetadata\nrole_arn = arn:aws:iam::111111111111:role/x\n", "", nil, "a",
			ErrUnsupportedCredentialSource, []string{"CONFIG:2:", "not supported by rolevault"}, "Environment"},
		{"credential_source EcsContainer", "[profile a]\ncredential_source = EcsContainer\n", "", nil, "a",
			ErrUnsupportedCredentialSource, nil, ""},
		{"credential_source unknown", "[profile a]\ncredential_source = Magic\n", "", nil, "a",
			ErrInvalidValue, []string{"Magic"}, ""},
		{"role without a source", "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/x\n", "", nil, "a",
			ErrMissingCredentialSource, []string{"CONFIG:2:", "neither source_profile nor credential_source"}, "source_profile"},
		{"role without a source but with keys", "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/x\n", "[a]\naws_access_key_id = A\naws_secret_access_key = B\n", nil, "a",
			ErrMissingCredentialSource, nil, "source_profile = a"},
		{"source_profile and credential_source", "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/x\nsource_profile = b\ncredential_source = Environment\n[profile b]\n", "", nil, "a",
			ErrConflictingKeySources, []string{"CONFIG:4:", "source_profile and credential_source"}, "keep one"},
		{"credential_process and sso", "[profile a]\ncredential_process = x\nsso_start_url = https://x\nsso_region = r\nsso_account_id = 123456789012\nsso_role_name = R\n", "", nil, "a",
			ErrConflictingKeySources, nil, ""},
		{"keys in file and credential_process", "[profile a]\ncredential_process = x\n", "[a]\naws_access_key_id = A\naws_secret_access_key = B\n", nil, "a",
			ErrConflictingKeySources, nil, ""},
		{"partial keys", "", "[a]\naws_access_key_id = A\n", nil, "a",
			ErrInvalidValue, []string{"CREDS:2:", "aws_secret_access_key is missing"}, "rolevault add a"},
		{"key ID in config, secret in credentials", "[profile a]\nregion = r\naws_access_key_id = A\n", "[a]\naws_secret_access_key = B\n", nil, "a",
			ErrInvalidValue, []string{"CONFIG:3:", `profile "a"`, "aws_access_key_id is in CONFIG but aws_secret_access_key is in CREDS"}, "rolevault add a"},
		{"session token in the other file", "[profile a]\naws_session_token = T\n", "[a]\naws_access_key_id = A\naws_secret_access_key = B\n", nil, "a",
			ErrInvalidValue, []string{"CREDS:2:", "aws_session_token is in CONFIG"}, "one of the files"},
		{"web identity without role", "[profile a]\nweb_identity_token_file = /t\n", "", nil, "a",
			ErrInvalidValue, []string{"needs role_arn"}, ""},
		{"incomplete SSO", "[profile a]\nsso_session = s\nsso_account_id = 123456789012\n[sso-session s]\nsso_start_url = https://x\nsso_region = r\n", "", nil, "a",
			ErrIncompleteSSO, []string{"sso_role_name"}, ""},
		{"missing sso-session", "[profile a]\nsso_session = crop\nsso_account_id = 1\nsso_role_name = R\n[sso-session corp]\n", "", nil, "a",
			ErrSSOSessionNotFound, []string{"CONFIG:2:"}, `did you mean "corp"?`},
		{"sts_regional_endpoints", "[profile a]\nsts_regional_endpoints = global\n", "", nil, "a",
			ErrInvalidValue, []string{"regional"}, ""},
		{"session_tags malformed", "[profile a]\nsession_tags = team\n", "", nil, "a",
			ErrInvalidValue, []string{"session_tags", "not key=value"}, "key1=value1"},
		{"endpoint_url", "[profile a]\nendpoint_url = localhost:4566\n", "", nil, "a",
			ErrInvalidValue, []string{"endpoint_url"}, ""},
		{"error in a source names the source", "[profile a]\nsource_profile = b\nrole_arn = arn:aws:iam::111111111111:role/x\n[profile b]\nsource_profile = c\nrole_arn = bad\n[profile c]\n", "", nil, "a",
			ErrInvalidRoleARN, []string{"CONFIG:6:", `profile "b"`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := loadTest(t, tt.config, tt.creds, tt.env)
			_, err := c.Resolve(tt.profile, Overrides{})
			if !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want %v", err, tt.kind)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err is %T, not *ConfigError", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("message is not one line: %q", msg)
			}
			for _, w := range tt.wantMsg {
				w = strings.NewReplacer("CONFIG", c.ConfigPath(), "CREDS", c.CredentialsPath()).Replace(w)
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if ce.Hint() == "" || !strings.Contains(ce.Hint(), tt.wantHint) {
				t.Errorf("hint %q lacks %q", ce.Hint(), tt.wantHint)
			}
		})
	}
}

func TestLoadConfigMalformed(t *testing.T) {
	tests := []struct {
		name, config string
		line         int
	}{
		{"unclosed section", "[profile a]\nregion = x\n\n[profile b\nregion = y\n", 4},
		{"line without =", "[profile a]\nregion = x\nthis is not a key\n", 3},
		{"empty key", "[profile a]\n = x\n", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "config")
			if err := os.WriteFile(path, []byte(tt.config), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(LoadOptions{ConfigFile: path, CredentialsFile: filepath.Join(dir, "c"), LookupEnv: mapEnv(nil)})
			var ce *ConfigError
			if !errors.Is(err, ErrMalformedConfig) || !errors.As(err, &ce) {
				t.Fatalf("err = %v", err)
			}
			if ce.Line != tt.line || ce.File != path {
				t.Errorf("at %s:%d, want line %d (%v)", ce.File, ce.Line, tt.line, err)
			}
			if ce.Hint() == "" {
				t.Error("no hint")
			}
		})
	}
}

func TestLoadConfigUnreadable(t *testing.T) {
	dir := t.TempDir()
	// A directory where the file should be fails the same way for root and
	// everyone else.
	_, err := Load(LoadOptions{ConfigFile: dir, CredentialsFile: filepath.Join(dir, "c"), LookupEnv: mapEnv(nil)})
	if !errors.Is(err, ErrUnreadableConfig) || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: %v", err)
	}
	if os.Geteuid() == 0 {
		t.Skip("root reads any file; the permission case cannot be tested")
	}
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte("[default]\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	_, err = Load(LoadOptions{ConfigFile: path, CredentialsFile: filepath.Join(dir, "c"), LookupEnv: mapEnv(nil)})
	var ce *ConfigError
	if !errors.Is(err, ErrUnreadableConfig) || !errors.Is(err, fs.ErrPermission) || !errors.As(err, &ce) || !strings.Contains(ce.Hint(), "chmod") {
		t.Errorf("permission: %v", err)
	}
}

func TestValidRoleARN(t *testing.T) {
	tests := map[string]bool{
		"arn:aws:iam::123456789012:role/Admin":                   true,
		"arn:aws:iam::123456789012:role/path/to/Admin":           true,
		"arn:aws-cn:iam::123456789012:role/a":                    true,
		"arn:aws-us-gov:iam::123456789012:role/a+b=c,d.e@f_g-h":  true,
		"arn:aws-iso-b:iam::123456789012:role/a":                 true,
		"arn:aws:iam::123456789012:user/alice":                   false,
		"arn:aws:iam::12345678901:role/a":                        false,
		"arn:aws:iam::12345678901x:role/a":                       false,
		"arn:aws:iam::123456789012:role/":                        false,
		"arn:aws:iam::123456789012:role/a/":                      false,
		"arn:aws:sts::123456789012:assumed-role/a/b":             false,
		"arn:azure:iam::123456789012:role/a":                     false,
		"arn:aws:iam:us-east-1:123456789012:role/a":              false,
		"arn:aws:iam::123456789012:role/a b":                     false,
		"123456789012":                                           false,
		"":                                                       false,
		"arn:aws-:iam::123456789012:role/a":                      false,
		"arn:aws:iam::123456789012:role/has:colon":               false,
		"arn:aws:iam::123456789012:role/service-role/x.y@z=w,1+": true,
	}
	for arn, want := range tests {
		if got := ValidRoleARN(arn); got != want {
			t.Errorf("ValidRoleARN(%q) = %v, want %v", arn, got, want)
		}
	}
}

// TestParseIAMARN: the one parser of role, user and MFA device ARNs that
// config, doctor and policy share.
func TestParseIAMARN(t *testing.T) {
	tests := map[string]IAMARN{
		"arn:aws:iam::123456789012:mfa/alice":             {"aws", "123456789012", "mfa", "alice"},
		"arn:aws-cn:iam::123456789012:mfa/team/bob+x":     {"aws-cn", "123456789012", "mfa", "bob+x"},
		"arn:aws:iam::123456789012:user/ops/carol":        {"aws", "123456789012", "user", "carol"},
		"arn:aws-us-gov:iam::123456789012:role/p/q/Admin": {"aws-us-gov", "123456789012", "role", "Admin"},
	}
	for arn, want := range tests {
		if got, ok := ParseIAMARN(arn); !ok || got != want {
			t.Errorf("ParseIAMARN(%q) = %+v, %v; want %+v", arn, got, ok, want)
		}
	}
	for _, arn := range []string{"GAHT12345678", "arn:aws:iam::123456789012:mfa/", "arn:aws:iam::123456789012:mfa",
		"arn:awsx:iam::123456789012:mfa/a", "arn:aws:iam::1234:mfa/a", "arn:aws:sts::123456789012:assumed-role/a/b",
		"arn:aws:iam::123456789012:mfa/a b", "arn:aws:iam::123456789012:/a"} {
		if got, ok := ParseIAMARN(arn); ok {
			t.Errorf("ParseIAMARN(%q) = %+v, want not an IAM ARN", arn, got)
		}
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"dev", "prod", "production", "stage", "login"}
	tests := map[string]string{"prd": "prod", "Prod": "prod", "stagee": "stage", "xyz": "", "logni": "login", "productoin": "production"}
	for in, want := range tests {
		if got := suggest(in, names); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMalformedLineQuoteKeepsRunes: the quoted start of an unparsable line is
// cut between characters, not inside one (a byte cut left "\xc3…").
func TestMalformedLineQuoteKeepsRunes(t *testing.T) {
	line := strings.Repeat("a", 59) + strings.Repeat("é", 10)
	cfg := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(cfg, []byte("[profile x]\n"+line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(LoadOptions{ConfigFile: cfg, CredentialsFile: cfg + ".none", LookupEnv: mapEnv(nil)})
	if !errors.Is(err, ErrMalformedConfig) {
		t.Fatalf("err = %v, want ErrMalformedConfig", err)
	}
	if want := strings.Repeat("a", 59) + "é…"; !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), `\x`) {
		t.Fatalf("message %q: want the quote %q, cut on a rune boundary", err.Error(), want)
	}
}
