package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolevault/rolevault/config"
	"github.com/rolevault/rolevault/plan"
)

// explainConfig is the seed layout: IAM users in the login (security)
// account, roles in dev, stage, prod and mgmt that trust it.
const explainConfig = `[default]
region = eu-west-1

[profile login]
mfa_serial = arn:aws:iam::026445672617:mfa/alice

[profile dev]
source_profile = login
role_arn = arn:aws:iam::211047650761:role/allow-read-only-from-security-account
mfa_serial = arn:aws:iam::026445672617:mfa/alice

[profile stage]
source_profile = login
role_arn = arn:aws:iam::320385056066:role/allow-read-only-from-security-account
mfa_serial = arn:aws:iam::026445672617:mfa/alice

[profile prod]
source_profile = login
role_arn = arn:aws:iam::725335846599:role/allow-admin-from-security-account
mfa_serial = arn:aws:iam::026445672617:mfa/alice
mfa_process = ykman oath accounts code --single aws

[profile prod-2h]
include_profile = prod
duration_seconds = 7200

[profile mgmt-deploy]
source_profile = prod
role_arn = arn:aws:iam::989175535319:role/deploy
role_session_name = alice

[profile mgmt-long]
source_profile = prod
role_arn = arn:aws:iam::989175535319:role/deploy
duration_seconds = 7200

[profile ci]
credential_process = /usr/local/bin/ci-creds

[profile ci-dev]
source_profile = ci
role_arn = arn:aws:iam::211047650761:role/ci
`

// fakeInspector answers Expiry from a map of cache keys to expiry times.
type fakeInspector map[string]time.Time

func (f fakeInspector) Expiry(key string) (time.Time, bool, error) {
	t, ok := f[key]
	return t, ok, nil
}

var explainNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// explainEnv points the config at a temp file and blanks the variables that
// would change a plan, so the developer's own environment cannot leak in.
func explainEnv(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte(explainConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_MFA_SERIAL", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
		"AWS_SESSION_TAGS", "AWS_TRANSITIVE_TAGS", "AWS_SOURCE_IDENTITY", "AWS_ASSUME_ROLE_TTL", "AWS_SESSION_TOKEN_TTL",
		"AWS_CHAINED_SESSION_TOKEN_TTL", "AWS_FEDERATION_TOKEN_TTL", "AWS_MIN_TTL", "AWS_STS_REGIONAL_ENDPOINTS",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"} {
		t.Setenv(k, "")
	}
	// kong rejects an empty AWS_VAULT_DURATION, so it must be unset, not blank.
	if old, ok := os.LookupEnv("AWS_VAULT_DURATION"); ok {
		os.Unsetenv("AWS_VAULT_DURATION")
		t.Cleanup(func() { os.Setenv("AWS_VAULT_DURATION", old) })
	}
	t.Setenv("ROLEVAULT_CACHE_DIR", filepath.Join(dir, "cache"))
	// A file keyring at the default place holding login's key: explain
	// names the backend and whether the key is there, from names alone.
	t.Setenv("HOME", dir)
	t.Setenv("AWS_VAULT_BACKEND", "file")
	if old, ok := os.LookupEnv("AWS_VAULT_FILE_DIR"); ok {
		os.Unsetenv("AWS_VAULT_FILE_DIR")
		t.Cleanup(func() { os.Setenv("AWS_VAULT_FILE_DIR", old) })
	}
	keys := filepath.Join(dir, ".awsvault", "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(keys, "login"), []byte("not read"), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func runExplain(t *testing.T, cmd *ExplainCmd, prompt string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	g := &Globals{Prompt: prompt, Backend: "file", FileDir: "~/.awsvault/keys/", streams: Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}}
	if cmd.now == nil {
		cmd.now = func() time.Time { return explainNow }
	}
	if err := cmd.Run(g); err != nil {
		t.Fatalf("explain %s: %v (stderr %q)", cmd.Profile, err, errOut.String())
	}
	return out.String()
}

// planKeys returns the cache keys of a profile's plan, so tests can mark
// them cached without hard-coding digests.
func planKeys(t *testing.T, profile string, opts plan.Options) []string {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{LookupEnv: lookupEnv})
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Resolve(profile, config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.New(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(pl.Steps))
	for i, s := range pl.Steps {
		keys[i] = s.CacheKey
	}
	return keys
}

func TestExplainRender(t *testing.T) {
	cfgPath := explainEnv(t)
	devKeys := planKeys(t, "dev", plan.Options{})
	tests := []struct {
		name   string
		cmd    ExplainCmd
		prompt string
		cached map[int]time.Duration // step index (0-based) → time left
		want   string
	}{
		{
			name: "login alone: its own MFA session",
			cmd:  ExplainCmd{Profile: "login"},
			want: `login  (CONFIG)
region eu-west-1 · sessions reused while more than 15m remain
├─ 1. keys of login
│    keys      access key stored in the file keyring (~/.awsvault/keys) as "login"
└─ 2. GetSessionToken as login
     MFA       arn:aws:iam::026445672617:mfa/alice
     code      asked on the terminal (or --mfa-token)
     duration  1h — default for GetSessionToken
     cache     not cached: this call will be made
               KEY1
`,
		},
		{
			name:   "dev: the shared session is cached, the role is not",
			cmd:    ExplainCmd{Profile: "dev"},
			cached: map[int]time.Duration{1: 5*time.Hour + 10*time.Minute + 30*time.Second},
			want: `dev  (CONFIG)
region eu-west-1 · sessions reused while more than 15m remain
├─ 1. keys of login
│    keys      access key stored in the file keyring (~/.awsvault/keys) as "login"
├─ 2. GetSessionToken as login
│    MFA       arn:aws:iam::026445672617:mfa/alice
│    code      asked on the terminal (or --mfa-token)
│    duration  8h — default for a session shared by role profiles
│    cache     valid for 5h10m more: would be reused, no STS call
│              KEY1
└─ 3. AssumeRole arn:aws:iam::211047650761:role/allow-read-only-from-security-account as dev
     duration  1h — default for AssumeRole
     cache     not cached: this call will be made
               KEY2
`,
		},
		{
			name:   "stage with --prompt: MFA code from the driver",
			cmd:    ExplainCmd{Profile: "stage"},
			prompt: "ykman",
			want: `stage  (CONFIG)
region eu-west-1 · sessions reused while more than 15m remain
├─ 1. keys of login
│    keys      access key stored in the file keyring (~/.awsvault/keys) as "login"
├─ 2. GetSessionToken as login
│    MFA       arn:aws:iam::026445672617:mfa/alice
│    code      asked with --prompt=ykman (or --mfa-token)
│    duration  8h — default for a session shared by role profiles
│    cache     not cached: this call will be made
│              KEY1
└─ 3. AssumeRole arn:aws:iam::320385056066:role/allow-read-only-from-security-account as stage
     duration  1h — default for AssumeRole
     cache     not cached: this call will be made
               KEY2
`,
		},
		{
			name: "prod with --no-session: MFA on the AssumeRole, code from mfa_process",
			cmd:  ExplainCmd{Profile: "prod", NoSession: true},
			want: `prod  (CONFIG)
region eu-west-1 · sessions reused while more than 15m remain
├─ 1. keys of login
│    keys      access key stored in the file keyring (~/.awsvault/keys) as "login"
└─ 2. AssumeRole arn:aws:iam::725335846599:role/allow-admin-from-security-account as prod
     MFA       arn:aws:iam::026445672617:mfa/alice
     code      from mfa_process: ykman oath accounts code --single aws
     duration  1h — default for AssumeRole
     cache     not cached: this call will be made
               KEY1
note: no GetSessionToken: --no-session
`,
		},
		{
			name: "a 2h single role is assumed directly with MFA",
			cmd:  ExplainCmd{Profile: "prod-2h"},
			want: `prod-2h  (CONFIG)
region eu-west-1 · sessions reused while more than 15m remain
├─ 1. keys of login
│    keys      access key stored in the file keyring (~/.awsvault/keys) as "login"
└─ 2. AssumeRole arn:aws:iam::725335846599:role/allow-admin-from-security-account as prod-2h
     MFA       arn:aws:iam::026445672617:mfa/alice
     code      from mfa_process: ykman oath accounts code --single aws
     duration  2h — duration_seconds in CONFIG
     cache     not cached: this call will be made
               KEY1
note: no GetSessionToken: profile "prod-2h" asks for 2h, more than the 1h AWS allows for a role assumed with a session; the role is assumed directly with MFA
`,
		},
		{
			name:   "role to role with --duration 45m: the last hop is cached, so nothing before it runs",
			cmd:    ExplainCmd{Profile: "mgmt-deploy", Duration: 45 * time.Minute},
			cached: map[int]time.Duration{1: 7 * time.Hour, 3: 40 * time.Minute},
			want: `mgmt-deploy  (CONFIG)
region eu-west-1 · sessions reused while more than 15m remain
├─ 1. keys of login
│    keys      access key stored in the file keyring (~/.awsvault/keys) as "login"
├─ 2. GetSessionToken as login
│    MFA       arn:aws:iam::026445672617:mfa/alice
│    code      from mfa_process: ykman oath accounts code --single aws
│    duration  8h — default for a session shared by role profiles
│    cache     valid for 7h more, not needed while a later session is valid
│              KEY1
├─ 3. AssumeRole arn:aws:iam::725335846599:role/allow-admin-from-security-account as prod
│    duration  45m — --duration
│    cache     not cached, not needed while a later session is valid
│              KEY2
└─ 4. AssumeRole arn:aws:iam::989175535319:role/deploy as mgmt-deploy
     session   alice
     duration  45m — --duration
     cache     valid for 40m more: would be reused, no STS call
               KEY3
`,
		},
		{
			name: "role to role: the second hop is capped at 1h",
			cmd:  ExplainCmd{Profile: "mgmt-long"},
			want: `mgmt-long  (CONFIG)
region eu-west-1 · sessions reused while more than 15m remain
├─ 1. keys of login
│    keys      access key stored in the file keyring (~/.awsvault/keys) as "login"
├─ 2. GetSessionToken as login
│    MFA       arn:aws:iam::026445672617:mfa/alice
│    code      from mfa_process: ykman oath accounts code --single aws
│    duration  8h — default for a session shared by role profiles
│    cache     not cached: this call will be made
│              KEY1
├─ 3. AssumeRole arn:aws:iam::725335846599:role/allow-admin-from-security-account as prod
│    duration  1h — default for AssumeRole
│    cache     not cached: this call will be made
│              KEY2
└─ 4. AssumeRole arn:aws:iam::989175535319:role/deploy as mgmt-long
     duration  1h — capped at 1h: role chaining
     cache     not cached: this call will be made
               KEY3
`,
		},
		{
			name: "credential_process source: no GetSessionToken",
			cmd:  ExplainCmd{Profile: "ci-dev", Region: "us-east-2"},
			want: `ci-dev  (CONFIG)
region us-east-2 · sessions reused while more than 15m remain
├─ 1. keys of ci
│    keys      output of credential_process: /usr/local/bin/ci-creds
└─ 2. AssumeRole arn:aws:iam::211047650761:role/ci as ci-dev
     duration  1h — default for AssumeRole
     cache     not cached: this call will be made
               KEY1
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := plan.Options{NoSession: tt.cmd.NoSession, Duration: tt.cmd.Duration}
			keys := planKeys(t, tt.cmd.Profile, opts)
			insp := fakeInspector{}
			for i, left := range tt.cached {
				insp[keys[i]] = explainNow.Add(left)
			}
			cmd := tt.cmd
			cmd.inspector = insp
			got := runExplain(t, &cmd, tt.prompt)
			repl := []string{"CONFIG", cfgPath}
			n := 0
			for _, k := range keys {
				if k != "" {
					n++
					repl = append(repl, "KEY"+string(rune('0'+n)), k)
				}
			}
			want := strings.NewReplacer(repl...).Replace(tt.want)
			if got != want {
				t.Errorf("output:\n%s\nwant:\n%s", got, want)
			}
		})
	}
	// The session dev would reuse is login's, not dev's own.
	if keys := planKeys(t, "stage", plan.Options{}); keys[1] != devKeys[1] {
		t.Errorf("stage and dev do not share login's session: %s vs %s", keys[1], devKeys[1])
	}
}

// With no inspector the cache state is "not checked", never a guess.
func TestExplainNilInspector(t *testing.T) {
	explainEnv(t)
	cfg, err := config.Load(config.LoadOptions{LookupEnv: lookupEnv})
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Resolve("dev", config.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.New(p, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	renderExplain(&out, explainPlan(pl, nil, explainNow, mfaOrigin{}), palette{})
	if strings.Count(out.String(), "cache     not checked") != 2 {
		t.Errorf("want two 'not checked' cache lines:\n%s", out.String())
	}
}

func TestExplainJSON(t *testing.T) {
	explainEnv(t)
	keys := planKeys(t, "prod", plan.Options{})
	cmd := &ExplainCmd{Profile: "prod", JSON: true, inspector: fakeInspector{keys[1]: explainNow.Add(2 * time.Hour)}}
	out := runExplain(t, cmd, "")
	var doc struct {
		Profile       string `json:"profile"`
		Region        string `json:"region"`
		MinTTLSeconds int64  `json:"min_ttl_seconds"`
		Steps         []struct {
			Index           int    `json:"index"`
			Kind            string `json:"kind"`
			Profile         string `json:"profile"`
			Source          string `json:"source"`
			RoleARN         string `json:"role_arn"`
			MFASerial       string `json:"mfa_serial"`
			MFACode         string `json:"mfa_code_from"`
			DurationSeconds int64  `json:"duration_seconds"`
			DurationReason  string `json:"duration_reason"`
			CacheKey        string `json:"cache_key"`
			Cache           *struct {
				State       string `json:"state"`
				SecondsLeft int64  `json:"seconds_left"`
				Reused      bool   `json:"reused"`
			} `json:"cache"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if doc.Profile != "prod" || doc.Region != "eu-west-1" || doc.MinTTLSeconds != 900 || len(doc.Steps) != 3 {
		t.Fatalf("doc = %+v", doc)
	}
	s0, s1, s2 := doc.Steps[0], doc.Steps[1], doc.Steps[2]
	if s0.Kind != "stored-keys" || s0.Profile != "login" || s0.Source == "" || s0.Cache != nil {
		t.Errorf("step 1 = %+v", s0)
	}
	if s1.Kind != "GetSessionToken" || s1.MFASerial != "arn:aws:iam::026445672617:mfa/alice" || s1.MFACode != "mfa_process" ||
		s1.DurationSeconds != 8*3600 || s1.CacheKey != keys[1] || s1.Cache == nil || s1.Cache.State != "valid" || !s1.Cache.Reused || s1.Cache.SecondsLeft != 7200 {
		t.Errorf("step 2 = %+v (cache %+v)", s1, s1.Cache)
	}
	if s2.Kind != "AssumeRole" || s2.RoleARN != "arn:aws:iam::725335846599:role/allow-admin-from-security-account" ||
		s2.MFASerial != "" || s2.Cache == nil || s2.Cache.State != "missing" || s2.Cache.Reused {
		t.Errorf("step 3 = %+v (cache %+v)", s2, s2.Cache)
	}
}

// Through the real command line: flags parse, the real (empty) cache index
// is read without a keyring, and an unknown profile is the typed error.
func TestExplainMain(t *testing.T) {
	explainEnv(t)
	var out, errOut bytes.Buffer
	code := Main([]string{"explain", "-n", "-d", "30m", "--region", "ap-south-1", "dev"}, "test", Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"region ap-south-1", "MFA       arn:aws:iam::026445672617:mfa/alice", "30m — --duration", "not cached: this call will be made"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Error("colour codes written to a pipe")
	}
	out.Reset()
	errOut.Reset()
	code = Main([]string{"explain", "prd"}, "test", Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	if code != ExitError || !strings.Contains(errOut.String(), `profile "prd" is not defined`) || !strings.Contains(errOut.String(), `did you mean "prod"?`) {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

func TestColorFor(t *testing.T) {
	var buf bytes.Buffer
	if c := colorFor(&buf); c != (palette{}) {
		t.Error("colour for a buffer")
	}
	t.Setenv("NO_COLOR", "")
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if c := colorFor(f); c != (palette{}) {
		t.Error("colour with NO_COLOR set")
	}
}
