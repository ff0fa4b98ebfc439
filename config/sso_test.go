package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The SSO checks follow what the AWS CLI v2 refuses (checked with the
// Debian awscli 2.9 and `aws configure export-credentials`), as one-line
// errors with the file and line.
func TestResolveSSOConfigErrors(t *testing.T) {
	const session = "[sso-session s]\nsso_start_url = https://my.awsapps.com/start\nsso_region = us-east-1\n"
	tests := []struct {
		name, config string
		env          map[string]string
		kind         error
		want         []string
		advice       string
	}{
		{"start URL differs from the session's", "[profile a]\nsso_session = s\nsso_start_url = https://other.awsapps.com/start\nsso_account_id = 111111111111\nsso_role_name = R\n" + session, nil,
			ErrInvalidValue, []string{"CONFIG:3:", "differs from"}, "remove sso_start_url"},
		{"region differs from the session's", "[profile a]\nsso_session = s\nsso_region = eu-west-1\nsso_account_id = 111111111111\nsso_role_name = R\n" + session, nil,
			ErrInvalidValue, []string{"CONFIG:3:", "sso_region"}, ""},
		{"role name without account", "[profile a]\nsso_session = s\nsso_role_name = R\n" + session, nil,
			ErrIncompleteSSO, []string{"missing sso_account_id"}, ""},
		{"account without role name", "[profile a]\nsso_session = s\nsso_account_id = 111111111111\n" + session, nil,
			ErrIncompleteSSO, []string{"missing sso_role_name"}, ""},
		{"sso-session without sso_region", "[profile a]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = R\n[sso-session s]\nsso_start_url = https://my.awsapps.com/start\n", nil,
			ErrIncompleteSSO, []string{"CONFIG:5:", "[sso-session s] has no sso_region"}, "sso_region = REGION"},
		{"sso-session without sso_start_url", "[profile a]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = R\n[sso-session s]\nsso_region = us-east-1\n", nil,
			ErrIncompleteSSO, []string{"CONFIG:5:", "has no sso_start_url"}, ""},
		{"legacy profile without sso_region", "[profile a]\nsso_start_url = https://x.awsapps.com/start\nsso_account_id = 111111111111\nsso_role_name = R\n", nil,
			ErrIncompleteSSO, []string{"CONFIG:1:", "missing sso_region"}, ""},
		{"role_arn beside SSO settings without source_profile", "[profile a]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = R\nrole_arn = arn:aws:iam::111111111111:role/x\n" + session, nil,
			ErrMissingCredentialSource, []string{"CONFIG:5:", "neither source_profile nor credential_source"}, "source_profile = a"},
		{"start URL that is no URL", "[profile a]\nsso_start_url = my.awsapps.com\nsso_region = us-east-1\nsso_account_id = 111111111111\nsso_role_name = R\n", nil,
			ErrInvalidValue, []string{"CONFIG:2:", "not an http(s) URL"}, ""},
		{"share setting not a boolean", "[profile a]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = R\n" + session + "rolevault_share_sso_cache = yes\n", nil,
			ErrInvalidValue, []string{"CONFIG:8:", "must be true or false"}, ""},
		{"share variable not a boolean", "[profile a]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = R\n" + session, map[string]string{EnvSSOShareCache: "1"},
			ErrInvalidValue, []string{EnvSSOShareCache}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := loadTest(t, tt.config, "", tt.env)
			_, err := c.Resolve("a", Overrides{})
			if !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want %v", err, tt.kind)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err is %T, not *ConfigError", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			msg = strings.ReplaceAll(msg, c.ConfigPath(), "CONFIG")
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if !strings.Contains(ce.Advice, tt.advice) {
				t.Errorf("advice %q lacks %q", ce.Advice, tt.advice)
			}
		})
	}
}

// An SSO profile is the source of a role profile, which is the source of
// another: SSO → AssumeRole → AssumeRole, as the AWS CLI resolves it.
func TestResolveSSOAsRoleSource(t *testing.T) {
	c := loadTest(t, `
[profile sso]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Admin
[profile dev]
source_profile = sso
role_arn = arn:aws:iam::222222222222:role/dev
[profile deep]
source_profile = dev
role_arn = arn:aws:iam::333333333333:role/deep
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
rolevault_share_sso_cache = true
`, "", nil)
	p, err := c.Resolve("deep", Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Source == nil || p.Source.Source == nil || p.Source.Source.SSO == nil {
		t.Fatalf("chain = %+v", p)
	}
	s := p.Source.Source.SSO
	if !s.ShareCache || s.TokenName() != "corp" || !reflect.DeepEqual(s.Scopes(), []string{DefaultSSOScope}) {
		t.Errorf("SSO = %+v, scopes %v", s, s.Scopes())
	}
}

func TestSSOScopesAndTokenName(t *testing.T) {
	legacy := &SSOSettings{StartURL: "https://x/start", RegistrationScopes: "a"}
	if legacy.Scopes() != nil || legacy.TokenName() != "https://x/start" {
		t.Errorf("legacy: %v %q", legacy.Scopes(), legacy.TokenName())
	}
	s := &SSOSettings{Session: "corp", RegistrationScopes: " sso:account:access , codewhisperer:completions,"}
	if got := s.Scopes(); !reflect.DeepEqual(got, []string{"sso:account:access", "codewhisperer:completions"}) {
		t.Errorf("scopes = %v", got)
	}
}

// sso_oidc and sso endpoints come from where the SDK reads them.
func TestResolveSSOEndpoints(t *testing.T) {
	cfg := `
[profile a]
services = local
sso_session = s
sso_account_id = 111111111111
sso_role_name = R
[services local]
sso_oidc =
  endpoint_url = http://oidc.local:1
sso =
  endpoint_url = http://portal.local:2
[sso-session s]
sso_start_url = https://my.awsapps.com/start
sso_region = us-east-1
`
	tests := []struct {
		name         string
		env          map[string]string
		oidc, portal string
		oidcFrom     string
	}{
		{"services section", nil, "http://oidc.local:1", "http://portal.local:2", "[services local]"},
		{"service variables win", map[string]string{"AWS_ENDPOINT_URL_SSO_OIDC": "http://o:3", "AWS_ENDPOINT_URL_SSO": "http://p:4"}, "http://o:3", "http://p:4", "AWS_ENDPOINT_URL_SSO_OIDC"},
		{"AWS_ENDPOINT_URL beats the section", map[string]string{"AWS_ENDPOINT_URL": "http://all:5"}, "http://all:5", "http://all:5", "AWS_ENDPOINT_URL"},
		{"ignored", map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_ENDPOINT_URL_SSO_OIDC": "http://o:3"}, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := loadTest(t, cfg, "", tt.env)
			p, err := c.Resolve("a", Overrides{})
			if err != nil {
				t.Fatal(err)
			}
			if p.SSOOIDCEndpointURL != tt.oidc || p.SSOEndpointURL != tt.portal {
				t.Errorf("endpoints = %q, %q", p.SSOOIDCEndpointURL, p.SSOEndpointURL)
			}
			if !strings.Contains(p.Origins[OriginSSOOIDCEndpointURL], tt.oidcFrom) {
				t.Errorf("origin = %q", p.Origins[OriginSSOOIDCEndpointURL])
			}
		})
	}
}

func TestSSOSessionOnItsOwn(t *testing.T) {
	c := loadTest(t, "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\nrolevault_share_sso_cache = true\n[sso-session half]\nsso_start_url = https://x/start\n", "", nil)
	s, err := c.SSOSession("corp")
	if err != nil || s.StartURL != "https://corp.awsapps.com/start" || s.Region != "eu-west-1" || !s.ShareCache || s.TokenName() != "corp" {
		t.Fatalf("SSOSession = %+v, %v", s, err)
	}
	if _, err := c.SSOSession("half"); !errors.Is(err, ErrIncompleteSSO) {
		t.Errorf("half: %v", err)
	}
	if _, err := c.SSOSession("crop"); !errors.Is(err, ErrSSOSessionNotFound) || !strings.Contains(err.(*ConfigError).Advice, `"corp"`) {
		t.Errorf("crop: %v", err)
	}
}
