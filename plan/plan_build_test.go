package plan

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rolevault/rolevault/config"
)

// stepLine summarises a step for comparison: kind, profile, and the fields
// that matter for it.
func stepLine(s Step) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", s.Kind, s.Profile)
	if s.RoleARN != "" {
		b.WriteString(" role=" + s.RoleARN[strings.LastIndex(s.RoleARN, "/")+1:])
	}
	if s.MFASerial != "" {
		b.WriteString(" mfa=" + s.MFASerial[strings.LastIndex(s.MFASerial, "/")+1:])
	}
	if s.Duration != 0 {
		fmt.Fprintf(&b, " %s (%s)", FormatDuration(s.Duration), s.DurationReason)
	}
	return b.String()
}

func TestNewPlan(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		env     map[string]string
		opts    Options
		want    []string
	}{
		{
			name: "login alone: GetSessionToken with MFA for 1h", profile: "login",
			want: []string{"stored-keys login", "GetSessionToken login mfa=alice 1h (default for GetSessionToken)"},
		},
		{
			name: "login with --duration", profile: "login", opts: Options{Duration: 3 * time.Hour},
			want: []string{"stored-keys login", "GetSessionToken login mfa=alice 3h (--duration)"},
		},
		{
			name: "login with --no-session: keys as they are", profile: "login", opts: Options{NoSession: true},
			want: []string{"stored-keys login"},
		},
		{
			name: "dev: shared 8h MFA session, then the role without a second MFA", profile: "dev",
			want: []string{
				"stored-keys login",
				"GetSessionToken login mfa=alice 8h (default for a session shared by role profiles)",
				"AssumeRole dev role=allow-read-only-from-security-account 1h (default for AssumeRole)",
			},
		},
		{
			name: "prod with --no-session: AssumeRole carries the MFA", profile: "prod", opts: Options{NoSession: true},
			want: []string{
				"stored-keys login",
				"AssumeRole prod role=allow-admin-from-security-account mfa=alice 1h (default for AssumeRole)",
			},
		},
		{
			name: "a 2h role is assumed directly with MFA", profile: "prod-long",
			want: []string{
				"stored-keys login",
				"AssumeRole prod-long role=allow-admin-from-security-account mfa=alice 2h (duration_seconds in CONFIG)",
			},
		},
		{
			name: "--duration 2h on a role skips the session too", profile: "prod", opts: Options{Duration: 2 * time.Hour},
			want: []string{
				"stored-keys login",
				"AssumeRole prod role=allow-admin-from-security-account mfa=alice 2h (--duration)",
			},
		},
		{
			name: "role to role: second hop capped at 1h", profile: "mgmt-deploy",
			want: []string{
				"stored-keys login",
				"GetSessionToken login mfa=alice 8h (default for a session shared by role profiles)",
				"AssumeRole prod role=allow-admin-from-security-account 1h (default for AssumeRole)",
				"AssumeRole mgmt-deploy role=deploy 1h (capped at 1h: role chaining)",
			},
		},
		{
			name: "different MFA device: no shared session", profile: "other-mfa",
			want: []string{"stored-keys login", "AssumeRole other-mfa role=x mfa=bob 1h (default for AssumeRole)"},
		},
		{
			name: "no MFA anywhere: role straight from the keys", profile: "robot-dev",
			want: []string{"stored-keys robot", "AssumeRole robot-dev role=robot 1h (default for AssumeRole)"},
		},
		{
			name: "credential_process source: never GetSessionToken, 2h allowed", profile: "ci-dev",
			want: []string{"credential-process ci", "AssumeRole ci-dev role=ci 2h (duration_seconds in CONFIG)"},
		},
		{
			name: "credential_process alone", profile: "ci",
			want: []string{"credential-process ci"},
		},
		{
			name: "SSO source: role chaining cap", profile: "sso-chain",
			want: []string{"sso sso-admin", "AssumeRole sso-chain role=deploy 1h (capped at 1h: role chaining)"},
		},
		{
			name: "web identity carries its own role", profile: "web",
			want: []string{"AssumeRoleWithWebIdentity web role=web 1h (default for AssumeRole)"},
		},
		{
			name: "credential_source Environment", profile: "env-src",
			want: []string{"environment env-src", "AssumeRole env-src role=from-env 1h (default for AssumeRole)"},
		},
		{
			name: "keys in the credentials file are long-term", profile: "filekeys",
			want: []string{"credentials-file filekeys", "GetSessionToken filekeys 1h (default for GetSessionToken)"},
		},
		{
			name: "a session token in the file rules out GetSessionToken", profile: "tempkeys",
			want: []string{"credentials-file tempkeys"},
		},
		{
			name: "federation for login", profile: "login", opts: Options{Federation: true},
			want: []string{"stored-keys login", "GetFederationToken login 1h (default for GetFederationToken)"},
		},
		{
			name: "federation with --no-session still federates", profile: "login", opts: Options{Federation: true, NoSession: true},
			want: []string{"stored-keys login", "GetFederationToken login 1h (default for GetFederationToken)"},
		},
		{
			name: "federation is not used for a role", profile: "dev", opts: Options{Federation: true},
			want: []string{
				"stored-keys login",
				"GetSessionToken login mfa=alice 8h (default for a session shared by role profiles)",
				"AssumeRole dev role=allow-read-only-from-security-account 1h (default for AssumeRole)",
			},
		},
		{
			name: "TTL environment variables", profile: "dev",
			env: map[string]string{"AWS_CHAINED_SESSION_TOKEN_TTL": "12h", "AWS_ASSUME_ROLE_TTL": "45m"},
			want: []string{
				"stored-keys login",
				"GetSessionToken login mfa=alice 12h (AWS_CHAINED_SESSION_TOKEN_TTL)",
				"AssumeRole dev role=allow-read-only-from-security-account 45m (AWS_ASSUME_ROLE_TTL)",
			},
		},
		{
			name: "AWS_SESSION_TOKEN_TTL for a profile used alone", profile: "login",
			env:  map[string]string{"AWS_SESSION_TOKEN_TTL": "90m"},
			want: []string{"stored-keys login", "GetSessionToken login mfa=alice 1h30m (AWS_SESSION_TOKEN_TTL)"},
		},
		{
			name: "AWS_ROLE_ARN on a profile with keys: the role from its own keys, MFA on the call", profile: "login",
			env:  map[string]string{"AWS_ROLE_ARN": "arn:aws:iam::211047650761:role/envrole"},
			want: []string{"stored-keys login", "AssumeRole login role=envrole mfa=alice 1h (default for AssumeRole)"},
		},
		{
			name: "AWS_MFA_SERIAL applies to the target only", profile: "robot-dev",
			env:  map[string]string{"AWS_MFA_SERIAL": "arn:aws:iam::026445672617:mfa/carol"},
			want: []string{"stored-keys robot", "AssumeRole robot-dev role=robot mfa=carol 1h (default for AssumeRole)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := loadTest(t, seedConfig, seedCredentials, tt.env)
			p, err := c.Resolve(tt.profile, config.Overrides{})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			plan, err := New(p, tt.opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			var got []string
			for _, s := range plan.Steps {
				got = append(got, strings.ReplaceAll(stepLine(s), c.ConfigPath(), "CONFIG"))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("steps:\n  %s\nwant:\n  %s\nnotes: %v", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "), plan.Notes)
			}
			if plan.Steps[0].CacheKey != "" && plan.Steps[0].Kind != StepSSO && plan.Steps[0].Kind != StepWebIdentity {
				t.Errorf("key source %s has a cache key %q", plan.Steps[0].Kind, plan.Steps[0].CacheKey)
			}
			for _, s := range plan.Steps[1:] {
				if s.CacheKey == "" {
					t.Errorf("STS step %s has no cache key", s.Kind)
				}
				if k, prof, ok := ParseSessionKey(s.CacheKey); !ok || k != s.Kind || prof != s.Profile {
					t.Errorf("cache key %q parses to %s/%s, want %s/%s", s.CacheKey, k, prof, s.Kind, s.Profile)
				}
			}
		})
	}
}

// One MFA prompt per source session: every role built on login's session
// must name the very same cache item for it.
func TestNewPlanSharesSessionAcrossRoles(t *testing.T) {
	c := loadTest(t, seedConfig, "", nil)
	keys := map[string]string{}
	// "login" alone asks for a 1h session and the roles for 8h: the MFA
	// session is shared all the same.
	for _, name := range []string{"login", "dev", "stage", "prod", "mgmt-deploy"} {
		p, err := c.Resolve(name, config.Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		plan, err := New(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if plan.Steps[1].Kind != StepGetSessionToken {
			t.Fatalf("%s: step 1 is %s", name, plan.Steps[1].Kind)
		}
		keys[name] = plan.Steps[1].CacheKey
	}
	for name, k := range keys {
		if k != keys["dev"] {
			t.Errorf("GetSessionToken cache key for %s = %s, dev's = %s", name, k, keys["dev"])
		}
	}
}

// Role sessions are keyed by everything that changes them, including the
// session they were made from.
func TestNewPlanRoleCacheKeys(t *testing.T) {
	c := loadTest(t, seedConfig, "", nil)
	key := func(profile string, opts Options) string {
		p, err := c.Resolve(profile, config.Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		plan, err := New(p, opts)
		if err != nil {
			t.Fatal(err)
		}
		return plan.Steps[len(plan.Steps)-1].CacheKey
	}
	base := key("prod", Options{})
	if base != key("prod", Options{}) {
		t.Fatal("cache key is not deterministic")
	}
	for name, other := range map[string]string{
		"no-session (different source)": key("prod", Options{NoSession: true}),
		"other duration":                key("prod", Options{Duration: 30 * time.Minute}),
		"other profile, same source":    key("dev", Options{}),
	} {
		if other == base {
			t.Errorf("%s: same cache key %s", name, base)
		}
	}
	// Session tags in any order are the same session.
	a := SessionKey(StepAssumeRole, "p", tagsParam(map[string]string{"a": "1", "b": "2"}))
	b := SessionKey(StepAssumeRole, "p", tagsParam(map[string]string{"b": "2", "a": "1"}))
	if a != b {
		t.Error("tag order changes the cache key")
	}
}

func TestNewPlanSettings(t *testing.T) {
	c := loadTest(t, seedConfig, "", map[string]string{"AWS_MIN_TTL": "20m", "AWS_STS_REGIONAL_ENDPOINTS": "regional"})
	p, err := c.Resolve("prod", config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := New(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Region != "eu-central-1" || plan.MinTTL != 20*time.Minute || plan.STSRegionalEndpoints != "regional" {
		t.Errorf("plan settings: region %q minTTL %s sts %q", plan.Region, plan.MinTTL, plan.STSRegionalEndpoints)
	}
	p2, _ := loadTest(t, seedConfig, "", nil).Resolve("dev", config.Overrides{})
	plan2, _ := New(p2, Options{})
	if plan2.MinTTL != config.DefaultMinTTL || plan2.Region != "eu-west-1" {
		t.Errorf("defaults: minTTL %s region %q", plan2.MinTTL, plan2.Region)
	}
}

func TestNewPlanDurationErrors(t *testing.T) {
	c := loadTest(t, seedConfig, "", nil)
	tests := []struct {
		profile string
		opts    Options
	}{
		{"prod", Options{Duration: 5 * time.Minute}},
		{"prod", Options{Duration: 13 * time.Hour}},
		{"login", Options{Duration: 37 * time.Hour}},
		{"login", Options{Duration: time.Minute, Federation: true}},
	}
	for _, tt := range tests {
		p, err := c.Resolve(tt.profile, config.Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = New(p, tt.opts)
		if !errors.Is(err, config.ErrInvalidDuration) {
			t.Errorf("%s %+v: err = %v, want ErrInvalidDuration", tt.profile, tt.opts, err)
		}
	}
}

func TestNewPlanRejectsHandMadeCycle(t *testing.T) {
	a := &config.Profile{Name: "a", RoleSettings: config.RoleSettings{RoleARN: "arn:aws:iam::111111111111:role/a"}}
	b := &config.Profile{Name: "b", RoleSettings: config.RoleSettings{RoleARN: "arn:aws:iam::111111111111:role/b"}, Source: a}
	a.Source = b
	if _, err := New(a, Options{}); !errors.Is(err, config.ErrSourceProfileCycle) {
		t.Fatalf("err = %v", err)
	}
}

// mfa_process belongs to the MFA device: a role assumed directly with MFA
// (--no-session, or more than an hour) uses its source's mfa_process for the
// same device when it names none itself.
func TestNewPlanDirectMFAUsesSourceMFAProcess(t *testing.T) {
	c := loadTest(t, `
[profile login]
mfa_serial = arn:aws:iam::111111111111:mfa/alice
mfa_process = oathtool --totp -b SECRET

[profile dev]
source_profile = login
role_arn = arn:aws:iam::222222222222:role/dev
mfa_serial = arn:aws:iam::111111111111:mfa/alice

[profile other-device]
source_profile = login
role_arn = arn:aws:iam::222222222222:role/dev
mfa_serial = arn:aws:iam::111111111111:mfa/bob
`, "", nil)
	for _, tc := range []struct {
		profile string
		opts    Options
		want    string
	}{
		{"dev", Options{NoSession: true}, "oathtool --totp -b SECRET"},
		{"dev", Options{Duration: 2 * time.Hour}, "oathtool --totp -b SECRET"},
		{"other-device", Options{NoSession: true}, ""},
	} {
		p, err := c.Resolve(tc.profile, config.Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		plan, err := New(p, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		last := plan.Steps[len(plan.Steps)-1]
		if last.Kind != StepAssumeRole || last.MFASerial == "" || last.MFAProcess != tc.want {
			t.Errorf("%s %+v: last step %s serial %q process %q, want process %q", tc.profile, tc.opts, last.Kind, last.MFASerial, last.MFAProcess, tc.want)
		}
	}
}
